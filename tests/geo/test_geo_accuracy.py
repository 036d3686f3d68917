"""``geo locate`` against independent ray casts: within 0.5 m + 0.2 % of the horizontal range.

Each example writes a real JPEG with DJI EXIF + XMP for an exact pose (values at the precision
DJI writes them), reads it back with ``read_pose`` and places a pixel over flat ground at the
take-off elevation, nadir to 30° oblique, any yaw. Two references, neither sharing code with
``linepatrol.geo``:

* a tangent-plane ray cast (scipy's NED yaw-pitch-roll, pyproj ``Geod.fwd``), for rays at least
  15° below the horizon, where the Earth's curvature is far below the tolerance;
* an ECEF ray cast onto the surface of constant ellipsoidal height (the NED-to-ECEF rotation by
  its textbook formula, heights from PROJ's geocentric conversion, scipy's brentq), for every
  ray that meets the ground within 2.5 km.
"""

from __future__ import annotations

import math

import numpy as np
from geo_support import dji_jpeg_bytes, horizontal_error, independent_ray_cast, make_pose
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from scipy.optimize import brentq
from scipy.spatial.transform import Rotation

from linepatrol.geo import GeoConfig, locate_pixels, read_pose
from linepatrol.geo.pose import CameraPose

TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
TO_GEO = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def rounded(lo: float, hi: float, places: int) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, places))


@st.composite
def poses_and_pixels(draw: st.DrawFn) -> tuple[CameraPose, tuple[float, float]]:
    width = draw(st.integers(320, 1280))
    height = draw(st.integers(240, 960))
    takeoff = draw(rounded(-50.0, 3000.0, 3))
    rel = draw(rounded(20.0, 300.0, 3))
    f = round(draw(st.floats(0.5, 1.6)) * width, 6)
    pose = make_pose(
        lat=draw(rounded(-60.0, 60.0, 9).filter(lambda v: v != 0.0)),
        lon=draw(rounded(-179.9, 179.9, 9)),
        abs_alt=round(takeoff + rel, 3), rel_alt=rel,
        yaw=draw(rounded(-180.0, 180.0, 2)), pitch=draw(rounded(-90.0, -30.0, 2)),
        roll=draw(rounded(-5.0, 5.0, 2)),
        fx=f, fy=f,
        cx=round((width - 1) / 2 + draw(st.floats(-20, 20)), 6),
        cy=round((height - 1) / 2 + draw(st.floats(-20, 20)), 6),
        width=width, height=height,
    )
    pixel = (draw(st.floats(0, width - 1)), draw(st.floats(0, height - 1)))
    return pose, pixel


def _locate(pose: CameraPose, pixel: tuple[float, float]) -> tuple[CameraPose, object]:
    read = read_pose(dji_jpeg_bytes(pose))
    assert (read.yaw, read.pitch, read.roll, read.fx) == (pose.yaw, pose.pitch, pose.roll, pose.fx)
    return read, locate_pixels(read, [pixel], GeoConfig())[0]


def _depression_deg(pose: CameraPose, pixel: tuple[float, float]) -> float:
    body = np.array([1.0, (pixel[0] - pose.cx) / pose.fx, (pixel[1] - pose.cy) / pose.fy])
    ned = Rotation.from_euler("ZYX", [pose.yaw, pose.pitch, pose.roll], degrees=True).apply(body)
    return math.degrees(math.atan2(ned[2], math.hypot(ned[0], ned[1])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(poses_and_pixels())
def test_locate_matches_tangent_plane_ray_cast(case: tuple[CameraPose, tuple[float, float]]):
    pose, pixel = case
    assume(_depression_deg(pose, pixel) >= 15.0)
    read, placed = _locate(pose, pixel)
    assert read.takeoff_alt is not None
    expected = independent_ray_cast(pose, pixel, read.takeoff_alt)
    assert expected is not None and placed.lat is not None and placed.lon is not None
    lat, lon, rng = expected
    error = horizontal_error(placed.lat, placed.lon, lat, lon)
    assert error <= 0.5 + 0.002 * rng, (error, rng)
    assert abs((placed.alt or 0.0) - read.takeoff_alt) < 0.01


def ecef_ray_cast(
    pose: CameraPose, pixel: tuple[float, float], ground_alt: float, max_range: float
) -> tuple[float, float, float] | None:
    lat, lon = math.radians(pose.lat), math.radians(pose.lon)
    # columns: north, east, down unit vectors in ECEF
    ned_to_ecef = np.array([
        [-math.sin(lat) * math.cos(lon), -math.sin(lon), -math.cos(lat) * math.cos(lon)],
        [-math.sin(lat) * math.sin(lon), math.cos(lon), -math.cos(lat) * math.sin(lon)],
        [math.cos(lat), 0.0, -math.sin(lat)],
    ])
    body = np.array([1.0, (pixel[0] - pose.cx) / pose.fx, (pixel[1] - pose.cy) / pose.fy])
    ned = Rotation.from_euler("ZYX", [pose.yaw, pose.pitch, pose.roll], degrees=True).apply(body)
    d = ned_to_ecef @ (ned / np.linalg.norm(ned))
    c = np.array(TO_ECEF.transform(pose.lon, pose.lat, pose.abs_alt))

    def clearance(t: float) -> float:
        x = c + t * d
        return float(TO_GEO.transform(*x)[2]) - ground_alt

    steps = np.arange(1.0, max_range + 1.0, 10.0)
    below = [t for t in steps if clearance(t) <= 0]
    if not below:
        return None
    t_hi = below[0]
    t = brentq(clearance, t_hi - 10.0, t_hi, xtol=1e-6)
    lon_g, lat_g, _ = TO_GEO.transform(*(c + t * d))
    rng = math.hypot(*(ned[:2] / np.linalg.norm(ned))) * t
    return lat_g, lon_g, rng


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(poses_and_pixels())
def test_locate_matches_ecef_ray_cast_to_the_height_surface(
    case: tuple[CameraPose, tuple[float, float]],
):
    pose, pixel = case
    assume(_depression_deg(pose, pixel) >= 1.0)
    read, placed = _locate(pose, pixel)
    assert read.takeoff_alt is not None
    expected = ecef_ray_cast(pose, pixel, read.takeoff_alt, 2500.0)
    assume(expected is not None)
    assert expected is not None and placed.lat is not None and placed.lon is not None
    lat, lon, rng = expected
    error = horizontal_error(placed.lat, placed.lon, lat, lon)
    assert error <= 0.5 + 0.002 * rng, (error, rng)


def test_ray_above_the_horizon_gets_a_reason_not_a_position():
    pose = make_pose(pitch=-30.0, fx=300.0, fy=300.0)
    placed = locate_pixels(pose, [(319.5, 0.0)], GeoConfig())[0]  # 38.7° above the axis
    assert placed.lat is None and placed.reason and "horizon" in placed.reason
