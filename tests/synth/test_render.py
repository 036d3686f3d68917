"""Tiny real renders: the image agrees with the pinhole model the metadata describes."""

from __future__ import annotations

import numpy as np

from linepatrol_datasets.synth import camera, mesh, objects, towers
from linepatrol_datasets.synth.backgrounds import procedural_tile
from linepatrol_datasets.synth.labels import boxes_from_ids
from linepatrol_datasets.synth.render import Lighting, SceneGeometry


def _geometry(parts: list[tuple[mesh.Mesh, int]]) -> SceneGeometry:
    m = mesh.concat([p for p, _ in parts])
    ids = np.concatenate([np.full(p.triangle_count * 3, i, np.uint32) for p, i in parts])
    tile = procedural_tile(np.random.default_rng(0), size=128)
    return SceneGeometry(m, ids, mesh.EMPTY, np.zeros(0, np.uint32), tile, 40.0)


def _projected_box(vertices: np.ndarray, pose: camera.Pose,
                   intr: camera.Intrinsics) -> np.ndarray:
    uv, z = camera.project(vertices, pose, intr)
    assert np.all(z > 0)
    uv = uv + 0.5  # pinhole pixel centres -> pixel-edge coordinates of the labels
    return np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])


def test_tiny_render_one_tower(renderer) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    design = towers.random_design(rng)
    tower = towers.build_tower(design)
    machine, _ = objects.excavator(rng)
    machine = objects.placed(machine, (18.0, 4.0, 0.0), 30.0)
    renderer.load(_geometry([(tower.body, 2), (machine, 3)]))
    intr = camera.CAMERAS[1].intrinsics(160, 120, 2.3, -1.7)
    c = np.array([-30.0, -45.0, 70.0])
    yaw, pitch = camera.look_angles(c, [5.0, 0.0, 15.0])
    pose = camera.Pose(*c, round(yaw, 2), round(pitch, 2), 0.0)
    rgb, ids = renderer.render(pose, intr, Lighting(140.0, 40.0), np.array([0, 0, 10.0]), 60.0)
    assert rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8
    assert ids.shape == (120, 160)
    assert {2, 3} <= set(np.unique(ids).tolist())
    assert rgb.std() > 5  # a lit, textured picture, not a blank frame
    # The excavator is in full view: its mask box is its projected box, to the pixel.
    box = next(b for b in boxes_from_ids(ids, {3: "excavator"}))
    expected = _projected_box(machine.positions, pose, intr)
    np.testing.assert_allclose([box.x0, box.y0, box.x1, box.y1], expected, atol=1.0)


def test_marker_renders_at_its_projection(renderer) -> None:  # type: ignore[no-untyped-def]
    """A box seen straight down lands within half a pixel of where the pinhole puts it."""
    centre = np.array([3.0, -2.0, 1.0])
    marker = mesh.box((4.0, 4.0, 2.0), tuple(centre), (0.9, 0.1, 0.1))
    renderer.load(_geometry([(marker, 5)]))
    intr = camera.Intrinsics(200, 150, 180.0, 180.0, 97.3, 77.8)
    pose = camera.Pose(0.0, 0.0, 60.0, 20.0, -90.0, 0.0)
    _, ids = renderer.render(pose, intr, Lighting(100.0, 50.0), centre, 30.0)
    ys, xs = np.nonzero(ids == 5)
    top = centre + np.array([0, 0, 1.0])
    corners = top + np.array([[-2, -2, 0], [2, -2, 0], [2, 2, 0], [-2, 2, 0]])
    uv, _ = camera.project(corners, pose, intr)
    # mean of covered pixel centres vs the projected centroid of the top face (square, so
    # the mean of its corners is its centroid's image up to perspective, tiny at nadir)
    np.testing.assert_allclose([xs.mean(), ys.mean()], uv.mean(axis=0), atol=0.5)
