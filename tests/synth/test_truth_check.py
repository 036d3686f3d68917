"""Truth-centric scoring of check-flight on hand-made truth and findings (no rendering): one
finding per true object within a gate, recall, false findings, misses named and explained."""

from __future__ import annotations

from typing import Any

import pytest

from linepatrol.geo.geodesy import LocalFrame
from linepatrol_datasets.synth.truth_check import compare, default_gate_m, match_one_to_one

ORIGIN = {"lat": 30.0, "lon": 114.0, "alt": 20.0}
FRAME = LocalFrame(ORIGIN["lat"], ORIGIN["lon"], ORIGIN["alt"])


def _truth(*objects: tuple[str, float, float]) -> dict[str, Any]:
    return {"origin": ORIGIN,
            "objects": [{"instance_id": i + 1, "class": c, "enu": [e, n, 0.0]}
                        for i, (c, e, n) in enumerate(objects)]}


def _finding(cls: str, e: float, n: float) -> dict[str, Any]:
    lat, lon, h = FRAME.to_geodetic([e, n, 0.0])[0]
    return {"class": cls, "lat": lat, "lon": lon, "alt_m": h}


def test_two_findings_near_one_object_make_one_match_and_one_false() -> None:
    truth = _truth(("excavator", 0.0, 0.0), ("tower", 0.0, 0.0))
    result = compare([_finding("excavator", 1.0, 0.0), _finding("excavator", 3.0, 0.0)], truth)
    m = result["matched"]
    assert (m["true_objects"], m["found"], m["recall"], m["false_findings"]) == (1, 1, 1.0, 1)
    assert m["median_m"] == pytest.approx(1.0, abs=1e-3)
    assert m["per_class"] == {"excavator": {"true": 1, "found": 1, "median_m": m["median_m"],
                                            "false": 1}}
    assert m["missed"] == [] and m["wrong_class_nearby"] == 0
    # The finding-centric median counts the duplicate as a 3 m placement: (1 + 3) / 2.
    assert result["median_m"] == pytest.approx(2.0, abs=1e-3)


def test_closest_pairs_are_taken_first() -> None:
    # F(5, 0) is 1 m from B and 5 m from A; F(-2, 0) is 2 m from A. Nearest-first pairs each
    # finding with its own object, even though the first finding listed is nearer B.
    truth = _truth(("excavator", 0.0, 0.0), ("excavator", 6.0, 0.0))
    m = compare([_finding("excavator", 5.0, 0.0), _finding("excavator", -2.0, 0.0)],
                truth)["matched"]
    assert m["found"] == 2 and m["false_findings"] == 0
    assert m["median_m"] == pytest.approx(1.5, abs=1e-3)
    assert m["p90_m"] == pytest.approx(1.9, abs=1e-3)


def test_match_one_to_one_is_nearest_first_and_gated() -> None:
    import numpy as np

    t = [np.array([0.0, 0.0]), np.array([10.0, 0.0])]
    f = [np.array([9.0, 0.0]), np.array([30.0, 0.0])]
    pairs = match_one_to_one(["a", "a"], t, ["a", "a"], f, gate_m=15.0)
    assert [(i, j) for i, j, _ in pairs] == [(1, 0)]
    assert pairs[0][2] == pytest.approx(1.0)


def test_gate_keeps_far_findings_out() -> None:
    truth = _truth(("truck_crane", 0.0, 0.0))
    found = [_finding("truck_crane", 20.0, 0.0)]
    m = compare(found, truth)["matched"]
    assert default_gate_m() == 15.0 and m["gate_m"] == 15.0
    assert (m["found"], m["recall"], m["median_m"], m["false_findings"]) == (0, 0.0, None, 1)
    assert m["missed"] == [{"class": "truck_crane", "instance_id": 1, "enu": [0.0, 0.0, 0.0],
                            "nearest_finding_m": pytest.approx(20.0, abs=1e-3),
                            "wrong_class": None}]
    wide = compare(found, truth, gate_m=25.0)["matched"]
    assert wide["found"] == 1 and wide["median_m"] == pytest.approx(20.0, abs=1e-3)
    assert wide["gate_m"] == 25.0 and wide["false_findings"] == 0


def test_wrong_class_nearby_tells_classification_from_detection() -> None:
    truth = _truth(("excavator", 0.0, 0.0), ("pump_truck", 100.0, 0.0),
                   ("bird_nest", 200.0, 0.0))
    found = [_finding("bulldozer", 2.0, 0.0),      # the excavator, named wrongly
             _finding("pump_truck", 101.0, 0.0),   # found, right class
             _finding("excavator", 130.0, 0.0)]    # a false excavator, outside every gate
    m = compare(found, truth)["matched"]
    assert m["found"] == 1 and m["false_findings"] == 2
    assert m["wrong_class_nearby"] == 1
    by_class = {e["class"]: e for e in m["missed"]}
    assert by_class["excavator"]["wrong_class"] == "bulldozer"
    assert by_class["excavator"]["nearest_finding_m"] == pytest.approx(130.0, abs=1e-3)
    assert by_class["bird_nest"] == {"class": "bird_nest", "instance_id": 3,
                                     "enu": [200.0, 0.0, 0.0], "nearest_finding_m": None,
                                     "wrong_class": None}


def test_a_finding_matched_to_its_own_object_is_not_a_wrong_class() -> None:
    truth = _truth(("excavator", 0.0, 0.0), ("truck_crane", 3.0, 0.0))
    m = compare([_finding("truck_crane", 2.0, 0.0)], truth)["matched"]
    assert m["found"] == 1 and m["wrong_class_nearby"] == 0
    assert [e["class"] for e in m["missed"]] == ["excavator"]


def test_classes_absent_from_truth_are_false_findings() -> None:
    truth = _truth(("excavator", 0.0, 0.0))
    found = [_finding("excavator", 0.5, 0.0), _finding("smoke_fire", 0.0, 0.0),
             _finding("bird_nest", 50.0, 0.0)]
    result = compare(found, truth)
    m = result["matched"]
    assert result["class_not_in_truth"] == 2
    assert m["found"] == 1 and m["false_findings"] == 2 and set(m["per_class"]) == {"excavator"}
    assert m["wrong_class_nearby"] == 0  # the excavator was found; nothing to explain


def test_empty_findings_and_what_is_not_scored() -> None:
    truth = _truth(("tower", 0.0, 0.0), ("damper", 1.0, 0.0), ("foreign_object", 5.0, 5.0))
    for found in ([], [{"class": "foreign_object", "lat": None, "lon": None},
                       _finding("tower", 0.0, 0.0)]):
        m = compare(found, truth)["matched"]
        assert (m["true_objects"], m["found"], m["recall"]) == (1, 0, 0.0)
        assert (m["median_m"], m["p90_m"], m["false_findings"]) == (None, None, 0)
        assert m["per_class"] == {"foreign_object": {"true": 1, "found": 0, "median_m": None,
                                                     "false": 0}}
        assert [e["class"] for e in m["missed"]] == ["foreign_object"]
    nothing = compare([], _truth(("tower", 0.0, 0.0)))["matched"]
    assert nothing["true_objects"] == 0 and nothing["recall"] is None


def test_finding_centric_keys_are_kept() -> None:
    result = compare([_finding("excavator", 3.0, 4.0)], _truth(("excavator", 0.0, 0.0)))
    assert set(result) == {"findings", "median_m", "p90_m", "per_class_median_m",
                           "per_class_count", "tower_or_span_assigned",
                           "tower_or_span_correct", "unplaced", "class_not_in_truth",
                           "true_classes_never_found", "matched"}
    assert result["median_m"] == pytest.approx(5.0, abs=1e-3)
    assert result["matched"]["median_m"] == result["median_m"]
