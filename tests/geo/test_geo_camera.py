"""The pure camera maths: conventions, round trips and the line geometry helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from linepatrol.geo.camera import (
    Intrinsics,
    cross_arm_point,
    flat_ground_uncertainty,
    fuse_estimates,
    line_direction,
    nadir_side_point,
    pixel_to_ray,
    point_segment_distance_2d,
    project_world_to_pixel,
    ray_curtain_hit,
    ray_plane_distance,
    ray_to_vertical_axis,
    rotation_camera_to_enu,
    triangulate,
)

K = Intrinsics(fx=1000.0, fy=1000.0, cx=639.5, cy=479.5, width=1280, height=960)
angles = st.tuples(
    st.floats(-180, 180), st.floats(-90, 30), st.floats(-20, 20)
)  # yaw, pitch, roll

# ENU <-> NED: swap the horizontal axes and flip the vertical one.
ENU_FROM_NED = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
# camera (right, down, forward) -> aircraft body (forward, right, down)
BODY_FROM_CAMERA = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@settings(max_examples=200)
@given(angles)
def test_rotation_equals_ned_yaw_pitch_roll(ypr: tuple[float, float, float]):
    """R = Rz(-yaw)·Rx(pitch)·R0·Rz(roll) is DJI's Z-Y-X attitude in NED, seen in ENU."""
    yaw, pitch, roll = ypr
    ned = Rotation.from_euler("ZYX", [yaw, pitch, roll], degrees=True).as_matrix()
    expected = ENU_FROM_NED @ ned @ BODY_FROM_CAMERA
    np.testing.assert_allclose(rotation_camera_to_enu(yaw, pitch, roll), expected, atol=1e-12)


def test_named_directions():
    # nadir, yaw 0: looking down, image top towards north, image right towards east
    r = rotation_camera_to_enu(0.0, -90.0, 0.0)
    np.testing.assert_allclose(r @ [0, 0, 1], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(r @ [0, -1, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(r @ [1, 0, 0], [1, 0, 0], atol=1e-12)
    # horizon, yaw 90: looking east; yaw -90: west; yaw 180: south
    for yaw, forward in ((90.0, [1, 0, 0]), (-90.0, [-1, 0, 0]), (180.0, [0, -1, 0])):
        np.testing.assert_allclose(rotation_camera_to_enu(yaw, 0.0, 0.0) @ [0, 0, 1], forward,
                                   atol=1e-12)
    # positive roll puts the image's right side down
    assert (rotation_camera_to_enu(0.0, 0.0, 10.0) @ [1, 0, 0])[2] < 0


def test_principal_point_is_the_optical_axis():
    r = rotation_camera_to_enu(33.0, -50.0, 2.0)
    ray = pixel_to_ray(K, r, [(K.cx, K.cy)])[0]
    np.testing.assert_allclose(ray, r @ [0, 0, 1], atol=1e-12)


@settings(max_examples=200)
@given(angles, st.floats(0, 1279), st.floats(0, 959), st.floats(1.0, 5000.0),
       st.tuples(st.floats(-100, 100), st.floats(-100, 100), st.floats(-100, 100)))
def test_project_inverts_pixel_to_ray(ypr, x, y, depth, centre):
    r = rotation_camera_to_enu(*ypr)
    ray = pixel_to_ray(K, r, [(x, y)])[0]
    point = np.asarray(centre) + depth * ray
    back = project_world_to_pixel(K, r, centre, point[None, :])[0]
    np.testing.assert_allclose(back, [x, y], atol=1e-6 * max(1.0, depth / 100))


def test_points_behind_the_camera_have_no_pixel():
    r = rotation_camera_to_enu(0.0, -90.0, 0.0)
    px = project_world_to_pixel(K, r, [0, 0, 0], [[0, 0, 10.0], [0, 0, -10.0]])
    assert np.isnan(px[0]).all() and np.isfinite(px[1]).all()
    np.testing.assert_allclose(px[1], [K.cx, K.cy])


def test_ray_plane_distance():
    dirs = np.array([[0, 0, -1.0], [0, math.sqrt(0.5), -math.sqrt(0.5)], [1.0, 0, 0], [0, 0, 1.0]])
    t = ray_plane_distance([0, 0, 100.0], dirs, 0.0)
    np.testing.assert_allclose(t[:2], [100.0, 100.0 * math.sqrt(2)])
    assert np.isnan(t[2:]).all()


def test_ray_to_vertical_axis_passing_through_and_beside():
    # ray from 60 m up, 100 m south, towards a point 35 m up the axis at the origin
    origin = np.array([0.0, -100.0, 60.0])
    target = np.array([0.0, 0.0, 35.0])
    d = (target - origin) / np.linalg.norm(target - origin)
    dist, t, z = ray_to_vertical_axis(origin, d[None, :], [0.0, 0.0], (0.0, 40.0))
    assert dist[0] == pytest.approx(0.0, abs=1e-9)
    assert z[0] == pytest.approx(35.0)
    assert t[0] == pytest.approx(np.linalg.norm(target - origin))
    # the same ray against an axis 7 m to the east passes 7 m from it
    dist, _, _ = ray_to_vertical_axis(origin, d[None, :], [7.0, 0.0], (0.0, 40.0))
    assert dist[0] == pytest.approx(7.0)
    # an axis only 20 m tall: the ray passes 15 m above its top (closest to the top point)
    dist, _, z = ray_to_vertical_axis(origin, d[None, :], [0.0, 0.0], (0.0, 20.0))
    assert z[0] == 20.0 and 0 < dist[0] < 15.0


def test_ray_curtain_hit():
    origin = np.array([0.0, -50.0, 40.0])
    d = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    t, s, z = ray_curtain_hit(origin, d, [-100.0, 0.0], [100.0, 0.0])
    assert t[0] == pytest.approx(50.0) and s[0] == pytest.approx(0.5) and z[0] == 40.0
    assert np.isnan(t[1]) and np.isnan(t[2])  # parallel; pointing away


def test_point_segment_distance_2d():
    d = point_segment_distance_2d([[0, 5.0], [-10, 0.0], [50, -3.0]], [0.0, 0.0], [40.0, 0.0])
    np.testing.assert_allclose(d, [5.0, 10.0, math.hypot(10, 3)])


@given(st.floats(20, 300), st.floats(5, 89))
def test_uncertainty_grows_with_obliquity_and_errors(height, depression):
    a = math.radians(depression)
    ray = np.array([[0.0, math.cos(a), -math.sin(a)]])
    base = flat_ground_uncertainty(height, ray, 1.0, 0.5)[0]
    assert base > 0
    assert flat_ground_uncertainty(height, ray, 2.0, 0.5)[0] > base
    assert flat_ground_uncertainty(height, ray, 1.0, 1.0)[0] > base
    lower = math.radians(max(depression - 3, 2))
    flatter = np.array([[0.0, math.cos(lower), -math.sin(lower)]])
    assert flat_ground_uncertainty(height, flatter, 1.0, 0.5)[0] >= base
    up = np.array([[0.0, 1.0, 0.1]])
    assert np.isnan(flat_ground_uncertainty(height, up, 1.0, 0.5)[0])


@settings(max_examples=100)
@given(st.tuples(st.floats(-50, 50), st.floats(-50, 50), st.floats(0, 60)),
       st.lists(st.tuples(st.floats(-150, 150), st.floats(-150, 150), st.floats(70, 150)),
                min_size=2, max_size=6))
def test_triangulate_recovers_a_point_seen_from_spread_cameras(point, cameras):
    p = np.asarray(point)
    c = np.asarray(cameras)
    d = p - c
    solved = triangulate(c, d)
    if solved is None:  # refused only when the rays are nearly parallel
        unit = d / np.linalg.norm(d, axis=1, keepdims=True)
        spread = max(math.degrees(math.acos(np.clip(u @ v, -1, 1))) for u in unit for v in unit)
        assert spread < 11
        return
    found, residual = solved
    np.testing.assert_allclose(found, p, atol=1e-6)
    assert residual.max() < 1e-6


def test_triangulate_refuses_parallel_rays_and_points_behind():
    c = np.array([[0.0, 0, 100], [1.0, 0, 100]])
    assert triangulate(c, [[0, 0, -1.0], [0, 0, -1.0]]) is None
    # two rays that cross behind both cameras
    c = np.array([[-10.0, 0, 0], [10.0, 0, 0]])
    assert triangulate(c, [[-1.0, 1, 0], [1.0, 1, 0]]) is None


def test_line_direction_is_the_bisector_at_an_angle_tower():
    np.testing.assert_allclose(line_direction([-300.0, 0.0], [0.0, 0.0], [300.0, 0.0]), [1, 0])
    # a 20° turn to the left: the cross-arms bisect it, so the line runs at 10°
    turn = [300 * math.cos(math.radians(20)), 300 * math.sin(math.radians(20))]
    d = line_direction([-250.0, 0.0], [0.0, 0.0], turn)
    assert d is not None and math.degrees(math.atan2(d[1], d[0])) == pytest.approx(10.0)
    np.testing.assert_allclose(line_direction(None, [5.0, 5.0], [5.0, 105.0]), [0, 1])
    np.testing.assert_allclose(line_direction([5.0, -95.0], [5.0, 5.0], None), [0, 1])
    assert line_direction(None, [0.0, 0.0], None) is None
    assert line_direction([10.0, 0.0], [0.0, 0.0], [10.0, 0.0]) is None  # doubles back


# A tower at (20, 10) on a line running at 30° from east; its cross-arm plane is across it.
AXIS = np.array([20.0, 10.0])
ALONG = np.array([math.cos(math.radians(30)), math.sin(math.radians(30))])
ACROSS = np.array([-ALONG[1], ALONG[0]])


def arm_point(s: float, z: float) -> np.ndarray:
    return np.array([*(AXIS + s * ACROSS), z])


@settings(max_examples=100)
@given(st.floats(-9.0, 9.0), st.floats(15.0, 45.0),
       st.tuples(st.floats(-60, 60), st.floats(-60, 60), st.floats(5, 60)))
def test_cross_arm_point_recovers_a_point_on_the_arms_from_one_view(s, z, offset):
    """One ray through an object in the plane: the object, whatever the view, as long as the
    ray crosses the plane at a fair angle (the weak pull to the axis stays under 2 %)."""
    target = arm_point(s, z)
    camera = target + np.asarray(offset)
    d = (target - camera) / np.linalg.norm(target - camera)
    across_plane = abs(float(d[:2] @ ALONG))  # sine of the angle between ray and plane
    solved = cross_arm_point(camera[None], d[None], AXIS, ALONG, 15.0, (0.0, 50.0))
    assert solved is not None
    point, miss = solved
    assert miss[0] < 1e-6 + 0.02 * abs(s) + 0.02 * 50
    if across_plane > math.sin(math.radians(15)):
        assert np.linalg.norm(point - target) < 1e-6 + 0.02 * np.hypot(s, z)


def test_cross_arm_point_off_the_axis_where_the_axis_rule_was_wrong():
    """A missing cap 8 m out on the arm, seen from down the line: on the plane, not the axis."""
    cap = arm_point(8.0, 30.0)
    camera = np.array([*(AXIS - 40 * ALONG + 5 * ACROSS), 60.0])
    d = (cap - camera) / np.linalg.norm(cap - camera)
    point, miss = cross_arm_point(camera[None], d[None], AXIS, ALONG, 15.0, (0.0, 50.0))
    np.testing.assert_allclose(point, cap, atol=0.02)  # the weak pull to the axis: ~1 cm
    assert miss[0] < 0.02


def test_cross_arm_point_from_several_views_and_grazing_ones():
    nest = arm_point(-2.0, 31.0)
    cams = np.array([[*(AXIS + 30 * ALONG), 50.0], [*(AXIS - 25 * ALONG - 20 * ACROSS), 45.0],
                     [*(AXIS + 40 * ACROSS), 40.0]])  # the last looks along the arms
    d = nest - cams
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    point, miss = cross_arm_point(cams, d, AXIS, ALONG, 15.0, (0.0, 50.0))
    np.testing.assert_allclose(point, nest, atol=0.02)
    assert miss.max() < 0.02
    # the view along the arms alone: its ray lies in the plane, so it is held on its ray and
    # near the axis (clamped to the arm span), not sent to where the plane's edge would be
    point, miss = cross_arm_point(cams[2:], d[2:], AXIS, ALONG, 15.0, (0.0, 50.0))
    assert miss[0] < 1e-6
    assert abs(float((point[:2] - AXIS) @ ACROSS)) <= 15.0
    assert np.linalg.norm(point - nest) < 3.0


def test_cross_arm_point_clamps_to_the_arm_span_and_refuses_points_behind():
    # a ray that crosses the plane 30 m out is held at the arm tip's distance
    camera = np.array([*(AXIS + 30 * ACROSS - 20 * ALONG), 40.0])
    far = arm_point(30.0, 30.0)
    d = (far - camera) / np.linalg.norm(far - camera)
    point, miss = cross_arm_point(camera[None], d[None], AXIS, ALONG, 12.0, (0.0, 50.0))
    assert float((point[:2] - AXIS) @ ACROSS) == pytest.approx(12.0)
    assert miss[0] > 1.0  # the clamp shows as a miss
    # the plane behind the camera
    assert cross_arm_point(camera[None], -d[None], AXIS, ALONG, 12.0, (0.0, 50.0)) is None


def test_nadir_side_point_is_the_foot_of_an_upright_object():
    # oblique (40° down, yaw 0): verticals converge far below the frame: the bottom edge
    oblique = rotation_camera_to_enu(0.0, -40.0, 0.0)
    x, y = nadir_side_point(K, oblique, (600.0, 300.0, 700.0, 500.0))
    assert y == pytest.approx(500.0) and 640 < x < 660  # slightly towards the nadir's column
    # straight down, box in the lower right: the side towards the image centre
    nadir = rotation_camera_to_enu(0.0, -90.0, 0.0)
    x, y = nadir_side_point(K, nadir, (900.0, 700.0, 1000.0, 900.0))
    centre = np.array([950.0, 800.0])
    towards = np.array([K.cx, K.cy]) - centre
    assert x == pytest.approx(900.0)  # leaves through the left edge...
    assert (np.array([x, y]) - centre) @ towards > 0  # ...on the way to the nadir point
    off = np.array([x, y]) - centre
    assert off[0] * towards[1] - off[1] * towards[0] == pytest.approx(0.0, abs=1e-6)
    # the camera over the object: the point straight down itself
    assert nadir_side_point(K, nadir, (500.0, 400.0, 800.0, 600.0)) == pytest.approx((K.cx, K.cy))


def _view_cov(azimuth_deg: float, along: float, across: float) -> np.ndarray:
    a = math.radians(azimuth_deg)
    u = np.array([math.sin(a), math.cos(a)])  # azimuth clockwise from north, as yaw
    w = np.array([-u[1], u[0]])
    return along**2 * np.outer(u, u) + across**2 * np.outer(w, w)


def test_fuse_estimates_crosses_views_and_drops_an_outlier():
    """Two views of a crane's base from the south and the west: each is 10 m off across its
    view (a slewed boom) and right along it. The plain mean keeps both errors (7 m); fused by
    their covariances they cross at the base."""
    base = np.array([100.0, 50.0])
    from_south = base + np.array([10.0, 0.0])  # looking north, wrong across (east)
    from_west = base + np.array([0.0, -10.0])  # looking east, wrong across (south)
    covs = [_view_cov(0.0, 2.0, 10.0), _view_cov(90.0, 2.0, 10.0)]
    assert np.linalg.norm((from_south + from_west) / 2 - base) > 7.0
    point, cov, keep = fuse_estimates([from_south, from_west], covs)
    assert np.linalg.norm(point - base) < 1.0 and keep.all()
    assert np.sqrt(np.linalg.eigvalsh(cov)[-1]) < 2.5
    # a third view along the same line as the first, 40 m off along it (a hook taken for the
    # foot) is dropped; two views alone are never dropped
    hook = base + np.array([0.0, 40.0])
    point, _, keep = fuse_estimates([from_south, from_west, hook],
                                    [*covs, _view_cov(0.0, 2.0, 10.0)], [1.0, 1.0, 0.9])
    assert keep.tolist() == [True, True, False] and np.linalg.norm(point - base) < 1.0
    _, _, keep = fuse_estimates([from_south, hook], [covs[0], covs[0]])
    assert keep.all()
