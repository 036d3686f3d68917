"""Box maths against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from linepatrol import boxes as B
from linepatrol.detections import Detections


def test_overlap_matrix_iou_and_ios() -> None:
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [2, 2, 4, 4], [20, 20, 30, 30]], np.float32)
    iou = B.overlap_matrix(a, b, B.MatchMetric.IOU)[0]
    ios = B.overlap_matrix(a, b, B.MatchMetric.IOS)[0]
    assert iou == pytest.approx([50 / 150, 4 / 100, 0.0])
    assert ios == pytest.approx([50 / 100, 1.0, 0.0])


def test_class_aware_nms() -> None:
    xyxy = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    cls = np.array([0, 0, 1, 0])
    # box 1 overlaps box 0 (IoU 9/11) and is suppressed; box 2 has another class and stays
    assert B.nms(xyxy, scores, cls, 0.5).tolist() == [0, 2, 3]
    assert B.nms(xyxy, scores, None, 0.5).tolist() == [0, 3]
    assert B.nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0), 0.5).tolist() == []


def test_greedy_merge_unites_halves_and_keeps_other_classes_apart() -> None:
    # An object 0..100 cut by a tile border at 60: left part, right part, and the whole.
    xyxy = np.array([[0, 0, 60, 20], [55, 0, 100, 20], [0, 0, 100, 20], [0, 0, 100, 20]], np.float32)
    scores = np.array([0.6, 0.7, 0.9, 0.5], np.float32)
    cls = np.array([0, 0, 0, 1])
    out, sc, oc = B.greedy_merge(xyxy, scores, cls, 0.5)
    assert out.tolist() == [[0, 0, 100, 20], [0, 0, 100, 20]]
    assert sc.tolist() == pytest.approx([0.9, 0.5])
    assert oc.tolist() == [0, 1]


def test_greedy_merge_never_joins_two_boxes_of_one_source() -> None:
    # Two adjacent insulators found in the same tile stay two, however much they overlap.
    xyxy = np.array([[0, 0, 10, 40], [2, 0, 12, 40]], np.float32)
    out, _, _ = B.greedy_merge(xyxy, np.array([0.9, 0.8]), np.array([0, 0]), 0.5,
                               sources=np.array([3, 3]))
    assert len(out) == 2
    out, _, _ = B.greedy_merge(xyxy, np.array([0.9, 0.8]), np.array([0, 0]), 0.5,
                               sources=np.array([3, 4]))
    assert out.tolist() == [[0, 0, 12, 40]]


def test_detections_slicing_merge_and_thresholds() -> None:
    names = ("insulator", "insulator_missing_cap")
    d = Detections(np.array([[0, 0, 1, 1], [1, 1, 2, 2], [2, 2, 3, 3]]), np.array([0.9, 0.3, 0.5]),
                   np.array([0, 1, 1]), names)
    assert len(d[1:]) == 2 and d[0].class_keys == ["insulator"]
    assert d[d.confidence > 0.4].class_keys == ["insulator", "insulator_missing_cap"]
    both = Detections.merge([d, d.shifted(10, 0)])
    assert len(both) == 6 and both.xyxy[3].tolist() == [10, 0, 11, 1]
    kept = d.filter_confidence(0.25, {"insulator_missing_cap": 0.4})
    assert kept.confidence.tolist() == pytest.approx([0.9, 0.5])
    assert d.records()[0] == {"class": "insulator", "confidence": 0.9, "xyxy": [0, 0, 1, 1]}
    with pytest.raises(ValueError, match="differ in length"):
        Detections(np.zeros((2, 4)), np.zeros(3), np.zeros(2), names)
    with pytest.raises(ValueError, match="different class lists"):
        Detections.merge([d, Detections.empty(("tower",))])
