"""Visual coverage (linepatrol.geo.coverage / visibility): which towers and spans a flight's
photos showed closely enough, with synthetic poses whose answers are worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import pytest
from geo_support import GROUND, geo, make_pose

from linepatrol.geo.coverage import (
    MIN_OBJECT_PX,
    MISSING_CAP_M,
    Coverage,
    CoverageConfig,
    CoverageItem,
    DatedCoverage,
    line_coverage,
    only_line,
)
from linepatrol.geo.ledger import Ledger
from linepatrol.geo.pose import CameraPose
from linepatrol.geo.visibility import SAG_FRACTION, flight_coverage, span_fractions

HEIGHT = 40.0  # the towers' height in the ledger below
F = 4000.0  # a zoom camera's focal length in pixels
SIZE = 640


def ledger() -> Ledger:
    """T1, T2, T3 of line L1, 300 m apart from west to east, 40 m tall on ground at GROUND."""
    rows = ["line,tower,lat,lon,ground_elev,height"]
    for name, e in (("T1", -300.0), ("T2", 0.0), ("T3", 300.0)):
        lat, lon, _ = geo(e, 0.0, 0.0)
        rows.append(f"L1,{name},{lat:.10f},{lon:.10f},{GROUND},{HEIGHT}")
    return Ledger.parse("\n".join(rows) + "\n", "csv")


def camera(e: float, n: float, up: float, target: tuple[float, float, float],
           f: float = F, **overrides: float) -> CameraPose:
    """A camera at ENU (e, n, up) of the scene (up from the scene's zero) aimed at ``target``."""
    de, dn, du = target[0] - e, target[1] - n, target[2] - up
    lat, lon, _ = geo(e, n, 0.0)
    values: dict[str, float] = dict(
        lat=lat, lon=lon, abs_alt=up, rel_alt=up - GROUND,
        yaw=math.degrees(math.atan2(de, dn)),
        pitch=math.degrees(math.atan2(du, math.hypot(de, dn))),
        fx=f, fy=f, width=SIZE, height=SIZE, cx=(SIZE - 1) / 2, cy=(SIZE - 1) / 2,
    )
    values.update(overrides)
    return make_pose(**values)


TOP_T2 = (0.0, 0.0, GROUND + HEIGHT)


def item(cov: Coverage, kind: str, ident: str) -> CoverageItem:
    (found,) = [i for i in cov.items if (i.kind, i.id) == (kind, ident)]
    return found


def test_a_camera_aimed_at_a_tower_covers_it_and_its_gsd_is_range_over_focal():
    cov = flight_coverage(ledger(), [camera(0.0, -10.0, GROUND + HEIGHT, TOP_T2)])
    t2 = item(cov, "tower", "T2")
    assert t2.covered and t2.photos == 1
    # 10 m from the top, level with it: 10 m / 4000 px = 2.5 mm per pixel
    assert t2.best_gsd_cm == pytest.approx(10.0 / F * 100, rel=1e-3)
    # a 255 mm cap at 10 m spans 102 px >= 60
    assert MISSING_CAP_M * F / 10.0 >= MIN_OBJECT_PX
    assert not item(cov, "tower", "T1").covered and item(cov, "tower", "T1").best_gsd_cm is None
    assert [g.id for g in cov.gaps] == ["T1", "T3", "T1-T2", "T2-T3"]
    assert cov.ratio == pytest.approx(1 / 5)


def test_a_camera_facing_away_or_too_far_does_not_cover():
    away = replace(camera(0.0, -10.0, GROUND + HEIGHT, TOP_T2), yaw=180.0)
    cov = flight_coverage(ledger(), [away])
    assert not item(cov, "tower", "T2").covered
    assert item(cov, "tower", "T2").best_gsd_cm is None  # behind the camera: never framed
    # 100 m off, the cap spans 0.255 * 4000 / 100 = 10 px < 60: framed, not covered, and the
    # gap says how coarse the view was
    far = flight_coverage(ledger(), [camera(0.0, -100.0, GROUND + HEIGHT, TOP_T2)])
    t2 = item(far, "tower", "T2")
    assert not t2.covered and t2.photos == 0
    assert t2.best_gsd_cm == pytest.approx(100.0 / F * 100, rel=1e-3)
    # the same view counts when the threshold is what 100 m gives (10.2 px)
    loose = flight_coverage(ledger(), [camera(0.0, -100.0, GROUND + HEIGHT, TOP_T2)],
                            CoverageConfig(min_object_px=10.0))
    assert item(loose, "tower", "T2").covered


def test_a_point_at_the_border_is_not_in_view():
    """The top 10 m ahead, aimed 3.9 degrees to its side: at 4000 px focal that is 273 px
    from the centre of a 640 px frame, inside the 2 % margin (307 px)... and at 4.6 degrees
    (322 px) outside the frame."""
    inside = camera(0.0, -10.0, GROUND + HEIGHT, TOP_T2, yaw=-3.9)
    outside = camera(0.0, -10.0, GROUND + HEIGHT, TOP_T2, yaw=-4.6)
    assert item(flight_coverage(ledger(), [inside]), "tower", "T2").covered
    assert not item(flight_coverage(ledger(), [outside]), "tower", "T2").covered


def _mid_conductor(s: float) -> tuple[float, float, float]:
    """The conductor of span T2-T3 at fraction s: 70 % of the towers' height, sagging."""
    sag = 4 * SAG_FRACTION * 300.0 * s * (1 - s)
    return (300.0 * s, 0.0, GROUND + 0.7 * HEIGHT - sag)


def test_a_span_is_covered_when_enough_of_its_conductor_was_seen():
    mid = _mid_conductor(0.5)
    one = camera(150.0, -15.0, mid[2], mid)
    cov = flight_coverage(ledger(), [one])
    span = item(cov, "span", "T2-T3")
    # one photo sees the middle point only (a 9 degree view at 15 m is 2.4 m wide): 1 of 9
    assert span.photos == 1 and not span.covered
    assert span.best_gsd_cm == pytest.approx(15.0 / F * 100, rel=1e-3)
    assert item(flight_coverage(ledger(), [one], CoverageConfig(span_min_fraction=1 / 9)),
                "span", "T2-T3").covered
    # photos along the span, one per sample point: all of it seen
    along = [camera(p[0], -15.0, p[2], p) for p in map(_mid_conductor, span_fractions(9))]
    cov = flight_coverage(ledger(), along)
    span = item(cov, "span", "T2-T3")
    assert span.covered and span.photos == 9
    assert not item(cov, "span", "T1-T2").covered
    # aimed where the conductor would be without its sag (9 m higher), the camera misses it:
    # 9 m at 15 m is 31 degrees off a 4.6 degree half-view
    high = camera(150.0, -15.0, mid[2] + 9.0, (150.0, 0.0, mid[2] + 9.0))
    assert item(flight_coverage(ledger(), [high]), "span", "T2-T3").photos == 0


def test_photos_without_a_usable_pose_count_for_nothing():
    no_height = replace(camera(0.0, -10.0, GROUND + HEIGHT, TOP_T2), rel_alt=None)
    cov = flight_coverage(ledger(), [no_height])
    assert cov.ratio == 0.0 and all(i.photos == 0 for i in cov.items)


def test_one_line_of_a_ledger_and_the_json_shape():
    two = Ledger(ledger().towers + Ledger.parse(
        "line,tower,lat,lon\nL2,A,30.6,114.3\nL2,B,30.61,114.3\n", "csv").towers)
    cov = flight_coverage(two, [camera(0.0, -10.0, GROUND + HEIGHT, TOP_T2)], line="L1")
    assert {i.line for i in cov.items} == {"L1"}
    with pytest.raises(ValueError, match="no tower of line 'L9'"):
        only_line(two, "L9")
    body = cov.to_json()
    assert body["ratio"] == 0.2
    assert body["towers"][1] == {"kind": "tower", "id": "T2", "line": "L1", "covered": True,
                                 "photos": 1, "best_gsd_cm": 0.25}
    assert body["gaps"][0] == {"kind": "tower", "id": "T1", "line": "L1"}
    assert [s["id"] for s in body["spans"]] == ["T1-T2", "T2-T3"]


def test_config_is_checked():
    with pytest.raises(ValueError, match="min_object_px"):
        CoverageConfig(min_object_px=0)
    with pytest.raises(ValueError, match="span_min_fraction"):
        CoverageConfig(span_min_fraction=1.5)


def _cov(covered: dict[str, bool]) -> Coverage:
    towers = tuple(CoverageItem("tower", t, "L1", c, int(c), 0.5 if c else None)
                   for t, c in covered.items() if "-" not in t)
    spans = tuple(CoverageItem("span", t, "L1", c, int(c) * 2, 1.0 if c else None)
                  for t, c in covered.items() if "-" in t)
    return Coverage(towers, spans)


def test_a_line_over_a_period_keeps_the_last_covered_date_and_flags_stale_items():
    june, october = dt.date(2026, 6, 1), dt.date(2026, 10, 1)
    flights = [
        DatedCoverage(june, _cov({"T1": True, "T2": True, "T3": False, "T1-T2": True,
                                  "T2-T3": False})),
        DatedCoverage(october, _cov({"T1": False, "T2": True, "T3": False, "T1-T2": False,
                                     "T2-T3": False, "T9": True})),  # T9: no longer listed
    ]
    result = line_coverage(ledger(), flights, as_of=dt.date(2026, 11, 1), stale_after_days=90)
    by_id = {i.id: i for i in result.items}
    assert set(by_id) == {"T1", "T2", "T3", "T1-T2", "T2-T3"}
    assert by_id["T2"].last_covered == october and by_id["T2"].flights == 2
    assert not by_id["T2"].stale and by_id["T2"].photos == 2
    # June is 153 days before November: stale
    assert by_id["T1"].last_covered == june and by_id["T1"].stale and by_id["T1"].covered
    assert by_id["T3"].last_covered is None and by_id["T3"].stale and not by_id["T3"].covered
    assert by_id["T1-T2"].best_gsd_cm == 1.0 and by_id["T1-T2"].photos == 2
    assert result.ratio == pytest.approx(3 / 5) and result.flights == 2
    assert [g.id for g in result.gaps] == ["T3", "T2-T3"]
    assert [s.id for s in result.stale] == ["T1", "T3", "T1-T2", "T2-T3"]
    body = result.to_json()
    assert body["towers"][0]["last_covered"] == "2026-06-01" and body["stale_after_days"] == 90
    assert body["as_of"] == "2026-11-01"
    # a longer limit: June is recent enough
    assert not line_coverage(ledger(), flights, dt.date(2026, 11, 1), 200).towers[0].stale
