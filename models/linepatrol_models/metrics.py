"""COCO detection metrics with faster-coco-eval (a maintained C++ port of pycocotools).

mAP50 and mAP50-95 are the library's; per-class precision/recall at the operating threshold
use the library's own detection-to-ground-truth matching (``extra_calc``), counted above the
threshold, so nothing about matching is re-implemented here.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_DETS = 300  # the detector's max_det: count every box it returns


@dataclass
class ImageRecord:
    """One evaluated image: ground truth and predictions in photo pixels (xyxy)."""

    name: str
    width: int
    height: int
    gt_boxes: npt.NDArray[np.float32]
    gt_classes: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    classes: npt.NDArray[np.int64]


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    instances: int
    ap50: float
    ap50_95: float
    precision: float  # at the operating threshold
    recall: float
    detections: int  # at the operating threshold
    conf: float  # the class's operating threshold
    # The threshold where F1 (of precision and recall at IoU 0.5) peaks over this set: a
    # measured candidate for the model's own operating point (``export --class-conf``).
    best_f1_conf: float = math.nan
    best_f1: float = math.nan


@dataclass(frozen=True)
class Metrics:
    map50: float
    map50_95: float
    conf: float
    images: int
    per_class: list[ClassMetrics] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mAP50": self.map50, "mAP50-95": self.map50_95, "conf": self.conf,
            "images": self.images,
            "per_class": [c.__dict__ for c in self.per_class],
        }


def _xywh(b: npt.NDArray[np.float32]) -> list[float]:
    return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]


def coco_dicts(records: list[ImageRecord], names: tuple[str, ...]) -> tuple[dict[str, Any],
                                                                             list[dict[str, Any]]]:
    """Ground truth (COCO dataset dict) and detections (COCO result list); ids from 1."""
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    dets: list[dict[str, Any]] = []
    for img_id, rec in enumerate(records, start=1):
        images.append({"id": img_id, "file_name": rec.name, "width": rec.width,
                       "height": rec.height})
        for box, cls in zip(rec.gt_boxes, rec.gt_classes, strict=True):
            x, y, w, h = _xywh(box)
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": int(cls) + 1,
                         "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
        for box, score, cls in zip(rec.boxes, rec.scores, rec.classes, strict=True):
            dets.append({"image_id": img_id, "category_id": int(cls) + 1, "bbox": _xywh(box),
                         "score": float(score)})
    cats = [{"id": i + 1, "name": n} for i, n in enumerate(names)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def _hit(ann: dict[str, Any]) -> bool:
    """A detection the library matched to a ground-truth box at IoU >= 0.5."""
    return bool(ann.get("tp")) and ann.get("iou", 0.0) >= 0.5


def best_f1_threshold(scores: npt.NDArray[np.float64], hits: npt.NDArray[np.bool_],
                      instances: int) -> tuple[float, float]:
    """(threshold, F1) where F1 peaks when the detections at or above a threshold are kept;
    NaNs without instances or hits."""
    if instances == 0 or not hits.any():
        return math.nan, math.nan
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    kept = np.arange(1, len(order) + 1)
    f1 = 2 * tp / (kept + instances)  # 2PR / (P + R) with P = tp/kept, R = tp/instances
    # Equal scores stand or fall together: only the last of a run of equal scores is a cut.
    sorted_scores = scores[order]
    last = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    best = int(np.flatnonzero(last)[np.argmax(f1[last])])
    return float(sorted_scores[best]), float(f1[best])


def evaluate_records(records: list[ImageRecord], names: tuple[str, ...], conf: float,
                     class_conf: Mapping[str, float] | None = None) -> Metrics:
    """COCO mAP and per-class AP / precision / recall over ``records``, precision and recall
    at each class's operating threshold (``class_conf``, else ``conf``)."""
    from faster_coco_eval import COCO, COCOeval_faster

    gt_dict, dets = coco_dicts(records, names)
    counts = np.bincount(np.concatenate([r.gt_classes for r in records] or [np.zeros(0, int)]),
                         minlength=len(names))
    if not dets:  # the library cannot load an empty result list: nothing found, nothing scored
        per = [ClassMetrics(n, int(counts[k]), 0.0, 0.0, 0.0, 0.0, 0,
                            (class_conf or {}).get(n, conf)) for k, n in enumerate(names)]
        return Metrics(0.0, 0.0, conf, len(records), per)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_dict)
        dt = gt.loadRes(dets)
        ev = COCOeval_faster(gt, dt, "bbox", extra_calc=True, print_function=lambda *_: None)
        ev.params.maxDets = [1, 10, MAX_DETS]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    precision = ev.eval["precision"]  # [iou, recall, class, area, maxdet]
    iou50 = int(np.argmin(np.abs(ev.params.iouThrs - 0.5)))
    per_class = []
    for k, name in enumerate(names):
        p = precision[:, :, k, 0, -1]
        ap = float(p[p > -1].mean()) if (p > -1).any() else math.nan
        p50 = p[iou50]
        ap50 = float(p50[p50 > -1].mean()) if (p50 > -1).any() else math.nan
        cut = (class_conf or {}).get(name, conf)
        mine = [a for a in dt.anns.values() if a["category_id"] == k + 1]
        above = [a for a in mine if a["score"] >= cut]
        tp = sum(1 for a in above if _hit(a))
        n_gt = int(counts[k])
        f1_conf, f1 = best_f1_threshold(np.array([a["score"] for a in mine], np.float64),
                                        np.array([_hit(a) for a in mine], bool), n_gt)
        per_class.append(ClassMetrics(
            name=name, instances=n_gt, ap50=ap50, ap50_95=ap,
            precision=tp / len(above) if above else (1.0 if n_gt == 0 else 0.0),
            recall=tp / n_gt if n_gt else math.nan, detections=len(above), conf=cut,
            best_f1_conf=f1_conf, best_f1=f1,
        ))
    stats = ev.stats
    return Metrics(float(stats[1]), float(stats[0]), conf, len(records), per_class)
