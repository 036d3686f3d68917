"""``sample-flight --revisit``: the first flight's scene changed as recorded, and a flight plan
that leaves the skipped part out (the service's view of it: tests/service/test_revisit.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from linepatrol import taxonomy
from linepatrol.geo.locate import GeoConfig
from linepatrol.geo.merge import escalate
from linepatrol_datasets.synth.backgrounds import GroundSource
from linepatrol_datasets.synth.flight import (
    FLIGHT_OPTIONS,
    REVISIT_STREAM,
    flight_targets,
    sample_flight,
)
from linepatrol_datasets.synth.revisit import MAX_MOVE_M, Revisit, RevisitError, revisit_scene
from linepatrol_datasets.synth.scene import Scene, build_scene


def _scenes(seed: int) -> tuple[Scene, Scene, Revisit]:
    rng = np.random.default_rng([seed, 0xF11])
    scene = build_scene(rng, GroundSource(None, seed).tile(rng), FLIGHT_OPTIONS)
    before = {o.instance_id: o.anchor.copy() for o in scene.objects}
    again, changes = revisit_scene(scene, np.random.default_rng([seed, 0xF11, REVISIT_STREAM]))
    assert {o.instance_id: o.anchor.tolist() for o in scene.objects} == {
        i: a.tolist() for i, a in before.items()}  # the first flight's scene is untouched
    return scene, again, changes


@pytest.mark.parametrize("seed", [0, 3])
def test_the_revisit_changes_the_scene_as_it_records(seed: int) -> None:
    first, again, changes = _scenes(seed)
    old = {o.instance_id: o for o in first.objects}
    new = {o.instance_id: o for o in again.objects}
    assert set(old) - set(new) == {changes.fixed}
    assert set(new) - set(old) == {changes.added}
    cap = old[changes.fixed]
    assert cap.key == "insulator_missing_cap" and cap.tower == changes.fixed_tower
    grown = [i for i in new if i in old and new[i].mesh.triangle_count != old[i].mesh.triangle_count]
    (string,) = grown  # the repaired string: its discs back, and the missing one
    assert new[string].key == "insulator" and new[string].tower == cap.tower
    assert new[string].mesh.triangle_count > old[string].mesh.triangle_count \
        + cap.mesh.triangle_count
    nest = new[changes.added]
    assert nest.key == "bird_nest" and nest.tower == changes.added_tower
    assert nest.tower not in changes.skipped_towers

    moved = changes.moved
    shift = new[moved.instance_id].anchor - old[moved.instance_id].anchor
    assert shift[2] == 0 and np.hypot(*shift[:2]) == pytest.approx(moved.moved_m)
    assert moved.moved_m <= MAX_MOVE_M and moved.after_m < moved.limit_m < moved.before_m
    geo = GeoConfig()
    grade = [escalate(taxonomy.severity_of(moved.key), d, geo)
             for d in (moved.before_m, moved.after_m)]
    assert grade[0] is not None and grade[1] is not None and grade[1].rank < grade[0].rank
    unchanged = set(old) - {changes.fixed, moved.instance_id, string}
    assert all(np.array_equal(old[i].anchor, new[i].anchor) for i in unchanged)

    ends = (first.towers[0].number, first.towers[-1].number)
    (skipped,) = changes.skipped_towers
    assert skipped in ends and len(changes.skipped_spans) == 1
    assert skipped in changes.skipped_spans[0].split("-")


def test_the_revisit_plan_leaves_the_skipped_part_out_and_checks_the_repair() -> None:
    _, again, changes = _scenes(3)
    targets = flight_targets(again, 40, np.random.default_rng(1), changes)
    assert len(targets) == 40
    skipped = next(t for t in again.towers if t.number in changes.skipped_towers)
    flown = [t for t in again.towers if t is not skipped]
    # every aim is nearer a flown tower than the skipped one (the skipped span's objects too)
    for at, _ in targets:
        assert min(np.linalg.norm(at[:2] - t.foot[:2]) for t in flown) \
            < np.linalg.norm(at[:2] - skipped.foot[:2])
    assert any(np.allclose(at, changes.fixed_at) and close for at, close in targets)


def test_a_scene_without_a_machine_to_move_is_refused() -> None:
    rng = np.random.default_rng([1, 0xF11])
    scene = build_scene(rng, GroundSource(None, 1).tile(rng), FLIGHT_OPTIONS)
    with pytest.raises(RevisitError, match="try another seed"):
        revisit_scene(scene, np.random.default_rng(0))


def test_the_revisit_flight_is_dated_later_and_records_its_changes(renderer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import piexif

    summary = sample_flight(tmp_path, photos=2, seed=0, size=(160, 120), backgrounds=None,
                            progress=False, renderer=renderer, revisit=True)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["revisit"] == summary["revisit"]
    assert set(truth["revisit"]) == {"fixed", "moved", "added", "skipped"}
    ids = {o["instance_id"] for o in truth["objects"]}
    assert truth["revisit"]["added"][0]["instance_id"] in ids
    assert truth["revisit"]["fixed"][0]["instance_id"] not in ids
    exif = piexif.load(str(tmp_path / "images" / "DJI_0001.JPG"))
    assert exif["Exif"][piexif.ExifIFD.DateTimeOriginal] == b"2026:04:29 09:00:00"
