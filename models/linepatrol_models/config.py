"""Training configuration files: one YAML per model, kept in the repository.

A config names the architecture (a model YAML, never downloaded weights), the dataset, where
runs go, and the ultralytics trainer arguments. Every trainer key is checked against
ultralytics' own defaults so a typo fails before an hour of training, not after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Keys this package decides itself: a config may not set them under `train:`.
RESERVED_KEYS = frozenset({"model", "data", "project", "name", "resume", "exist_ok", "mode",
                           "task", "pretrained"})


class ConfigError(ValueError):
    """The config file is missing, unreadable or names unknown settings."""


class RunFolder:
    """Where a training run writes: ``runs_dir/name``, checkpoints under ``weights/`` (the
    layout of ultralytics' runs, kept for LinePatrol's own YOLOX runs too)."""

    runs_dir: Path
    name: str

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "weights" / "last.pt"


@dataclass(frozen=True)
class TrainConfig(RunFolder):
    path: Path
    model: str
    data: Path
    runs_dir: Path
    name: str
    train: dict[str, Any] = field(default_factory=dict)
    # A local checkpoint to start from (fine-tuning a previous stage); never downloaded.
    weights: Path | None = None

    @property
    def best_checkpoint(self) -> Path:
        return self.run_dir / "weights" / "best.pt"


def _resolve(base: Path, value: str | Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _model_spec(base: Path, value: str) -> str:
    """A model YAML shipped with ultralytics (``yolov8n.yaml``) or a path next to the config."""
    if not value.endswith((".yaml", ".yml")):
        raise ConfigError(
            f"model must be an architecture YAML (e.g. yolov8n.yaml), not {value!r}: "
            "pretrained weights would need a download"
        )
    local = base / value
    return str(local.resolve()) if local.is_file() else value


def load_config(path: Path, known_keys: frozenset[str] | None = None) -> TrainConfig:
    """Read and check a training config; ``known_keys`` are the trainer's argument names."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    missing = [k for k in ("model", "data") if not raw.get(k)]
    if missing:
        raise ConfigError(f"{path}: missing {', '.join(missing)}")
    unknown_top = set(raw) - {"model", "data", "runs_dir", "name", "train", "weights"}
    if unknown_top:
        raise ConfigError(f"{path}: unknown top-level keys {sorted(unknown_top)}")
    train = raw.get("train") or {}
    if not isinstance(train, dict):
        raise ConfigError(f"{path}: 'train' must be a mapping of trainer arguments")
    reserved = sorted(set(train) & RESERVED_KEYS)
    if reserved:
        raise ConfigError(f"{path}: {reserved} are set by linepatrol, not under 'train'")
    if known_keys is not None:
        unknown = sorted(set(train) - known_keys)
        if unknown:
            raise ConfigError(f"{path}: unknown trainer arguments {unknown}")
    base = path.resolve().parent
    return TrainConfig(
        path=path.resolve(),
        model=_model_spec(base, str(raw["model"])),
        data=_resolve(base, raw["data"]),
        runs_dir=_resolve(base, raw.get("runs_dir") or "runs"),
        name=str(raw.get("name") or path.stem),
        train=dict(train),
        weights=_resolve(base, raw["weights"]) if raw.get("weights") else None,
    )
