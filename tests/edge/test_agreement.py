"""The front end / back end agreement: a pure function of two box lists."""

from __future__ import annotations

from linepatrol.detections import DetectionRecord
from linepatrol.edge.agreement import MACHINERY, Agreement, compare, family, is_finding


def box(cls: str, x: float, y: float, w: float = 40, h: float = 40,
        conf: float = 0.8) -> DetectionRecord:
    return {"class": cls, "confidence": conf, "xyxy": [x, y, x + w, y + h]}


def test_families_group_one_components_defects_and_all_machines() -> None:
    assert family("insulator_missing_cap") == family("insulator_broken") == "insulator"
    assert family("damper_slipped") == "damper"
    assert family("truck_crane") == family("pump_truck") == family("machinery") == MACHINERY
    assert family("bird_nest") == "bird_nest" and family("broken_strand") == "broken_strand"
    assert family("something_new") == "something_new"
    assert not is_finding("insulator") and not is_finding("tower")
    assert is_finding("insulator_missing_cap") and is_finding("something_new")


def test_both_nothing_and_components_only_agree() -> None:
    assert compare([], []) == Agreement(0, 0, 0)
    assert compare([box("insulator", 0, 0)], [box("tower", 100, 100)]).agreed


def test_same_family_overlapping_boxes_match_one_to_one() -> None:
    edge = [box("insulator_missing_cap", 100, 100), box("insulator_missing_cap", 104, 100)]
    back = [box("insulator_broken", 102, 100)]
    a = compare(edge, back)
    assert a == Agreement(matched=1, edge_only=1, back_only=0) and a.agreed


def test_other_family_or_low_overlap_does_not_match_but_the_photo_still_agrees() -> None:
    # both ends found something: the edge sent the right photo, though the boxes differ
    a = compare([box("bird_nest", 0, 0)], [box("insulator_missing_cap", 0, 0)])
    assert a == Agreement(0, 1, 1) and a.agreed
    far = compare([box("bird_nest", 0, 0)], [box("bird_nest", 30, 30)])  # IoU 100/3100
    assert far == Agreement(0, 1, 1)
    near = compare([box("bird_nest", 0, 0)], [box("bird_nest", 10, 0)])  # IoU 0.6
    assert near == Agreement(1, 0, 0)


def test_one_end_alone_disagrees() -> None:
    edge_only = compare([box("excavator", 0, 0)], [box("insulator", 0, 0)])
    assert edge_only == Agreement(0, 1, 0) and not edge_only.agreed
    back_only = compare([], [box("smoke_fire", 0, 0)])
    assert back_only == Agreement(0, 0, 1) and not back_only.agreed


def test_machines_named_differently_match() -> None:
    assert compare([box("truck_crane", 0, 0)], [box("pump_truck", 5, 0)]).matched == 1
