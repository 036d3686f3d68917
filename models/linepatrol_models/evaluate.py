"""Evaluating an ONNX model as users run it: through the core's detector, on a dataset split.

Photos go through :func:`linepatrol.pipeline.detect_files` (decoding, letterbox, tiling, NMS:
the exact path of ``linepatrol detect``) with a low confidence floor so the whole
precision-recall curve is scored; precision and recall are also reported at the operating
threshold users get by default.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from linepatrol.detect_config import DEFAULTS, DetectorConfig, TileSetting
from linepatrol.detector import Detector
from linepatrol.ensemble import AnyDetector
from linepatrol.model_store import ModelNotFoundError
from linepatrol.pipeline import detect_files, open_detector
from linepatrol.runtime.model_info import DEFAULT_AUTO_TILE_FACTOR, ModelLoadError
from linepatrol.settings import CoreSettings
from linepatrol_models.card import write_card
from linepatrol_models.dataset import YoloDataset, label_path, load_dataset, read_labels
from linepatrol_models.metrics import ImageRecord, Metrics, evaluate_records

log = logging.getLogger(__name__)

SCORE_FLOOR = 0.001  # the usual mAP convention: score the whole curve


class EvaluationError(RuntimeError):
    """The model and the dataset do not fit together, or nothing could be evaluated."""


@dataclass
class Evaluation:
    model: Path
    dataset: YoloDataset
    split: str
    metrics: Metrics
    tile: TileSetting
    iou: float
    speed_ms: float  # per photo, operating threshold, this machine
    providers: list[str]
    input_size: tuple[int, int]
    precision: str  # fp32 / fp16 / int8, as the exporter recorded it
    classes: ClassMap
    failed: list[tuple[str, str]] = field(default_factory=list)
    # what '--tile auto' does for this model (its metadata): tiles of N input sides, or None
    # for one whole-photo pass
    auto_tile: float | None = DEFAULT_AUTO_TILE_FACTOR

    @property
    def not_scored(self) -> dict[str, list[str]]:
        """The classes left out of the scores, by side (empty when model and dataset agree)."""
        c = self.classes
        return {} if c.identity else {"model_only": list(c.model_only),
                                      "dataset_only": list(c.data_only)}

    def summary(self) -> dict[str, Any]:
        return {
            "model": str(self.model), "data": str(self.dataset.yaml_path), "split": self.split,
            **self.metrics.as_dict(), "tile": self.tile, "nms_iou": self.iou,
            "ms_per_photo": round(self.speed_ms, 1), "providers": self.providers,
            "input_size": list(self.input_size), "precision": self.precision,
            "failed": self.failed,
            **({"not_scored": self.not_scored} if self.not_scored else {}),
        }


def check_classes(model_names: tuple[str, ...], data_names: tuple[str, ...]) -> None:
    if not set(model_names) & set(data_names):
        raise EvaluationError(
            f"the model's classes {list(model_names)} and the dataset's {list(data_names)} "
            "have no key in common: nothing to score"
        )


@dataclass(frozen=True)
class ClassMap:
    """Scoring a model on a dataset whose classes differ (a corridor model on CPLID, say): only
    the keys both know are scored, in the dataset's order. Detections of classes the dataset
    does not label, and labels of classes the model cannot detect, are left out and named in the
    results, since counting either would score the label set rather than the model."""

    model_names: tuple[str, ...]
    data_names: tuple[str, ...]

    def __post_init__(self) -> None:
        check_classes(self.model_names, self.data_names)

    @property
    def names(self) -> tuple[str, ...]:
        """The scored keys, in the dataset's order."""
        return tuple(n for n in self.data_names if n in self.model_names)

    @property
    def model_only(self) -> tuple[str, ...]:
        return tuple(n for n in self.model_names if n not in self.data_names)

    @property
    def data_only(self) -> tuple[str, ...]:
        return tuple(n for n in self.data_names if n not in self.model_names)

    @functools.cached_property
    def model_to_common(self) -> np.ndarray:
        """Model class id -> scored id, -1 where not scored."""
        return self._to_common(self.model_names)

    @functools.cached_property
    def data_to_common(self) -> np.ndarray:
        """Dataset class id -> scored id, -1 where not scored."""
        return self._to_common(self.data_names)

    def _to_common(self, names: tuple[str, ...]) -> np.ndarray:
        index = {n: i for i, n in enumerate(self.names)}
        return np.array([index.get(n, -1) for n in names], dtype=np.int64)

    @property
    def identity(self) -> bool:
        return not self.model_only and not self.data_only

    def record(self, name: str, width: int, height: int, gt_boxes: np.ndarray,
               gt_classes: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
               classes: np.ndarray) -> ImageRecord:
        gt = self.data_to_common[gt_classes.astype(np.int64)] if len(gt_classes) else gt_classes
        det = self.model_to_common[classes.astype(np.int64)] if len(classes) else classes
        keep_gt = gt >= 0
        keep = det >= 0
        return ImageRecord(name, width, height, gt_boxes[keep_gt], gt[keep_gt],
                           boxes[keep], scores[keep], det[keep])


def evaluate_model(
    model: str,
    data: Path,
    settings: CoreSettings,
    split: str = "val",
    conf: float = DEFAULTS.conf,
    tile: TileSetting = DEFAULTS.tile,
    limit: int | None = None,
    speed_images: int = 20,
    card: Path | None = None,
    training_configs: list[Path] | None = None,
    notes: str | None = None,
    variants: list[str] | None = None,
    compare_tiles: list[TileSetting] | None = None,
) -> Evaluation:
    """Score ``model`` on a dataset split; optionally write a model card about it."""
    dataset = load_dataset(data)
    images = dataset.images(split)[:limit] if limit else dataset.images(split)
    if not images:
        raise EvaluationError(f"{dataset.yaml_path}: split '{split}' has no images")
    result = _evaluate_one(model, settings, dataset, split, images, conf, tile, speed_images)
    if card is not None:
        extra = [_evaluate_one(v, settings, dataset, split, images, conf, tile, speed_images)
                 for v in variants or []]
        # the same models with other tiling settings, for the card's comparison table
        extra += [_evaluate_one(m, settings, dataset, split, images, conf, t, speed_images)
                  for t in compare_tiles or [] for m in [model, *(variants or [])]]
        write_card(card, result, extra, training_configs or [],
                   Path(notes).read_text(encoding="utf-8") if notes else None)
    return result


def _open(model: str, settings: CoreSettings, config: DetectorConfig) -> Any:
    try:
        detector = open_detector(model, settings, config)
    except (ModelLoadError, ModelNotFoundError) as exc:
        raise EvaluationError(str(exc)) from None
    if not isinstance(detector, Detector):  # a card describes one model file
        raise EvaluationError(f"{model!r} names several models; evaluate one at a time")
    return detector


def _evaluate_one(model: str, settings: CoreSettings, dataset: YoloDataset, split: str,
                  images: list[Path], conf: float, tile: TileSetting,
                  speed_images: int) -> Evaluation:
    detector = _open(model, settings,
                     DetectorConfig(conf=SCORE_FLOOR, tile=tile, model_class_conf=False))
    classes = ClassMap(tuple(detector.names), tuple(dataset.names))
    if not classes.identity:
        log.warning("scoring %d shared classes; not scored: model only %s, dataset only %s",
                    len(classes.names), list(classes.model_only), list(classes.data_only))
    records, failed = score_images(detector, dataset, images, classes)
    metrics = evaluate_records(records, classes.names, conf, detector.model_class_conf)
    speed = measure_speed(model, settings, images[:speed_images],
                          DetectorConfig(conf=conf, tile=tile))
    session = detector.session
    providers = list(getattr(session, "active_providers", []) or [])
    info = detector.info
    precision = info.metadata.get("linepatrol_precision") or info.input_dtype.replace(
        "float", "fp")
    return Evaluation(Path(info.path), dataset, split, metrics, tile, detector.config.iou,
                      speed, providers, (info.input_height, info.input_width), precision,
                      classes, failed, info.auto_tile_factor)


def score_images(detector: AnyDetector, dataset: YoloDataset, images: list[Path],
                 classes: ClassMap) -> tuple[list[ImageRecord], list[tuple[str, str]]]:
    """Detections and labels of each photo as records on the shared classes, and the photos
    that could not be read (name, reason); one path for a single set and for the suite."""
    records: list[ImageRecord] = []
    failed: list[tuple[str, str]] = []
    for res in detect_files(detector, [(str(p), p) for p in images]):
        if res.error is not None or res.detections is None or res.width is None \
                or res.height is None:
            failed.append((res.name, res.error or "no result"))
            log.warning("%s: %s", res.name, res.error)
            continue
        gt_boxes, gt_classes = read_labels(label_path(res.path), res.width, res.height)
        if len(gt_classes) and gt_classes.max() >= len(dataset.names):
            raise EvaluationError(f"{label_path(res.path)}: class id beyond the dataset's names")
        d = res.detections
        records.append(classes.record(res.name, res.width, res.height, gt_boxes, gt_classes,
                                      d.xyxy, d.confidence, d.class_id))
    if not records:
        raise EvaluationError(f"{dataset.yaml_path}: no image of the split could be read")
    return records, failed


def measure_speed(model: str, settings: CoreSettings, images: list[Path],
                  config: DetectorConfig) -> float:
    """Mean wall-clock ms per photo (decode + detect) at the operating settings, after warm-up."""
    detector = _open(model, settings, config)
    files = [(str(p), p) for p in images]
    if not files:
        return float("nan")
    list(detect_files(detector, files[:1]))  # warm-up: session creation, first-run planning
    start = time.perf_counter()
    n = sum(1 for _ in detect_files(detector, files))
    return (time.perf_counter() - start) * 1000.0 / max(1, n)
