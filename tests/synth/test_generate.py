"""The generator end to end at a tiny size: determinism, metadata round trip, label geometry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from linepatrol.geo.camera import Intrinsics as GeoIntrinsics
from linepatrol.geo.camera import project_world_to_pixel
from linepatrol.geo.geodesy import LocalFrame
from linepatrol.geo.ledger import Ledger
from linepatrol.geo.pose import read_pose
from linepatrol.taxonomy import CLASSES
from linepatrol_datasets.synth.backgrounds import GroundSource
from linepatrol_datasets.synth.generate import generate_scenes, scene_for

SIZE = (320, 240)
SCENES = 3


@pytest.fixture(scope="module")
def generated(renderer, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("synth_a")
    generate_scenes(out, SCENES, seed=11, size=SIZE, backgrounds=None, views=2,
                    progress=False, renderer=renderer)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_same_bytes(generated: Path, renderer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    again = tmp_path / "again"
    generate_scenes(again, SCENES, seed=11, size=SIZE, backgrounds=None, views=2,
                    progress=False, renderer=renderer)
    first, second = _files(generated), _files(again)
    assert len(first) == SCENES * 2 * 2 + SCENES * 2 + 1  # images, labels; truth, ledgers; yaml
    assert first == second


def test_other_seed_other_scene(generated: Path, renderer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other"
    generate_scenes(other, 1, seed=12, size=SIZE, backgrounds=None, views=1, progress=False,
                    renderer=renderer)
    a = (generated / "images" / "scene000000_0.jpg").read_bytes()
    assert (other / "images" / "scene000000_0.jpg").read_bytes() != a


def _shots(root: Path):  # type: ignore[no-untyped-def]
    for truth_file in sorted((root / "truth").glob("*.json")):
        truth = json.loads(truth_file.read_text())
        for shot in truth["shots"]:
            yield truth_file.stem, truth, shot


def test_metadata_round_trips_through_the_geotagger(generated: Path) -> None:
    for _, truth, shot in _shots(generated):
        pose = read_pose(generated / shot["image"])
        o = truth["origin"]
        enu = LocalFrame(o["lat"], o["lon"], o["alt"]).to_enu(pose.lat, pose.lon, pose.abs_alt)
        np.testing.assert_allclose(enu[0], shot["enu"], atol=0.005)
        assert pose.altitude_datum == "ellipsoid"
        assert (pose.yaw, pose.pitch, pose.roll) == pytest.approx(
            (shot["yaw"], shot["pitch"], shot["roll"]), abs=1e-9)
        assert (pose.fx, pose.cx, pose.cy) == pytest.approx(
            (shot["fx"], shot["cx"], shot["cy"]), abs=1e-5)
        assert (pose.width, pose.height) == SIZE
        assert pose.make == "DJI" and pose.model == truth["camera"]["model"]


def test_yolo_labels_match_truth_and_taxonomy(generated: Path) -> None:
    names = {i: c.key for i, c in enumerate(CLASSES)}
    total = 0
    for _, _, shot in _shots(generated):
        label_file = generated / "labels" / (Path(shot["image"]).stem + ".txt")
        lines = label_file.read_text().splitlines()
        assert [names[int(line.split()[0])] for line in lines] == [
            lab["class"] for lab in shot["labels"]]
        for line, lab in zip(lines, shot["labels"], strict=True):
            cx, cy, w, h = (float(v) for v in line.split()[1:])
            x0, y0, x1, y1 = lab["xyxy"]
            assert cx * SIZE[0] == pytest.approx((x0 + x1) / 2, abs=1e-3)
            assert w * SIZE[0] == pytest.approx(x1 - x0, abs=1e-3)
            assert cy * SIZE[1] == pytest.approx((y0 + y1) / 2, abs=1e-3)
            assert h * SIZE[1] == pytest.approx(y1 - y0, abs=1e-3)
        total += len(lines)
    assert total > 0
    assert "names:" in (generated / "data.yaml").read_text()


def test_every_box_projects_from_its_world_object(generated: Path) -> None:
    """Each labelled box lies inside the projection of its object's 3D geometry through the
    pose read back from the JPEG (occlusion and the frame edge can only shrink it), and for
    most boxes it *is* that projection, to a pixel or two."""
    ground = GroundSource(None)
    tight = 0
    checked = 0
    scenes = {}
    for stem, truth, shot in _shots(generated):
        index = int(stem.removeprefix("scene"))
        if index not in scenes:
            scenes[index] = scene_for(11, index, ground)[0]
        scene = scenes[index]
        by_id = {o.instance_id: o for o in scene.objects}
        pose = read_pose(generated / shot["image"])
        o = truth["origin"]
        centre = LocalFrame(o["lat"], o["lon"], o["alt"]).to_enu(pose.lat, pose.lon,
                                                                  pose.abs_alt)[0]
        intr = GeoIntrinsics(pose.fx, pose.fy, pose.cx, pose.cy, pose.width, pose.height)
        for lab in shot["labels"]:
            obj = by_id[lab["instance_id"]]
            assert obj.key == lab["class"]
            uv = project_world_to_pixel(intr, pose.rotation, centre, obj.vertices) + 0.5
            uv = uv[np.all(np.isfinite(uv), axis=1)]
            proj = np.array([max(uv[:, 0].min(), 0), max(uv[:, 1].min(), 0),
                             min(uv[:, 0].max(), SIZE[0]), min(uv[:, 1].max(), SIZE[1])])
            x0, y0, x1, y1 = lab["xyxy"]
            tol = 1.0
            assert x0 >= proj[0] - tol and y0 >= proj[1] - tol, (lab, proj)
            assert x1 <= proj[2] + tol and y1 <= proj[3] + tol, (lab, proj)
            checked += 1
            tight += bool(np.all(np.abs(np.array([x0, y0, x1, y1]) - proj) <= 2.0))
    assert checked >= 5
    assert tight / checked >= 0.5, (tight, checked)


def test_ledger_reads_back_with_the_towers(generated: Path) -> None:
    for ledger_file in sorted((generated / "ledgers").glob("*.csv")):
        truth = json.loads((generated / "truth" / f"{ledger_file.stem}.json").read_text())
        ledger = Ledger.load(ledger_file)
        assert [t.tower for t in ledger.towers] == [t["tower"] for t in truth["towers"]]
        o = truth["origin"]
        frame = LocalFrame(o["lat"], o["lon"], o["alt"])
        for t, tt in zip(ledger.towers, truth["towers"], strict=True):
            assert t.ground_elev is not None
            enu = frame.to_enu(t.lat, t.lon, t.ground_elev)[0]
            np.testing.assert_allclose(enu, tt["enu"], atol=0.005)
        assert len(ledger.spans) == len(truth["towers"]) - 1
