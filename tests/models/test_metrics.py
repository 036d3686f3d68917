"""COCO metrics on hand-made records: perfect, missed, false-positive and empty cases."""

from __future__ import annotations

import numpy as np
import pytest

from linepatrol_models.metrics import ImageRecord, best_f1_threshold, evaluate_records

NAMES = ("insulator", "insulator_missing_cap")


def record(gt: list[tuple[float, float, float, float, int]],
           pred: list[tuple[float, float, float, float, int, float]]) -> ImageRecord:
    g = np.array([b[:4] for b in gt], np.float32).reshape(-1, 4)
    p = np.array([b[:4] for b in pred], np.float32).reshape(-1, 4)
    return ImageRecord("x.jpg", 200, 100, g, np.array([b[4] for b in gt], np.int64),
                       p, np.array([b[5] for b in pred], np.float32),
                       np.array([b[4] for b in pred], np.int64))


GT = [(10, 10, 60, 40, 0), (100, 50, 120, 70, 1)]


def test_ground_truth_as_predictions_scores_one() -> None:
    m = evaluate_records([record(GT, [(*b, 0.9) for b in GT])] * 3, NAMES, conf=0.25)
    assert m.map50 == pytest.approx(1.0)
    assert m.map50_95 == pytest.approx(1.0)
    for c in m.per_class:
        assert (c.ap50, c.precision, c.recall, c.instances) == (1.0, 1.0, 1.0, 3)


def test_missed_object_halves_recall_and_false_positive_halves_precision() -> None:
    good = record(GT, [(*b, 0.9) for b in GT])
    # second image: the cap is missed, and a confident insulator box lands on background
    bad = record(GT, [(*GT[0], 0.9), (150, 5, 190, 30, 0, 0.8)])
    m = evaluate_records([good, bad], NAMES, conf=0.25)
    ins, cap = m.per_class
    assert cap.recall == pytest.approx(0.5)
    assert cap.precision == pytest.approx(1.0)
    assert ins.recall == pytest.approx(1.0)
    assert ins.precision == pytest.approx(2 / 3)
    assert cap.ap50 < 1.0
    assert m.map50 < 1.0


def test_operating_threshold_drops_low_scores() -> None:
    rec = record(GT, [(*GT[0], 0.9), (*GT[1], 0.1)])
    m = evaluate_records([rec], NAMES, conf=0.25)
    assert m.per_class[1].recall == 0.0  # found, but below the threshold
    assert m.per_class[1].ap50 == pytest.approx(1.0)  # the curve still counts it


def test_no_detections_at_all() -> None:
    m = evaluate_records([record(GT, [])], NAMES, conf=0.25)
    assert m.map50 == 0.0
    assert [c.recall for c in m.per_class] == [0.0, 0.0]


def test_precision_and_recall_at_each_classs_own_threshold() -> None:
    rec = record(GT, [(*GT[0], 0.3), (*GT[1], 0.3)])
    at_default = evaluate_records([rec], NAMES, conf=0.25)
    own = evaluate_records([rec], NAMES, conf=0.25, class_conf={NAMES[0]: 0.5})
    assert at_default.per_class[0].recall == 1.0 and at_default.per_class[0].conf == 0.25
    assert own.per_class[0].recall == 0.0 and own.per_class[0].conf == 0.5
    assert own.per_class[0].ap50 == at_default.per_class[0].ap50  # AP is over every score
    assert own.per_class[1].recall == at_default.per_class[1].recall


@pytest.mark.parametrize(("scores", "hits", "instances", "expected"), [
    ([0.9, 0.8, 0.3], [True, True, False], 2, (0.8, 1.0)),  # stop before the false one
    ([0.9, 0.5, 0.2], [True, False, True], 2, (0.2, 0.8)),  # 2/3 precise, all found
    ([0.9, 0.6, 0.6], [True, True, False], 2, (0.6, 0.8)),  # equal scores cut together (not 1.0)
    ([0.5], [False], 1, (None, None)),
    ([], [], 0, (None, None)),
])
def test_best_f1_threshold(scores: list[float], hits: list[bool], instances: int,
                           expected: tuple[float | None, float | None]) -> None:
    conf, f1 = best_f1_threshold(np.array(scores, np.float64), np.array(hits, bool), instances)
    if expected[0] is None:
        assert conf != conf and f1 != f1  # NaN
    else:
        assert (conf, f1) == pytest.approx(expected)
