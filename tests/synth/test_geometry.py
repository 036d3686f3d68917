"""Pure geometry of the generator: camera conventions, GL matrices, catenaries, mask boxes."""

from __future__ import annotations

import numpy as np
import pytest

from linepatrol.geo.camera import rotation_camera_to_enu
from linepatrol_datasets.synth import camera, towers
from linepatrol_datasets.synth.labels import CLASS_IDS, boxes_from_ids


@pytest.mark.parametrize("yaw,pitch,roll", [(0, 0, 0), (37.5, -62.25, 1.5), (-170, -90, 0),
                                            (91, -30, -2.5)])
def test_rotation_matches_the_geotaggers(yaw: float, pitch: float, roll: float) -> None:
    np.testing.assert_allclose(camera.rotation_from_dji(yaw, pitch, roll),
                               rotation_camera_to_enu(yaw, pitch, roll), atol=1e-12)


def test_nadir_camera_looks_down_with_image_top_towards_heading() -> None:
    r = camera.rotation_from_dji(90.0, -90.0, 0.0)  # heading east, looking straight down
    np.testing.assert_allclose(r[:, 2], [0, 0, -1], atol=1e-12)  # forward = down
    np.testing.assert_allclose(r[:, 1], [-1, 0, 0], atol=1e-12)  # image down = west


def test_gl_matrices_reproduce_the_pinhole_projection() -> None:
    rng = np.random.default_rng(3)
    intr = camera.Intrinsics(640, 480, 510.0, 512.0, 331.7, 236.2)
    pose = camera.Pose(10.0, -20.0, 80.0, 33.0, -55.0, 1.0)
    pts = pose.centre + pose.R @ np.array([0, 0, 60.0]) + rng.normal(0, 15, (20, 3))
    uv, z = camera.project(pts, pose, intr)
    clip = (camera.gl_projection(intr, 0.5, 5000.0) @ camera.gl_view(pose)
            @ np.c_[pts, np.ones(len(pts))].T).T
    ndc = clip[:, :3] / clip[:, 3:]
    # window coordinates (pixel edges) -> pinhole pixel centres, rows counted from the top
    u = (ndc[:, 0] + 1) / 2 * intr.width - 0.5
    v = (1 - ndc[:, 1]) / 2 * intr.height - 0.5
    assert np.all(z > 0)
    np.testing.assert_allclose(np.c_[u, v], uv, atol=1e-6)


def test_look_angles_point_the_axis_at_the_target() -> None:
    c, t = np.array([0.0, 0.0, 100.0]), np.array([30.0, 40.0, 0.0])
    yaw, pitch = camera.look_angles(c, t)
    d = camera.rotation_from_dji(yaw, pitch, 0.0)[:, 2]
    np.testing.assert_allclose(d, (t - c) / np.linalg.norm(t - c), atol=1e-12)


def test_catenary_hangs_between_its_ends() -> None:
    a, b = np.array([0.0, 0.0, 30.0]), np.array([300.0, 40.0, 36.0])
    pts = towers.catenary(a, b, 1200.0)
    np.testing.assert_allclose(pts[0], a, atol=1e-9)
    np.testing.assert_allclose(pts[-1], b, atol=1e-9)
    chord = a[2] + (b[2] - a[2]) * np.linspace(0, 1, len(pts))
    assert np.all(pts[1:-1, 2] < chord[1:-1])
    sag = float(np.max(chord - pts[:, 2]))
    assert 7.0 < sag < 12.0  # ~ L^2 / 8a for a 302 m span with a = 1200 m


def test_boxes_come_from_visible_pixels_only() -> None:
    ids = np.zeros((20, 30), np.uint32)
    ids[2:6, 3:9] = 5  # a bird nest, 4 x 6 pixels
    ids[10:18, 10:20] = 7  # an excavator, partly hidden behind...
    ids[10:18, 15:20] = 1  # ...unlabelled geometry
    ids[0, 0] = 9  # a one-pixel remnant of a crane: below the size rule
    boxes = {b.instance_id: b for b in boxes_from_ids(
        ids, {5: "bird_nest", 7: "excavator", 9: "truck_crane"})}
    assert set(boxes) == {5, 7}
    nest = boxes[5]
    assert (nest.x0, nest.y0, nest.x1, nest.y1, nest.pixels) == (3, 2, 9, 6, 24)
    assert (boxes[7].x0, boxes[7].x1) == (10, 15)
    line = nest.yolo_line(30, 20).split()
    assert int(line[0]) == CLASS_IDS["bird_nest"]
    np.testing.assert_allclose([float(v) for v in line[1:]], [6 / 30, 4 / 20, 6 / 30, 4 / 20])
