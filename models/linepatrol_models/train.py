"""Training a detector with ultralytics, from a config file, offline and reproducibly.

The model is built from an architecture YAML (no pretrained weights: nothing may be downloaded),
the seed is fixed, and ultralytics' settings, fonts and caches live in the run folder, so a run
is described completely by the config file in the repository plus the dataset.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from linepatrol import taxonomy
from linepatrol_models.config import TrainConfig, load_config
from linepatrol_models.dataset import load_dataset
from linepatrol_models.offline import prepare_offline

log = logging.getLogger(__name__)


class TrainError(RuntimeError):
    """Training cannot start: bad dataset, missing checkpoint, unknown class names."""


def trainer_keys() -> frozenset[str]:
    """The argument names ultralytics' trainer accepts (its default config)."""
    from ultralytics.cfg import DEFAULT_CFG_DICT

    return frozenset(DEFAULT_CFG_DICT)


def check_names(names: tuple[str, ...], source: Path) -> None:
    """Class names become the ONNX metadata the core decodes: they must be taxonomy keys."""
    unknown = [n for n in names if n not in taxonomy.BY_KEY]
    if unknown:
        raise TrainError(
            f"{source}: class names {unknown} are not LinePatrol taxonomy keys; convert the "
            "dataset with 'linepatrol data' so detections map onto the taxonomy"
        )


def train_arguments(config: TrainConfig, has_font: bool) -> dict[str, Any]:
    args: dict[str, Any] = dict(config.train)
    args.update(data=str(config.data), project=str(config.runs_dir), name=config.name,
                exist_ok=True)
    if config.weights is None:
        # from scratch; with `weights` the trainer must transfer them (pretrained=False
        # would silently re-initialise the network)
        args["pretrained"] = False
    if not has_font:
        args["plots"] = False  # plotting would try to download a font
    return args


def run_training(
    config_path: Path,
    resume: Path | bool = False,
    overrides: dict[str, Any] | None = None,
    data: Path | None = None,
    runs_dir: Path | None = None,
) -> Path:
    """Train (or resume) the model a config describes; returns the best checkpoint."""
    config = load_config(config_path)
    if data is not None:
        config = replace(config, data=Path(data).resolve())
    if runs_dir is not None:
        config = replace(config, runs_dir=Path(runs_dir).resolve())
    if overrides:
        config = replace(config, train={**config.train, **overrides})
    config.run_dir.mkdir(parents=True, exist_ok=True)
    # Before anything imports ultralytics: its settings and fonts live in the run folder.
    has_font = prepare_offline(config.run_dir / ".ultralytics")
    unknown = sorted(set(config.train) - trainer_keys())
    if unknown:
        raise TrainError(f"{config.path}: unknown trainer arguments {unknown}")

    from ultralytics import YOLO

    # Imports ultralytics: after prepare_offline, like the line above.
    from linepatrol_models.ultra_onnx import (
        FusedDetectionTrainer,
        OnnxRebuildError,
        checkpoint_from_onnx,
    )

    if resume:
        checkpoint = Path(resume) if isinstance(resume, Path) else config.last_checkpoint
        if not checkpoint.is_file():
            raise TrainError(f"no checkpoint to resume at {checkpoint}")
        log.info("resuming from %s", checkpoint)
        model = YOLO(str(checkpoint))
        try:
            model.train(resume=True, trainer=FusedDetectionTrainer)
        except AssertionError as exc:  # ultralytics' way of saying "nothing to resume"
            raise TrainError(str(exc).splitlines()[0]) from None
    else:
        dataset = load_dataset(config.data)
        check_names(dataset.names, dataset.yaml_path)
        if config.weights is not None:
            if not config.weights.is_file():
                raise TrainError(f"{config.path}: no checkpoint at {config.weights} to start from")
            log.info("fine-tuning from %s", config.weights)
            start = config.weights
            if start.suffix.lower() == ".onnx":  # a shipped model: its network, rebuilt
                try:
                    start = checkpoint_from_onnx(start, config.model, config.run_dir / "weights"
                                                 / "start.pt", int(config.train.get("imgsz", 640)))
                except OnnxRebuildError as exc:
                    raise TrainError(str(exc)) from None
            model = YOLO(str(start))
        else:
            model = YOLO(config.model)
        try:
            model.train(trainer=FusedDetectionTrainer, **train_arguments(config, has_font))
        except OnnxRebuildError as exc:
            raise TrainError(str(exc)) from None
    trainer = model.trainer
    if trainer is not None and Path(trainer.best).is_file():
        return Path(trainer.best)
    return config.best_checkpoint
