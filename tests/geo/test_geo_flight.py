"""A flight over a small line: detections placed on towers, spans and the ground, then merged.

The scene: line L1 runs east along 30.5°N with towers T1, T2, T3 300 m apart, 40 m tall, on
flat ground at 50 m (the take-off elevation). Cameras are aimed at known 3D points; each
detection's box is drawn where that point projects, so the expected answer is known.
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace

import numpy as np
import pytest
from geo_support import make_pose
from hypothesis import given, settings
from hypothesis import strategies as st

from linepatrol.detections import Detections
from linepatrol.geo import (
    Evidence,
    GeoConfig,
    GroundError,
    Ledger,
    LocalFrame,
    Observation,
    Placement,
    locate_flight,
    locate_pixels,
    project_world_to_pixel,
)
from linepatrol.geo.locate import place_detections
from linepatrol.geo.merge import merge_evidence
from linepatrol.geo.pose import CameraPose
from linepatrol.taxonomy import BY_KEY

LAT0, LON0, GROUND = 30.5, 114.25, 50.0
SCENE = LocalFrame(LAT0, LON0, 0.0)
TOWERS = {"T1": -300.0, "T2": 0.0, "T3": 300.0}
NAMES = ("bird_nest", "excavator", "foreign_object", "insulator", "truck_crane",
         "insulator_missing_cap")


def geo(e: float, n: float, up: float) -> tuple[float, float, float]:
    lat, lon, h = SCENE.to_geodetic([[e, n, up]])[0]
    return float(lat), float(lon), float(h)


def ledger() -> Ledger:
    rows = ["line,tower,lat,lon,ground_elev,height"]
    for name, e in TOWERS.items():
        lat, lon, _ = geo(e, 0.0, GROUND)
        rows.append(f"L1,{name},{lat:.9f},{lon:.9f},{GROUND},40")
    return Ledger.parse("\n".join(rows) + "\n", "csv")


def camera(e: float, n: float, height: float, target: tuple[float, float, float],
           roll: float = 0.0) -> CameraPose:
    """A DJI pose at (e, n) ``height`` m above the ground, aimed at ``target`` (scene ENU)."""
    de, dn, du = target[0] - e, target[1] - n, target[2] - (GROUND + height)
    yaw = math.degrees(math.atan2(de, dn))
    pitch = math.degrees(math.atan2(du, math.hypot(de, dn)))
    lat, lon, _ = geo(e, n, 0.0)
    return make_pose(lat=lat, lon=lon, abs_alt=GROUND + height, rel_alt=height,
                     yaw=round(yaw, 2), pitch=round(pitch, 2), roll=roll)


def pixel_of(pose: CameraPose, target: tuple[float, float, float]) -> tuple[float, float]:
    frame = LocalFrame(pose.lat, pose.lon, pose.abs_alt or 0.0)
    lat, lon, h = geo(*target)
    world = frame.to_enu(lat, lon, h)
    px = project_world_to_pixel(pose.intrinsics, pose.rotation, [0, 0, 0], world)[0]
    assert 0 <= px[0] < pose.width and 0 <= px[1] < pose.height, px
    return float(px[0]), float(px[1])


def observation(name: str, pose: CameraPose | None, boxes: list[tuple[str, tuple, float]],
                error: str | None = None) -> Observation:
    """``boxes``: (class, (target point or pixel), confidence). On-line classes get a box
    centred on the target's pixel; ground objects a flat box (0.1 px tall) on the near edge of
    their footprint (:func:`near_side`), so that the footprint anchor is the target."""
    xyxy, conf, cls = [], [], []
    for key, target, score in boxes:
        if pose is not None and len(target) == 3 and key in ("excavator", "truck_crane"):
            target = near_side(pose, key, target)
        x, y = pixel_of(pose, target) if pose is not None and len(target) == 3 else target
        x, y = x + 0.5, y + 0.5  # pixel centres to the continuous coordinates of boxes
        if key in ("excavator", "truck_crane"):
            xyxy.append((x - 20, y - 0.05, x + 20, y + 0.05))
        else:
            xyxy.append((x - 10, y - 10, x + 10, y + 10))
        conf.append(score)
        cls.append(NAMES.index(key))
    dets = Detections(np.array(xyxy, dtype=np.float32).reshape(-1, 4), np.array(conf),
                      np.array(cls), NAMES)
    return Observation(name, pose, error, 640, 480, dets)


def near_side(pose: CameraPose, key: str, target: tuple[float, float, float]
              ) -> tuple[float, float, float]:
    """The near edge of a machine standing at ``target``: half its class's footprint depth
    towards the camera (what the foot of its box shows)."""
    cam = SCENE.to_enu(pose.lat, pose.lon, 0.0)[0, :2]
    away = np.asarray(target[:2]) - cam
    away /= np.linalg.norm(away)
    e, n = np.asarray(target[:2]) - BY_KEY[key].footprint_half_depth_m * away
    return float(e), float(n), target[2]


NEST = (0.0, 0.0, GROUND + 35.0)  # on T2's axis, 35 m up


def test_defect_on_a_tower_merges_across_photos_best_view_first():
    cap = (300.0, -8.0, GROUND + 30.0)  # 8 m out on T3's arm (the line runs east)
    photos = [
        observation("a.jpg", camera(0.0, -60.0, 60.0, NEST), [("bird_nest", NEST, 0.7)]),
        observation("b.jpg", camera(40.0, -50.0, 45.0, NEST, roll=1.5),
                    [("bird_nest", NEST, 0.9)]),
        observation("c.jpg", camera(280.0, -70.0, 55.0, cap),
                    [("insulator_missing_cap", cap, 0.6)]),
    ]
    defects = locate_flight(photos, ledger(), GeoConfig())
    assert len(defects) == 2
    nest = next(d for d in defects if d.class_key == "bird_nest")
    t2 = ledger().towers[1]
    assert (nest.placement, nest.line, nest.tower, nest.span) == ("tower", "L1", "T2", None)
    assert horizontal_distance(nest, t2) < 0.05  # on the axis, where it is
    assert nest.alt == pytest.approx(GROUND + 35.0, abs=0.5)
    assert [e.image_id for e in nest.evidence] == ["b.jpg", "a.jpg"]
    assert nest.confidence == pytest.approx(0.9)
    assert nest.severity == "serious" and nest.name_zh == "鸟巢"
    assert all(e.placement.tower_distance_m < 0.5 for e in nest.evidence)
    cap_defect = next(d for d in defects if d.class_key == "insulator_missing_cap")
    assert cap_defect.tower == "T3"
    # where its ray crosses T3's cross-arm plane (at 17°: the weak pull to the axis moves it
    # 12 cm), not on the axis 8 m away
    lat, lon, h = geo(*cap)
    assert horizontal_distance(cap_defect, _at(lat, lon)) < 0.2
    assert cap_defect.alt == pytest.approx(h, abs=0.2)


def test_hazards_get_their_distance_to_the_line_and_are_escalated():
    near, middle, far = (-150.0, 8.0, GROUND), (-150.0, -25.0, GROUND), (-100.0, 100.0, GROUND)
    cam = camera(-150.0, -80.0, 70.0, (-150.0, 10.0, GROUND))
    photos = [
        observation("a.jpg", cam, [("excavator", near, 0.8), ("excavator", middle, 0.7),
                                   ("excavator", far, 0.6)]),
        observation("b.jpg", camera(-120.0, -60.0, 50.0, near), [("excavator", near, 0.5)]),
    ]
    defects = locate_flight(photos, ledger(), GeoConfig())
    assert len(defects) == 3
    by_distance = sorted(defects, key=lambda d: d.distance_to_line_m or 0)
    expected = [(8.0, "critical", 2), (25.0, "serious", 1), (100.0, "general", 1)]
    for d, (metres, grade, sightings) in zip(by_distance, expected, strict=True):
        assert d.distance_to_line_m == pytest.approx(metres, abs=0.5)
        assert d.severity == grade
        assert len(d.evidence) == sightings
        assert (d.line, d.span, d.placement) == ("L1", "T1-T2", "ground")
        assert d.uncertainty_m is not None and d.uncertainty_m > 0
    lat, lon, _ = geo(*near)
    assert by_distance[0].lat == pytest.approx(lat, abs=2e-6)
    assert by_distance[0].lon == pytest.approx(lon, abs=2e-6)
    # thresholds are configurable
    lenient = locate_flight(photos, ledger(), GeoConfig(hazard_critical_m=5, hazard_serious_m=9))
    assert sorted(d.severity for d in lenient) == ["general", "general", "serious"]


def test_conductor_object_is_placed_on_its_span():
    target = (150.0, 0.0, GROUND + 28.0)
    pose = camera(140.0, -70.0, 50.0, target)
    defects = locate_flight([observation("a.jpg", pose, [("foreign_object", target, 0.9)])],
                            ledger(), GeoConfig())
    (d,) = defects
    assert (d.placement, d.line, d.span, d.tower) == ("span", "L1", "T2-T3", None)
    lat, lon, h = geo(*target)
    assert d.lat == pytest.approx(lat, abs=1e-6) and d.lon == pytest.approx(lon, abs=1e-6)
    assert d.alt == pytest.approx(h, abs=0.3)
    assert d.severity == "critical"


def test_components_are_left_out_unless_asked_for():
    photo = observation("a.jpg", camera(0.0, -60.0, 60.0, NEST), [("insulator", NEST, 0.9)])
    assert locate_flight([photo], ledger(), GeoConfig()) == []
    (d,) = locate_flight([photo], ledger(), GeoConfig(include_components=True))
    assert d.class_key == "insulator" and d.severity is None and d.tower == "T2"


def test_photos_without_pose_keep_their_detections():
    photo = observation("nogps.jpg", None, [("bird_nest", (100.0, 100.0), 0.8)],
                        error="no GPS position")
    (d,) = locate_flight([photo], ledger(), GeoConfig())
    assert d.lat is None and d.lon is None and d.placement == "none"
    assert d.geo_reason == "no GPS position"
    assert d.evidence[0].xyxy == (90.5, 90.5, 110.5, 110.5)


def test_line_objects_without_ledger_go_to_the_ground_with_a_note():
    photo = observation("a.jpg", camera(0.0, -60.0, 60.0, NEST), [("bird_nest", NEST, 0.8)])
    (d,) = locate_flight([photo], None, GeoConfig())
    assert d.placement == "ground" and d.tower is None
    assert "no tower ledger" in (d.geo_reason or "")
    # the ray through the nest meets the ground beyond the tower
    assert d.lat is not None and d.lat > LAT0


def test_line_objects_far_from_every_tower_go_to_the_ground():
    target = (-150.0, 60.0, GROUND + 10.0)  # a "nest" in a tree between spans, 60 m off-line
    photo = observation("a.jpg", camera(-150.0, -20.0, 40.0, target), [("bird_nest", target, 0.8)])
    (d,) = locate_flight([photo], ledger(), GeoConfig())
    assert d.placement == "ground" and "no ledger tower or span" in (d.geo_reason or "")


def test_distinct_objects_stay_distinct_and_one_object_merges():
    a, b = (-200.0, 40.0, GROUND), (-100.0, 40.0, GROUND)
    cam1 = camera(-150.0, -60.0, 80.0, (-150.0, 40.0, GROUND))
    cam2 = camera(-160.0, -40.0, 60.0, (-150.0, 40.0, GROUND))
    photos = [observation("1.jpg", cam1, [("truck_crane", a, 0.9), ("truck_crane", b, 0.8)]),
              observation("2.jpg", cam2, [("truck_crane", a, 0.7)])]
    defects = locate_flight(photos, ledger(), GeoConfig())
    assert sorted(len(d.evidence) for d in defects) == [1, 2]
    # however far merging may reach, two cranes in one photo are two cranes
    assert len(locate_flight(photos, ledger(), GeoConfig(merge_distance_m=200))) == 2
    only_a = [photos[1], observation("3.jpg", cam1, [("truck_crane", b, 0.8)])]
    assert len(locate_flight(only_a, ledger(), GeoConfig(merge_distance_m=200))) == 1


def test_ground_modes_and_their_failures():
    pose = make_pose(abs_alt=150.0, rel_alt=100.0, pitch=-90.0)
    centre = [(319.5, 239.5)]
    (takeoff,) = locate_pixels(pose, centre, GeoConfig())
    assert takeoff.alt == pytest.approx(50.0) and takeoff.range_m == pytest.approx(100.0)
    (constant,) = locate_pixels(pose, centre, GeoConfig(ground_alt=120.0))
    assert constant.alt == pytest.approx(120.0) and constant.range_m == pytest.approx(30.0)
    (below,) = locate_pixels(pose, centre, GeoConfig(ground_alt=200.0))
    assert below.lat is None and "below the ground" in (below.reason or "")
    (no_rel,) = locate_pixels(make_pose(rel_alt=None), centre, GeoConfig())
    assert no_rel.lat is None and "RelativeAltitude" in (no_rel.reason or "")
    (no_abs,) = locate_pixels(make_pose(abs_alt=None), centre, GeoConfig(ground_alt=10.0))
    assert no_abs.lat is None and "absolute altitude" in (no_abs.reason or "")
    # relative altitude alone is enough over take-off ground
    (rel_only,) = locate_pixels(make_pose(abs_alt=None, rel_alt=80.0), centre, GeoConfig())
    assert rel_only.range_m == pytest.approx(80.0) and rel_only.alt == pytest.approx(0, abs=1e-6)


def test_far_ray_is_out_of_range():
    pose = make_pose(pitch=-30.0, rel_alt=20.0, abs_alt=70.0, fx=300.0, fy=300.0)
    # 162 px above the centre at f = 300 px: 28.4° above the axis, 1.6° below the horizon, 716 m
    (p,) = locate_pixels(pose, [(319.5, 77.5)], GeoConfig(max_range_m=500))
    assert p.lat is None and "within 500 m" in (p.reason or "")


def _write_dem(path, elevation_of_lon, size=200, span_deg=0.01):
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    res = span_deg / size
    west, north = LON0 - span_deg / 2, LAT0 + span_deg / 2
    lons = west + (np.arange(size) + 0.5) * res
    transform = Affine(res, 0.0, west, 0.0, -res, north)
    grid = np.tile(elevation_of_lon(lons), (size, 1)).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1,
                       dtype="float32", crs="EPSG:4326",
                       transform=transform) as ds:
        ds.write(grid, 1)


def test_dem_ground(tmp_path):
    metres_per_deg = float(SCENE.to_enu(LAT0, LON0 + 0.001, 0.0)[0, 0] / 0.001)
    flat, tilted = tmp_path / "flat.tif", tmp_path / "tilted.tif"
    _write_dem(flat, lambda lon: np.full_like(lon, GROUND))
    _write_dem(tilted, lambda lon: GROUND + 0.2 * (lon - LON0) * metres_per_deg)
    pose = make_pose(lat=LAT0, lon=LON0, abs_alt=GROUND + 100, rel_alt=None, yaw=90.0,
                     pitch=-45.0)
    pixel = [(319.5, 239.5)]
    (on_flat,) = locate_pixels(pose, pixel, GeoConfig(dem_path=flat))
    (constant,) = locate_pixels(pose, pixel, GeoConfig(ground_alt=GROUND))
    assert on_flat.lat == pytest.approx(constant.lat, abs=1e-8)
    assert on_flat.lon == pytest.approx(constant.lon, abs=1e-8)
    # ground rising 0.2 m per metre eastwards, camera looking east 45° down from 100 m:
    # 100 - t = 0.2 t  ->  the ray meets it 83.3 m east, 16.7 m up
    (on_slope,) = locate_pixels(pose, pixel, GeoConfig(dem_path=tilted))
    east = SCENE.to_enu(on_slope.lat, on_slope.lon, 0.0)[0, 0]
    assert east == pytest.approx(100 / 1.2, abs=0.05)
    assert on_slope.alt == pytest.approx(GROUND + 0.2 * 100 / 1.2, abs=0.05)
    # looking beyond the DEM's edge
    (off,) = locate_pixels(make_pose(lat=LAT0, lon=LON0, abs_alt=GROUND + 100, yaw=90.0,
                                     pitch=-5.0), pixel, GeoConfig(dem_path=flat))
    assert off.lat is None and "leaves the ground model" in (off.reason or "")


def test_dem_errors(tmp_path, monkeypatch):
    not_tiff = tmp_path / "dem.tif"
    not_tiff.write_bytes(b"not a tiff")
    pytest.importorskip("rasterio")
    with pytest.raises(GroundError, match="cannot read DEM"):
        locate_flight([], None, GeoConfig(dem_path=not_tiff))
    monkeypatch.setitem(sys.modules, "rasterio", None)
    with pytest.raises(GroundError, match="geo-dem"):
        locate_flight([], None, GeoConfig(dem_path=not_tiff))


@st.composite
def ground_sightings(draw):
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        key = draw(st.sampled_from(["excavator", "truck_crane", "bird_nest"]))
        e, nn = draw(st.floats(-200, 200)), draw(st.floats(-200, 200))
        lat, lon, _ = geo(e, nn, GROUND)
        conf = draw(st.floats(0.05, 1.0))
        placement = Placement(lat, lon, GROUND, "ground", uncertainty_m=1.0)
        out.append((key, Evidence(f"{i}.jpg", (0.0, 0.0, 10.0, 10.0), conf, (5.0, 10.0),
                                  placement), "egm96"))
    return out


@settings(max_examples=80, deadline=None)
@given(ground_sightings(), st.floats(1.0, 100.0))
def test_merging_keeps_every_sighting_and_orders_best_first(sightings, distance):
    config = GeoConfig(merge_distance_m=distance)
    defects = merge_evidence(sightings, ledger(), config)
    assert sum(len(d.evidence) for d in defects) == len(sightings)
    ids = [d.defect_id for d in defects]
    assert len(set(ids)) == len(ids)
    by_image = {ev.image_id: key for key, ev, _ in sightings}
    for d in defects:
        assert {by_image[e.image_id] for e in d.evidence} == {d.class_key}
        scores = [e.confidence for e in d.evidence]
        assert scores == sorted(scores, reverse=True)
        best = d.evidence[0].placement
        seed = SCENE.to_enu(best.lat, best.lon, 0.0)[0, :2]
        for e in d.evidence:
            p = SCENE.to_enu(e.placement.lat, e.placement.lon, 0.0)[0, :2]
            assert np.linalg.norm(p - seed) <= distance + 1e-6
    # one defect per object: two defects of a class are further apart than the merge distance
    seeds = [(d.class_key, SCENE.to_enu(d.evidence[0].placement.lat,
                                        d.evidence[0].placement.lon, 0.0)[0, :2])
             for d in defects]
    for i, (key_a, a) in enumerate(seeds):
        for key_b, b in seeds[i + 1:]:
            assert key_a != key_b or np.linalg.norm(a - b) > distance - 1e-6


def test_boxes_from_a_smaller_copy_of_the_photo_are_scaled_to_the_pose():
    target = (-150.0, 8.0, GROUND)
    pose = camera(-150.0, -80.0, 70.0, target)
    full = observation("a.jpg", pose, [("excavator", target, 0.8)])
    half_boxes = full.detections.scaled(0.5)
    half = Observation("a.jpg", pose, None, 320, 240, half_boxes)
    (a,) = locate_flight([full], ledger(), GeoConfig())
    (b,) = locate_flight([half], ledger(), GeoConfig())
    assert horizontal_distance(a, b) < 0.5


def horizontal_distance(a, b) -> float:
    pa = SCENE.to_enu(a.lat, a.lon, 0.0)[0, :2]
    pb = SCENE.to_enu(b.lat, b.lon, 0.0)[0, :2]
    return float(np.linalg.norm(pa - pb))


def test_conductor_object_beside_the_centre_line_is_triangulated():
    """A bag hanging on the outer phase, 8 m beside the span's centre plane: one oblique view
    misplaces it along the span; two views from both ends fix it; a steep view joins them."""
    target = (150.0, -8.0, GROUND + 25.0)
    one = observation("a.jpg", camera(90.0, -60.0, 40.0, target), [("foreign_object", target, 0.9)])
    two = observation("b.jpg", camera(220.0, -50.0, 45.0, target), [("foreign_object", target, 0.8)])
    steep = observation("c.jpg", camera(152.0, -14.0, 70.0, target),
                        [("foreign_object", target, 0.7)])
    lat, lon, h = geo(*target)
    (single,) = locate_flight([one], ledger(), GeoConfig())
    assert single.span == "T2-T3" and horizontal_distance(single, _at(lat, lon)) > 5
    (merged,) = locate_flight([one, two, steep], ledger(), GeoConfig())
    assert merged.span == "T2-T3" and len(merged.evidence) == 3
    assert horizontal_distance(merged, _at(lat, lon)) < 0.3
    assert merged.alt == pytest.approx(h, abs=0.3)
    assert merged.uncertainty_m is not None and merged.uncertainty_m > 0.5


def _at(lat: float, lon: float):
    from types import SimpleNamespace

    return SimpleNamespace(lat=lat, lon=lon)


def _one_box(pose: CameraPose, key: str, xyxy: tuple[float, float, float, float],
             name: str = "a.jpg", conf: float = 0.8) -> Observation:
    dets = Detections(np.array([xyxy], dtype=np.float32), np.array([conf]),
                      np.array([NAMES.index(key)]), NAMES)
    return Observation(name, pose, None, pose.width, pose.height, dets)


def _ground_distance(pose: CameraPose, a: tuple[float, float], b: tuple[float, float]) -> float:
    pa, pb = locate_pixels(pose, [a, b], GeoConfig())
    return horizontal_distance(pa, pb)


def test_ground_objects_are_anchored_at_their_footprint():
    """The foot of a machine's box is the side facing the nadir point (the image of straight
    down); its base, what is placed, is half the class's footprint depth further from the
    camera (2.5 m for an excavator)."""
    box = (300.0, 200.0, 340.0, 280.0)  # 80 px tall, centre (320, 240), bottom 280
    nadir = make_pose(pitch=-90.0)  # 100 m up, f = 500 px: 0.2 m a pixel
    (ev,) = [e for _, e in place_detections(_one_box(nadir, "excavator", box), None, GeoConfig())]
    assert ev.pixel == pytest.approx((319.5, 239.5))  # over it: the point straight down
    # straight down, the box in the lower right: the foot is on the side towards the image
    # centre (where the line from the box centre to the nadir point leaves the box), not the
    # bottom edge, where a mast's top leans out
    corner = (400.0, 330.0, 440.0, 410.0)
    (ev,) = [e for _, e in place_detections(_one_box(nadir, "excavator", corner), None,
                                            GeoConfig())]
    foot = (399.5, 369.5 - 130.0 * 0.2)  # the left edge, 0.2 of the way to the nadir point
    assert 399.5 < ev.pixel[0] < 419.5 and 329.5 < ev.pixel[1] < 369.5
    assert _ground_distance(nadir, foot, ev.pixel) == pytest.approx(2.5, abs=0.01)
    # ...but steep (73° down), an overhang (a jib) can be that side: fixed less well along
    ee, en, nn = ev.placement.footprint_cov
    assert np.linalg.eigvalsh([[ee, en], [en, nn]])[0] > 3.0**2
    # oblique: the foot is the bottom edge, the base 2.5 m beyond it
    oblique = make_pose(pitch=-20.0)
    (ev,) = [e for _, e in place_detections(_one_box(oblique, "excavator", box), None,
                                            GeoConfig())]
    assert 250.0 < ev.pixel[1] < 279.5 and ev.pixel[0] == pytest.approx(319.5, abs=0.5)
    assert _ground_distance(oblique, (319.5, 279.5), ev.pixel) == pytest.approx(2.5, abs=0.05)
    # the view fixes it along the view (2 m) better than across (a 40 px wide box, ~28 m at
    # ~290 m: as if the base could be anywhere across the box)
    ee, en, nn = ev.placement.footprint_cov
    assert math.sqrt(nn) == pytest.approx(2.0, abs=0.05)  # yaw 0: the view is north
    assert math.sqrt(ee) > 5.0 and en == pytest.approx(0.0, abs=1e-6)
    (nest,) = [e for _, e in place_detections(_one_box(oblique, "bird_nest", box), None,
                                              GeoConfig())]
    assert nest.pixel == (319.5, 239.5)  # line objects: the box centre
    assert nest.placement.footprint_cov is None


def test_boxes_cut_by_the_border_come_last_and_do_not_position():
    target = (-150.0, 30.0, GROUND)
    pose = camera(-150.0, -60.0, 60.0, target)
    x, y = pixel_of(pose, near_side(pose, "excavator", target))
    good = _one_box(pose, "excavator", (x - 10, y + 0.45, x + 10, y + 0.55), "good.jpg", 0.5)
    cut = _one_box(pose, "excavator", (0.0, y - 40, x + 10, y + 0.55), "cut.jpg", 0.95)
    # a cut box's anchor is far off: merged here only because the distance allows it
    (d,) = locate_flight([cut, good], ledger(), GeoConfig(merge_distance_m=100))
    assert [e.image_id for e in d.evidence] == ["good.jpg", "cut.jpg"]
    assert [e.clipped for e in d.evidence] == [False, True]
    lat, lon, _ = geo(*target)
    assert horizontal_distance(d, _at(lat, lon)) < 0.3
    assert d.evidence[1].to_json()["clipped"] is True


def test_two_conductor_objects_on_one_span_stay_two():
    """Bags 20 m apart on one span, each seen from two cameras (one camera sees both): the rays
    of each meet, the rays of different bags do not, so two defects, each triangulated."""
    bag1, bag2 = (140.0, -8.0, GROUND + 25.0), (160.0, -8.0, GROUND + 25.0)
    cam_a = camera(100.0, -60.0, 40.0, (150.0, -8.0, GROUND + 25.0))
    cam_b = camera(200.0, -50.0, 45.0, bag1)
    cam_c = camera(110.0, -40.0, 45.0, bag2)
    photos = [
        observation("a.jpg", cam_a, [("foreign_object", bag1, 0.9), ("foreign_object", bag2, 0.8)]),
        observation("b.jpg", cam_b, [("foreign_object", bag1, 0.7)]),
        observation("c.jpg", cam_c, [("foreign_object", bag2, 0.6)]),
    ]
    defects = locate_flight(photos, ledger(), GeoConfig())
    assert len(defects) == 2
    for d in defects:
        assert len(d.evidence) == 2 and d.span == "T2-T3"
        truth = bag1 if "b.jpg" in {e.image_id for e in d.evidence} else bag2
        lat, lon, _ = geo(*truth)
        assert horizontal_distance(d, _at(lat, lon)) < 0.3


def test_two_nests_on_one_tower_stay_two_each_on_its_arm():
    """Nests at both arm roots of T2 (4 m apart across the line), each seen from two sides:
    their rays meet in T2's cross-arm plane at two points, so two defects, each where it is.
    (A tower-wide rule made them one defect between the two.)"""
    left, right = (0.0, 2.0, GROUND + 30.0), (0.0, -2.0, GROUND + 30.0)
    photos = [
        observation("a.jpg", camera(-40.0, 30.0, 50.0, left), [("bird_nest", left, 0.9)]),
        observation("b.jpg", camera(35.0, 25.0, 45.0, left), [("bird_nest", left, 0.8)]),
        observation("c.jpg", camera(-30.0, -45.0, 55.0, right), [("bird_nest", right, 0.7)]),
        observation("d.jpg", camera(45.0, -30.0, 40.0, right), [("bird_nest", right, 0.6)]),
    ]
    defects = locate_flight(photos, ledger(), GeoConfig())
    assert len(defects) == 2
    for d in defects:
        assert (d.placement, d.tower, len(d.evidence)) == ("tower", "T2", 2)
        truth = left if "a.jpg" in {e.image_id for e in d.evidence} else right
        lat, lon, h = geo(*truth)
        assert horizontal_distance(d, _at(lat, lon)) < 0.1
        assert d.alt == pytest.approx(h, abs=0.3)
        assert d.uncertainty_m is not None and d.uncertainty_m > 0
    # merged as one tower-wide defect when the rays are allowed to miss by more than 4 m
    assert len(locate_flight(photos, ledger(), GeoConfig(tower_merge_miss_m=5.0))) == 1


def test_a_stray_view_joins_the_object_its_ray_passes():
    """A bag on span T2-T3 seen twice from beside the span, and once from near T3 at a flat
    angle whose ray passes within 25 m of T3's axis first (so that view alone is put on T3):
    its ray meets the other two at the bag, so it is one defect, on the span."""
    bag = (150.0, -8.0, GROUND + 25.0)
    photos = [
        observation("a.jpg", camera(90.0, -60.0, 40.0, bag), [("foreign_object", bag, 0.9)]),
        observation("b.jpg", camera(220.0, -50.0, 45.0, bag), [("foreign_object", bag, 0.8)]),
        observation("c.jpg", camera(310.0, 5.0, 30.0, bag), [("foreign_object", bag, 0.95)]),
    ]
    (alone,) = locate_flight(photos[2:], ledger(), GeoConfig())
    assert alone.placement == "tower" and alone.tower == "T3"
    (d,) = locate_flight(photos, ledger(), GeoConfig())
    assert (d.placement, d.span, d.tower, len(d.evidence)) == ("span", "T2-T3", None, 3)
    assert d.evidence[0].image_id == "c.jpg"  # the best view, though it named another site
    lat, lon, _ = geo(*bag)
    assert horizontal_distance(d, _at(lat, lon)) < 0.3


def test_a_ray_leading_away_from_a_tower_is_not_put_on_it():
    """A camera 15 m from T2's axis looking away from it, flat, at a bag out on the span beside
    the centre plane: the ray never crosses the span's curtain and is nearest the axis at the
    camera itself, which says nothing about the tower (it was put on T2, 25 m away)."""
    bag = (40.0, -8.0, GROUND + 22.0)
    pose = camera(15.0, -3.0, 30.0, bag)
    (d,) = locate_flight([observation("a.jpg", pose, [("foreign_object", bag, 0.9)])],
                         ledger(), GeoConfig())
    assert d.tower is None and d.placement == "ground"


def _wide_box(pose: CameraPose, key: str, estimate: tuple[float, float, float], name: str,
              width_px: float = 300.0) -> Observation:
    """A flat box ``width_px`` wide whose footprint anchor is ``estimate`` (a crane with its
    boom slewed to one side: wide, and its centre off the base)."""
    x, y = pixel_of(pose, near_side(pose, key, estimate))
    x, y = x + 0.5, y + 0.5
    return _one_box(pose, key, (x - width_px / 2, y - 0.05, x + width_px / 2, y + 0.05), name)


def test_wide_machine_seen_from_two_sides_is_one_defect_at_its_base():
    """A truck crane with its boom out, seen from the south and from the west: each view's
    estimate is 12 m off across the view (17 m apart, beyond merge_distance_m) at the right
    range. Compared by their uncertainty they are one crane, placed where the views cross; two
    cranes 60 m apart, each seen from both sides, stay two."""
    base = (-150.0, 40.0, GROUND)
    south, west = camera(-150.0, -40.0, 60.0, base), camera(-230.0, 40.0, 60.0, base)

    def swung(cam_e: float, cam_n: float, metres: float) -> tuple[float, float, float]:
        a = metres / 80.0  # 12 m round the camera, 80 m away: same range, other bearing
        e, n = base[0] - cam_e, base[1] - cam_n
        return (cam_e + e * math.cos(a) + n * math.sin(a),
                cam_n - e * math.sin(a) + n * math.cos(a), GROUND)

    photos = [_wide_box(south, "truck_crane", swung(-150.0, -40.0, 12.0), "s.jpg"),
              _wide_box(west, "truck_crane", swung(-230.0, 40.0, 12.0), "w.jpg")]
    (d,) = locate_flight(photos, ledger(), GeoConfig())
    assert len(d.evidence) == 2
    lat, lon, _ = geo(*base)
    assert horizontal_distance(d, _at(lat, lon)) < 1.5
    assert d.uncertainty_m is not None and d.uncertainty_m < 6.0  # altitude, angles, fusion
    other = (-90.0, 40.0, GROUND)
    more = [_wide_box(camera(-90.0, -40.0, 60.0, other), "truck_crane", other, "s2.jpg"),
            _wide_box(camera(-170.0, 40.0, 60.0, other), "truck_crane", other, "w2.jpg")]
    exact = [_wide_box(south, "truck_crane", base, "s.jpg"),
             _wide_box(west, "truck_crane", base, "w.jpg")]
    two = locate_flight([*exact, *more], ledger(), GeoConfig())
    assert sorted(len(t.evidence) for t in two) == [2, 2]


def test_views_straight_down_beside_the_arm_plane_are_one_object_where_the_rays_are():
    """Three photos straight down at a nest 6 m along the line from T2's axis (on the body's
    bracing, not in the arm plane): the rays never reach the plane, so each misses it by 6 m
    alone and no more together — one defect, placed on the rays, not 6 m off in the plane."""
    nest = (6.0, 0.5, GROUND + 30.0)
    photos = [observation(f"{i}.jpg", camera(6.0 + 0.05 * i, 0.45, 40.0, nest),
                          [("bird_nest", nest, 0.9 - 0.1 * i)]) for i in range(3)]
    (d,) = locate_flight(photos, ledger(), GeoConfig())
    assert (d.tower, len(d.evidence)) == ("T2", 3)
    lat, lon, _ = geo(*nest)
    assert horizontal_distance(d, _at(lat, lon)) < 0.3  # rays 0.3-0.6° off vertical


def test_one_machine_under_two_names_is_one_hazard_of_the_voted_class():
    """An excavator seen from three sides, once called a truck crane: one hazard, an
    excavator (the views' summed confidence), each view keeping the class it was given. In the
    photo where it got both names the two boxes are one box; an excavator beside a truck crane,
    each with its own box in the same photos, stays two machines."""
    base = (-150.0, 40.0, GROUND)
    poses = {"s.jpg": camera(-150.0, -40.0, 60.0, base), "w.jpg": camera(-230.0, 40.0, 60.0, base),
             "e.jpg": camera(-70.0, 40.0, 60.0, base)}
    views = [observation("s.jpg", poses["s.jpg"], [("excavator", base, 0.8)]),
             observation("w.jpg", poses["w.jpg"], [("excavator", base, 0.6)]),
             observation("e.jpg", poses["e.jpg"], [("truck_crane", base, 0.7)])]
    (d,) = locate_flight(views, ledger(), GeoConfig())
    assert d.class_key == "excavator" and len(d.evidence) == 3
    assert sorted(e.class_key for e in d.evidence) == ["excavator", "excavator", "truck_crane"]
    assert [e["class"] for e in d.properties()["evidence"]].count("truck_crane") == 1
    lat, lon, _ = geo(*base)
    assert horizontal_distance(d, _at(lat, lon)) < 1.5
    # two names for one box in one photo (class-aware NMS kept both)
    box = views[0].detections.xyxy[0]
    both = replace(views[0], detections=Detections(
        np.array([box, box]), np.array([0.8, 0.5]),
        np.array([NAMES.index("excavator"), NAMES.index("truck_crane")]), NAMES))
    (d,) = locate_flight([both, views[1]], ledger(), GeoConfig())
    assert d.class_key == "excavator" and len(d.evidence) == 3
    # two machines 12 m apart, each with its own box in both photos: two hazards
    crane = (-150.0, 52.0, GROUND)
    pair = [observation(n, poses[n], [("excavator", base, 0.8), ("truck_crane", crane, 0.7)])
            for n in ("s.jpg", "w.jpg")]
    two = locate_flight(pair, ledger(), GeoConfig())
    assert sorted(t.class_key for t in two) == ["excavator", "truck_crane"]
    assert all(len(t.evidence) == 2 for t in two)
