"""Model variants (fp32, fp16, INT8): speed next to mAP50 on the validation split.

mAP50 is COCO-style AP at IoU 0.5 (faster-coco-eval, the project's COCO metrics library) of the
detections LinePatrol returns with a low confidence threshold (0.001, as ultralytics' validator
uses), one whole-photo pass per photo (the way the model was validated in training).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.detection import open_ours, run_ours
from benchmarks.timing import median
from linepatrol.detector import Detector, DetectorConfig

VAL_CONF = 0.001


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    width: int
    height: int
    boxes: list[tuple[float, float, float, float]]
    classes: list[str]  # taxonomy keys


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
        out.append(LabelledPhoto(img, w, h, [tuple(map(float, b)) for b in xyxy],
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
        out.append(LabelledPhoto(p, w, h, [tuple(map(float, b.xyxy)) for b in labels],
                                 [aliases.get(b.name, b.name) for b in labels]))
    return out


def map50(detector: Any, photos: list[LabelledPhoto]) -> float | None:
    """COCO AP at IoU 0.5, averaged over the classes that have ground truth."""
    from faster_coco_eval import COCO, COCOeval_faster

    from linepatrol.pipeline import detect_files

    names = list(detector.names)
    cats = [{"id": i, "name": n} for i, n in enumerate(names)]
    images, anns, dets = [], [], []
    for i, ph in enumerate(photos):
        images.append({"id": i, "width": ph.width, "height": ph.height,
                       "file_name": ph.path.name})
        for (x1, y1, x2, y2), key in zip(ph.boxes, ph.classes, strict=True):
            if key not in names:
                continue
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": names.index(key),
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                         "iscrowd": 0})
    if not anns:
        return None
    for i, result in enumerate(detect_files(detector, [(str(p.path), p.path) for p in photos])):
        d = result.detections
        if d is None:
            continue
        for b, s, c in zip(d.xyxy, d.confidence, d.class_id, strict=True):
            dets.append({"image_id": i, "category_id": int(c), "score": float(s),
                         "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]),
                                  float(b[3] - b[1])]})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": cats}
    gt.createIndex()
    if not dets:
        return 0.0
    ev = COCOeval_faster(gt, gt.loadRes(dets), iouType="bbox")
    ev.params.catIds = sorted({a["category_id"] for a in anns})
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return round(float(ev.stats[1]), 4)  # stats[1] = AP at IoU 0.50


def compare(
    models: Any, photos: list[Path], val: list[LabelledPhoto], val_source: str, device: str,
    rounds: int,
) -> dict[str, Any]:
    rows = []
    for variant in ("fp32", "fp16", "int8"):
        path = models.onnx.get(variant)
        if path is None:
            reason = ("GPU only (ONNX Runtime's CPU kernels run fp16 slower than fp32)"
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

