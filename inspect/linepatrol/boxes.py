"""Pure box geometry: overlap matrices, suppression and merging.

Boxes are ``(N, 4)`` float arrays of ``x1, y1, x2, y2`` in pixels.

Plain NMS comes from OpenCV (``cv2.dnn.NMSBoxesBatched``), a well-kept implementation that the
core already depends on. Merging across tiles needs intersection-over-smaller (IoS) matching and
box *merging* (NMM), which no light dependency offers (sahi has it, but pulls in torch-era
dependencies); it is written here, vectorised, for the few hundred boxes a photo yields.
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


class MatchMetric(StrEnum):
    IOU = "iou"  # intersection over union
    IOS = "ios"  # intersection over the smaller box: a box cut by a tile border vs its whole


def areas(xyxy: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    wh = np.clip(xyxy[:, 2:4].astype(np.float64) - xyxy[:, 0:2], 0.0, None)
    return np.asarray(wh[:, 0] * wh[:, 1], dtype=np.float64)


def overlap_matrix(
    a: npt.NDArray[np.floating], b: npt.NDArray[np.floating], metric: MatchMetric = MatchMetric.IOU
) -> npt.NDArray[np.float64]:
    """``(len(a), len(b))`` matrix of IoU or IoS between every pair of boxes."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    lt = np.maximum(a64[:, None, :2], b64[None, :, :2])
    rb = np.minimum(a64[:, None, 2:4], b64[None, :, 2:4])
    wh = np.clip(rb - lt, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a, area_b = areas(a64)[:, None], areas(b64)[None, :]
    iou = metric is MatchMetric.IOU
    denom = area_a + area_b - inter if iou else np.minimum(area_a, area_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(denom > 0, inter / denom, 0.0)
    return np.asarray(out, dtype=np.float64)


def nms(
    xyxy: npt.NDArray[np.floating],
    scores: npt.NDArray[np.floating],
    class_ids: npt.NDArray[np.integer] | None,
    iou_threshold: float,
) -> IntArray:
    """Indices kept by class-aware NMS (class-agnostic when ``class_ids`` is None), best first."""
    n = len(xyxy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    xywh = xyxy.astype(np.float64).copy()
    xywh[:, 2:4] -= xywh[:, 0:2]
    boxes = [tuple(map(float, row)) for row in xywh]
    confs = [float(s) for s in scores]
    if class_ids is None:
        keep = cv2.dnn.NMSBoxes(boxes, confs, 0.0, float(iou_threshold))
    else:
        keep = cv2.dnn.NMSBoxesBatched(
            boxes, confs, [int(c) for c in class_ids], 0.0, float(iou_threshold)
        )
    kept = np.asarray(keep, dtype=np.int64).reshape(-1)
    order = np.argsort(-np.asarray(scores, dtype=np.float64)[kept], kind="stable")
    return np.asarray(kept[order], dtype=np.int64)


def greedy_merge(
    xyxy: npt.NDArray[np.floating],
    scores: npt.NDArray[np.floating],
    class_ids: npt.NDArray[np.integer],
    threshold: float,
    metric: MatchMetric = MatchMetric.IOS,
    merge: bool = True,
    sources: npt.NDArray[np.integer] | None = None,
) -> tuple[FloatArray, npt.NDArray[np.float32], IntArray]:
    """Greedy non-maximum merging (NMM) of same-class boxes, or suppression if ``merge=False``.

    Highest score first; every remaining box of the same class that matches the current one at
    ``threshold`` or above is absorbed: its extent is united into the kept box (NMM) or it is
    dropped (NMS by the chosen metric). Absorbing grows the kept box, so matching is re-checked
    against the grown box until nothing more joins — this is what makes two halves of an object
    cut by a tile border, plus the whole seen from a neighbouring tile, come back as one box.

    ``sources`` (optional, one id per box: the tile it came from) keeps boxes of the same
    source apart: the model already suppressed duplicates within one tile, so two boxes from one
    tile are two objects, however much they overlap.

    Returns the merged boxes, their scores (the best of each group) and class ids.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    boxes = np.asarray(xyxy, dtype=np.float64)[order]
    sc = np.asarray(scores, dtype=np.float32)[order]
    cl = np.asarray(class_ids, dtype=np.int64)[order]
    src = (
        np.arange(len(boxes), dtype=np.int64)
        if sources is None
        else np.asarray(sources, dtype=np.int64)[order]
    )
    alive = np.ones(len(boxes), dtype=bool)
    out_boxes: list[npt.NDArray[np.float64]] = []
    out_scores: list[float] = []
    out_classes: list[int] = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        alive[i] = False
        current = boxes[i].copy()
        used_sources = {int(src[i])}
        while True:
            free = ~np.isin(src, list(used_sources)) if sources is not None else alive
            candidates = np.flatnonzero(alive & free & (cl == cl[i]))
            if len(candidates) == 0:
                break
            ov = overlap_matrix(current[None, :], boxes[candidates], metric)[0]
            hit = candidates[ov >= threshold]
            if len(hit) == 0:
                break
            if sources is not None:
                # one box per source joins a group: take the best-matching box of each source
                best: dict[int, int] = {}
                for j, score in zip(hit, ov[ov >= threshold], strict=True):
                    s = int(src[j])
                    if s not in best or score > ov[candidates == best[s]][0]:
                        best[s] = int(j)
                hit = np.asarray(sorted(best.values()), dtype=np.int64)
                used_sources.update(best)
            alive[hit] = False
            if not merge:
                break
            current[:2] = np.minimum(current[:2], boxes[hit, :2].min(axis=0))
            current[2:] = np.maximum(current[2:], boxes[hit, 2:].max(axis=0))
        out_boxes.append(current)
        out_scores.append(float(sc[i]))
        out_classes.append(int(cl[i]))
    if not out_boxes:
        return (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    return (
        np.asarray(out_boxes, dtype=np.float32),
        np.asarray(out_scores, dtype=np.float32),
        np.asarray(out_classes, dtype=np.int64),
    )
