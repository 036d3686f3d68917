"""The line-over-time matching rules (linepatrol.tracking): when a finding is an item already
tracked."""

from __future__ import annotations

import pytest

from linepatrol.geo.geodesy import distance_m
from linepatrol.tracking import (
    Finding,
    Place,
    Tracked,
    assign,
    match,
    more_severe,
    not_seen,
    same_place,
)

LAT, LON = 30.5, 114.3
METRE_LAT = 1.0 / 110_850.0  # one metre of latitude near 30.5 degrees, about


def ground(dn_m: float, unc: float = 3.0, line: str | None = "L1") -> Place:
    return Place(line, "ground", lat=LAT + dn_m * METRE_LAT, lon=LON, uncertainty_m=unc)


def test_distance_is_the_geodesic() -> None:
    assert distance_m(LAT, LON, LAT + 100 * METRE_LAT, LON) == pytest.approx(100.0, rel=2e-3)


def test_tower_and_span_places_match_by_name_only() -> None:
    t2 = Place("L1", "tower", tower="T2")
    assert same_place(t2, Place("L1", "tower", tower="T2"))
    assert not same_place(t2, Place("L1", "tower", tower="T3"))
    assert not same_place(t2, Place("L2", "tower", tower="T2"))
    s = Place("L1", "span", span="T2-T3")
    assert same_place(s, Place("L1", "span", span="T2-T3"))
    assert not same_place(s, Place("L1", "span", span="T3-T4"))


def test_ground_places_match_within_the_combined_uncertainty() -> None:
    # two positions 3 m uncertain each: combined sigma 4.24 m, reach 2 sigma = 8.5 m
    assert same_place(ground(0), ground(8.0))
    assert not same_place(ground(0), ground(9.0))
    # a vaguer position reaches further: the tolerance is the geotagger's own figure
    assert same_place(ground(0, unc=10.0), ground(25.0, unc=10.0))
    assert not same_place(ground(0), Place("L1", "ground"))  # no position: nothing to compare
    assert not same_place(ground(0, line=None), ground(0, line=None))  # no line: no history


def test_machines_match_across_class_names_other_classes_do_not() -> None:
    items = [Tracked(1, "excavator", "hazard", ground(0)),
             Tracked(2, "bird_nest", "line_defect", Place("L1", "tower", tower="T2"))]
    assert match("truck_crane", "hazard", ground(3), items) == items[0]
    assert match("bird_nest", "line_defect", Place("L1", "tower", tower="T2"), items) == items[1]
    assert match("insulator_missing_cap", "line_defect",
                 Place("L1", "tower", tower="T2"), items) is None


def test_the_nearest_of_several_items_wins() -> None:
    items = [Tracked(1, "excavator", "hazard", ground(0)),
             Tracked(2, "excavator", "hazard", ground(6))]
    assert match("excavator", "hazard", ground(5), items) == items[1]
    assert match("excavator", "hazard", ground(1), items) == items[0]


def test_more_severe() -> None:
    assert more_severe("critical", "serious")
    assert more_severe("general", None)
    assert not more_severe("general", "serious")
    assert not more_severe(None, "general")
    assert not more_severe("serious", "serious")


def test_an_item_whose_covered_place_showed_nothing_is_not_seen() -> None:
    on_tower = Tracked(1, "bird_nest", "line_defect", Place("L1", "tower", tower="T2"))
    on_span = Tracked(2, "foreign_object", "line_defect", Place("L1", "span", span="T2-T3"))
    on_ground = Tracked(3, "excavator", "hazard", ground(0))
    items = [on_tower, on_span, on_ground]
    covered = {("tower", "L1", "T2"), ("span", "L1", "T2-T3")}
    assert not_seen(items, covered, sighted=set()) == [on_tower, on_span]
    assert not_seen(items, covered, sighted={1}) == [on_span]
    assert not_seen(items, {("tower", "L1", "T3")}, sighted=set()) == []
    assert not_seen(items, {("tower", "L2", "T2")}, sighted=set()) == []  # another line's T2


def test_two_findings_of_one_flight_never_share_an_item() -> None:
    item = Tracked(1, "excavator", "hazard", ground(0))
    near, nearer = Finding("excavator", "hazard", ground(3)), Finding("crane", "hazard", ground(1))
    assert assign([near, nearer], [item]) == [item, None]  # first come; the second is new
    assert assign([Finding("bird_nest", "line_defect", ground(0))], [item]) == [None]
