"""Large photos: LinePatrol's tiled inference against SAHI's sliced prediction.

Same slicing for both: tiles of ``2 x imgsz`` photo pixels (LinePatrol's ``--tile auto`` size)
with 20 % overlap, each resized to the model input, plus one whole-photo pass, merged by greedy
non-maximum merging on intersection-over-smaller >= 0.5 (SAHI's defaults, which LinePatrol
follows). SAHI runs the ultralytics ``.pt`` through ``UltralyticsDetectionModel`` with the same
batch size as LinePatrol: the core's own default on the device (``Detector.batch_size``: 2 on a
CPU, 8 on a GPU), since on a CPU batch 8 is slower for both sides (5184x3888: LinePatrol 1.35 s
at batch 8 against 1.09 s at 2, SAHI 2.35 s against 2.05 s). Both read the JPEG file themselves
(decode is part of the work).

On a CPU, SAHI's torch runs at ultralytics' default thread count (``min(8, cpu_count - 1)``)
while ONNX Runtime uses every core, so a CPU run adds SAHI with torch on every core
(``sahi_all_cores``, with its own ratio and recall); the headline ratio stays against SAHI as
it runs by default.

The headline side is LinePatrol on the fp32 export (the same weights as SAHI's ``.pt``). When
the INT8 variant was built (a CPU run: what the core runs for a bundled model on a CPU by
default), it runs through the shipped core alongside, with its own ratio to SAHI and recall;
a CUDA run has no INT8 side.

Recall, per pasted class (missing caps at native size, insulator strings at half size): a
pasted object counts as found when a detection of its class (any class if the model lacks it)
overlaps it with IoU >= 0.5, or contains its centre while being at most 4x its area (a box
around a whole insulator string does not count as finding a cap on it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.detection import (
    CONF,
    all_cores,
    open_ours,
    torch_threads,
    torch_threads_now,
    ultra_device,
)
from benchmarks.photos import LargePhoto
from benchmarks.timing import interleaved, median, ratio

OVERLAP = 0.2


def found_objects(
    truth: list[tuple[float, float, float, float]], dets: npt.NDArray[np.float32]
) -> int:
    """How many ground-truth boxes a detection matches (IoU >= 0.5, or centre inside a box
    at most 4x the object's area)."""
    if not truth:
        return 0
    if len(dets) == 0:
        return 0
    found = 0
    for gx1, gy1, gx2, gy2 in truth:
        garea = (gx2 - gx1) * (gy2 - gy1)
        ix1, iy1 = np.maximum(dets[:, 0], gx1), np.maximum(dets[:, 1], gy1)
        ix2, iy2 = np.minimum(dets[:, 2], gx2), np.minimum(dets[:, 3], gy2)
        inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
        darea = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
        iou = inter / np.maximum(garea + darea - inter, 1e-9)
        cx, cy = (gx1 + gx2) / 2, (gy1 + gy2) / 2
        centre = ((dets[:, 0] <= cx) & (cx <= dets[:, 2]) & (dets[:, 1] <= cy)
                  & (cy <= dets[:, 3]) & (darea <= 4 * garea))
        if bool(np.any(iou >= 0.5) or np.any(centre)):
            found += 1
    return found


def open_sahi(weights: Path, imgsz: int, device: str) -> Any:
    from benchmarks.weights import offline_ultralytics

    offline_ultralytics()
    from sahi import AutoDetectionModel

    dev = ultra_device(device)
    return AutoDetectionModel.from_pretrained(
        model_type="ultralytics", model_path=str(weights), confidence_threshold=CONF,
        device="cuda:0" if dev == 0 else "cpu", image_size=imgsz,
    )


def run_sahi(model: Any, path: Path, tile: int, batch: int) -> list[tuple[npt.NDArray[Any], str]]:
    from sahi.predict import get_sliced_prediction

    result = get_sliced_prediction(
        str(path), model, slice_height=tile, slice_width=tile,
        overlap_height_ratio=OVERLAP, overlap_width_ratio=OVERLAP,
        perform_standard_pred=True, postprocess_type="GREEDYNMM",
        postprocess_match_metric="IOS", postprocess_match_threshold=0.5,
        verbose=0, batch_size=batch,
    )
    return [(np.asarray(p.bbox.to_xyxy(), np.float32), str(p.category.name))
            for p in result.object_prediction_list]


def run_linepatrol(detector: Any, path: Path) -> list[tuple[npt.NDArray[Any], str]]:
    from linepatrol.pipeline import detect_files

    (result,) = list(detect_files(detector, [(str(path), path)]))
    d = result.detections
    if d is None:
        raise RuntimeError(f"{path}: {result.error}")
    return [(d.xyxy[i], d.names[int(d.class_id[i])]) for i in range(len(d))]


def _boxes(dets: list[tuple[npt.NDArray[Any], str]], names: tuple[str, ...],
           target: str) -> npt.NDArray[Any]:
    keep = [b for b, n in dets if target not in names or n == target]
    return np.asarray(keep, np.float32).reshape(-1, 4)


def compare(
    models: Any, photos: list[LargePhoto], device: str, rounds: int, batch: int | None = None
) -> dict[str, Any]:
    """Per photo size: photos/s of each side (median of interleaved rounds) and recall.

    ``batch`` None: the core's default for the device, read off the opened detector so that
    the rule lives in one place; SAHI gets the same number.
    """
    tile = 2 * models.imgsz
    ours = open_ours(models.onnx["fp32"], device, tile="auto", batch_size=batch)
    batch_rule = "core default" if batch is None else "given"
    batch = int(ours.batch_size)
    sahi_model = open_sahi(models.weights, models.imgsz, device)
    int8 = models.onnx.get("int8")
    # The INT8 file through the shipped core: what a bundled model runs on a CPU.
    ours_int8 = open_ours(int8, device, tile="auto", batch_size=batch) if int8 else None
    if ours_int8 is not None:
        run_linepatrol(ours_int8, photos[0].path)
    run_linepatrol(ours, photos[0].path)  # warm-up
    run_sahi(sahi_model, photos[0].path, tile, batch)
    # torch's thread count as each SAHI side finished a photo (a check that the all-cores side
    # ran on every core and the default side on ultralytics' own count)
    threads: dict[str, int] = {}

    def sahi_default(path: Path) -> list[tuple[npt.NDArray[Any], str]]:
        out = run_sahi(sahi_model, path, tile, batch)
        threads["sahi"] = torch_threads_now()
        return out

    def sahi_all_cores(path: Path) -> list[tuple[npt.NDArray[Any], str]]:
        with torch_threads(all_cores()):
            out = run_sahi(sahi_model, path, tile, batch)
            threads["sahi_all_cores"] = torch_threads_now()
        return out

    rows = []
    for size in sorted({(p.width, p.height) for p in photos}):
        group = [p for p in photos if (p.width, p.height) == size]
        last: dict[str, list[list[tuple[npt.NDArray[Any], str]]]] = {}

        def side(name: str, fn: Any, group: list[LargePhoto] = group,
                 last: dict[str, Any] = last) -> Any:
            def go() -> None:
                last[name] = [fn(p.path) for p in group]
            return go

        sides = {
            "linepatrol": side("linepatrol", lambda path: run_linepatrol(ours, path)),
            "sahi": side("sahi", sahi_default),
        }
        if device == "cpu":
            sides["sahi_all_cores"] = side("sahi_all_cores", sahi_all_cores)
        if ours_int8 is not None:
            sides["linepatrol_int8"] = side(
                "linepatrol_int8", lambda path: run_linepatrol(ours_int8, path))
        seconds = interleaved(sides, rounds)
        classes = sorted({k for p in group for k in p.objects})
        totals = {k: sum(len(p.objects.get(k, [])) for p in group) for k in classes}
        recall: dict[str, dict[str, float | None]] = {}
        for name, per_photo in last.items():
            recall[name] = {}
            for k in classes:
                hit = sum(found_objects(p.objects.get(k, []), _boxes(d, models.names, k))
                          for p, d in zip(group, per_photo, strict=True))
                recall[name][k] = round(hit / totals[k], 3) if totals[k] else None
        rate = {k: round(len(group) / median(v), 3) for k, v in seconds.items()}
        tiles = ours.tiles_for(*size)
        rows.append({
            "size": f"{size[0]}x{size[1]}",
            "megapixels": round(size[0] * size[1] / 1e6, 1),
            "photos": len(group),
            "small_objects": totals,
            "tiles_per_photo": (len(tiles) if tiles else 0) + 1,
            "photos_per_s": rate,
            "s_per_photo": {k: round(median(v) / len(group), 3) for k, v in seconds.items()},
            "ratio": round(rate["linepatrol"] / rate["sahi"], 2),
            "ratio_int8": ratio(rate, "linepatrol_int8", "sahi"),
            # against SAHI with torch on every core (CPU runs only)
            "ratio_vs_all_cores": ratio(rate, "linepatrol", "sahi_all_cores"),
            "recall": recall,
            "detections": {k: sum(len(d) for d in v) for k, v in last.items()},
        })
    return {"tile": tile, "overlap": OVERLAP, "batch": batch, "batch_rule": batch_rule,
            "torch_threads": threads,
            "rounds": rounds,
            "recall_meaningful": models.trained, "rows": rows}
