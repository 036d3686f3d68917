"""A tiny sample flight: truth anchors sit inside their labels, and geotagging the labels
through the core puts the findings near the truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from linepatrol.geo.camera import Intrinsics, project_world_to_pixel
from linepatrol.geo.geodesy import LocalFrame
from linepatrol.geo.pose import read_pose
from linepatrol_datasets.synth.flight import sample_flight
from linepatrol_datasets.synth.truth_check import compare, oracle_findings

SIZE = (400, 300)


@pytest.fixture(scope="module")
def flight(renderer, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("flight")
    sample_flight(out, photos=8, seed=5, size=SIZE, backgrounds=None, progress=False,
                  renderer=renderer)
    return out


def test_flight_layout(flight: Path) -> None:
    truth = json.loads((flight / "truth.json").read_text())
    assert len(truth["shots"]) == 8
    assert len(list((flight / "images").glob("DJI_*.JPG"))) == 8
    assert len(truth["towers"]) == 3
    classes = {o["class"] for o in truth["objects"]}
    assert {"bird_nest", "foreign_object", "insulator_missing_cap", "damper",
            "damper_slipped"} <= classes
    assert len(classes & {"tower_crane", "truck_crane", "excavator", "pump_truck", "bulldozer",
                          "pile_driver"}) >= 1
    for o in truth["objects"]:
        assert (o["tower"] is None) != (o["span"] is None) or o["class"] == "smoke_fire"


def test_truth_positions_project_into_their_boxes(flight: Path) -> None:
    truth = json.loads((flight / "truth.json").read_text())
    o = truth["origin"]
    frame = LocalFrame(o["lat"], o["lon"], o["alt"])
    anchors = {obj["instance_id"]: np.asarray(obj["enu"]) for obj in truth["objects"]}
    checked = 0
    for shot in truth["shots"]:
        pose = read_pose(flight / shot["image"])
        centre = frame.to_enu(pose.lat, pose.lon, pose.abs_alt)[0]
        intr = Intrinsics(pose.fx, pose.fy, pose.cx, pose.cy, pose.width, pose.height)
        for lab in shot["labels"]:
            u, v = project_world_to_pixel(intr, pose.rotation, centre,
                                          anchors[lab["instance_id"]])[0] + 0.5
            if not (0 <= u < SIZE[0] and 0 <= v < SIZE[1]):
                continue  # the anchor itself is out of frame (a tower foot under the edge)
            x0, y0, x1, y1 = lab["xyxy"]
            assert x0 - 2 <= u <= x1 + 2 and y0 - 2 <= v <= y1 + 2, (lab, u, v)
            checked += 1
    assert checked >= 5


def test_labels_geotag_near_the_truth(flight: Path) -> None:
    result = compare(oracle_findings(flight), json.loads((flight / "truth.json").read_text()))
    assert result["findings"] >= 2
    assert result["unplaced"] == 0 and result["class_not_in_truth"] == 0
    # Loose bound: this checks the chain is wired (pose, ledger, frames), not the placement
    # model's accuracy, which the report measures on a full-size flight.
    assert result["median_m"] < 25.0


@pytest.mark.parametrize("seed", [0, 2])
def test_oracle_places_defects_and_hazards_within_2_m(renderer, tmp_path, seed) -> None:  # type: ignore[no-untyped-def]
    """Issue #8's bar on a small flight (30 photos, 400x300, ~3 s): the labels geotagged by
    the core land within 2 m of the truth (median over findings). Towers' cross-arm planes,
    rays meeting across photos and machines' bases are what get there: the axis, the box
    centre and a 15 m merge put these flights at 4.0 and 9.9 m."""
    sample_flight(tmp_path, photos=30, seed=seed, size=SIZE, backgrounds=None, progress=False,
                  renderer=renderer)
    result = compare(oracle_findings(tmp_path), json.loads((tmp_path / "truth.json").read_text()))
    assert result["findings"] >= 8 and result["unplaced"] == 0
    assert result["median_m"] <= 2.0, result
    on_towers = [v for k, v in result["per_class_median_m"].items()
                 if k in ("bird_nest", "insulator_missing_cap")]
    assert on_towers and max(on_towers) < 0.5, result  # on the arms, not the axis: decimetres


def test_compare_measures_horizontal_distance() -> None:
    frame = LocalFrame(30.0, 114.0, 20.0)
    truth = {"origin": {"lat": 30.0, "lon": 114.0, "alt": 20.0},
             "objects": [{"class": "excavator", "enu": [10.0, 5.0, 0.0]},
                         {"class": "excavator", "enu": [-40.0, 0.0, 0.0]}]}
    lat, lon, h = frame.to_geodetic([13.0, 9.0, 0.0])[0]
    found = [{"class": "excavator", "lat": lat, "lon": lon, "alt_m": h},
             {"class": "tower", "lat": lat, "lon": lon, "alt_m": h},
             {"class": "bird_nest", "lat": lat, "lon": lon, "alt_m": h},
             {"class": "excavator", "lat": None, "lon": None}]
    result = compare(found, truth)
    assert result["median_m"] == pytest.approx(5.0, abs=1e-3)
    assert result["class_not_in_truth"] == 1 and result["unplaced"] == 1


def test_geotagger_puts_a_projected_ground_point_back_on_it(flight: Path) -> None:
    """Pixel of a machine's true footprint centre, through the JPEG's metadata and the core's
    ground projection, lands on that centre: the whole geometric chain agrees to centimetres."""
    from linepatrol.geo.locate import GeoConfig, locate_pixels

    truth = json.loads((flight / "truth.json").read_text())
    o = truth["origin"]
    frame = LocalFrame(o["lat"], o["lon"], o["alt"])
    ground = [obj for obj in truth["objects"] if obj["height_above_ground"] == 0.0]
    errors = []
    for shot in truth["shots"]:
        pose = read_pose(flight / shot["image"])
        centre = frame.to_enu(pose.lat, pose.lon, pose.abs_alt)[0]
        intr = Intrinsics(pose.fx, pose.fy, pose.cx, pose.cy, pose.width, pose.height)
        for obj in ground:
            px = project_world_to_pixel(intr, pose.rotation, centre, obj["enu"])[0]
            if not (np.all(np.isfinite(px)) and 0 <= px[0] < SIZE[0] and 0 <= px[1] < SIZE[1]):
                continue
            placed = locate_pixels(pose, [px], GeoConfig())[0]
            assert placed.lat is not None, placed.reason
            enu = frame.to_enu(placed.lat, placed.lon, placed.alt)[0]
            errors.append(float(np.linalg.norm(enu[:2] - np.asarray(obj["enu"][:2]))))
    assert errors, "no machine in view"
    # Not zero: the scene's ground is the tangent plane at the origin, the geotagger's follows
    # the ellipsoid (a few millimetres apart here, which grazing rays stretch to centimetres).
    assert max(errors) < 0.25, errors
    assert float(np.median(errors)) < 0.05, errors
