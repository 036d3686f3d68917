"""Model variants (fp32, fp16, INT8): speed next to mAP50 on the validation split.

mAP50 is COCO AP at IoU 0.5, computed by ``linepatrol_models.metrics`` (faster-coco-eval) over
the detections LinePatrol returns with a low confidence threshold (0.001, the usual mAP
convention), one whole-photo pass per photo (the way the model was validated in training).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.detection import open_ours, run_ours
from benchmarks.timing import median
from linepatrol.detect_config import DetectorConfig
from linepatrol.detector import Detector

VAL_CONF = 0.001


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    width: int
    height: int
    boxes: list[tuple[float, float, float, float]]
    classes: list[str]  # taxonomy keys


def _box(b: Any) -> tuple[float, float, float, float]:
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def yolo_split(data_yaml: Path, split: str, limit: int | None) -> list[LabelledPhoto]:
    """Photos and labels of a YOLO dataset split (the models package reads the layout)."""
    from PIL import Image

    from linepatrol_models.dataset import label_path, load_dataset, read_labels

    ds = load_dataset(data_yaml)
    out = []
    for img in ds.images(split)[:limit]:
        with Image.open(img) as im:
            w, h = im.size
        xyxy, cls = read_labels(label_path(img), w, h)
        out.append(LabelledPhoto(img, w, h, [_box(b) for b in xyxy],
                                 [ds.names[int(c)] for c in cls]))
    return out


def cplid_subset(photos: list[Path]) -> list[LabelledPhoto]:
    """CPLID photos with their VOC labels mapped to taxonomy keys (not a held-out split)."""
    from PIL import Image

    from benchmarks.photos import cplid_labels
    from linepatrol.taxonomy import DATASET_ALIASES

    aliases = DATASET_ALIASES["cplid"]
    out = []
    for p in photos:
        with Image.open(p) as im:
            w, h = im.size
        labels = cplid_labels(p)
        out.append(LabelledPhoto(p, w, h, [_box(b.xyxy) for b in labels],
                                 [aliases.get(b.name, b.name) for b in labels]))
    return out


def map50(detector: Any, photos: list[LabelledPhoto]) -> float | None:
    """mAP50 by the models package's COCO evaluation (one metrics implementation)."""
    import numpy as np

    from linepatrol.pipeline import detect_files
    from linepatrol_models.metrics import ImageRecord, evaluate_records

    names = tuple(detector.names)
    records = []
    for ph, result in zip(photos, detect_files(detector, [(str(p.path), p.path) for p in photos]),
                          strict=True):
        d = result.detections
        if d is None:
            raise RuntimeError(f"{result.name}: {result.error}")
        keep = [i for i, key in enumerate(ph.classes) if key in names]
        records.append(ImageRecord(
            ph.path.name, ph.width, ph.height,
            np.asarray([ph.boxes[i] for i in keep], np.float32).reshape(-1, 4),
            np.asarray([names.index(ph.classes[i]) for i in keep], np.int64),
            d.xyxy, d.confidence, d.class_id))
    if not any(len(r.gt_classes) for r in records):
        return None
    return round(float(evaluate_records(records, names, detector.config.conf).map50), 4)


def compare(
    models: Any, photos: list[Path], val: list[LabelledPhoto], val_source: str, device: str,
    rounds: int,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for variant in ("fp32", "fp16", "int8"):
        path = models.onnx.get(variant)
        if path is None:
            reason = ("GPU variant: measured with --device cuda"
                      if variant == "fp16" else "not built")
            rows.append({"variant": variant, "skipped": reason})
            continue
        fast = open_ours(path, device, tile="off")
        run_ours(fast, photos[:1])
        seconds = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            run_ours(fast, photos)
            seconds.append(time.perf_counter() - t0)
        val_detector = Detector(fast.session, DetectorConfig(conf=VAL_CONF, tile="off"))
        rows.append({
            "variant": variant,
            "file_mib": round(path.stat().st_size / 2**20, 2),
            "photos_per_s": round(len(photos) / median(seconds), 2),
            "ms_per_photo": round(1000 * median(seconds) / len(photos), 2),
            "map50": map50(val_detector, val),
            "active_providers": list(getattr(fast.session, "active_providers", [])),
        })
    return {"val_source": val_source, "val_photos": len(val), "map_meaningful": models.trained,
            "rows": rows}

