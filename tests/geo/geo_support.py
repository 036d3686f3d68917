"""Helpers for the geotagging tests: real JPEGs with DJI-style EXIF + XMP, and an independent
ray cast to hold ``linepatrol.geo`` to.

The independent ray cast deliberately shares no code with ``linepatrol.geo``: the rotation is
the aerospace yaw-pitch-roll (Z-Y-X) sequence in north-east-down built by scipy, the ground is
the local tangent plane, and the map position comes from pyproj's geodesic ``Geod.fwd``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg
from pyproj import Geod
from scipy.spatial.transform import Rotation

from linepatrol.geo.dji_meta import write_dji_metadata
from linepatrol.geo.geodesy import LocalFrame
from linepatrol.geo.pose import CameraPose
from support.tiny_onnx import make_yolo_onnx

GEOD = Geod(ellps="WGS84")


def make_pose(**overrides: Any) -> CameraPose:
    base = dict(
        lat=30.5, lon=114.25, abs_alt=150.0, rel_alt=100.0, yaw=0.0, pitch=-90.0, roll=0.0,
        fx=500.0, fy=500.0, cx=319.5, cy=239.5, width=640, height=480,
    )
    base.update(overrides)
    return CameraPose(**base)  # type: ignore[arg-type]


def blank_jpeg(width: int, height: int) -> bytes:
    rng = np.random.default_rng(width * 7 + height)
    pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    return bytes(simplejpeg.encode_jpeg(pixels, quality=70))


def dji_jpeg_bytes(pose: CameraPose | None = None, **kwargs: Any) -> bytes:
    """A real JPEG of the pose's size with DJI metadata (``write_dji_metadata`` kwargs)."""
    pose = pose or make_pose()
    return write_dji_metadata(blank_jpeg(pose.width, pose.height), pose, **kwargs)


def independent_ray_cast(
    pose: CameraPose, pixel: tuple[float, float], ground_alt: float
) -> tuple[float, float, float] | None:
    """(lat, lon, horizontal range) where the pixel's ray meets a flat tangent plane, or None.

    Camera optical axes (right, down, forward) are the body axes (y, z, x) of an aircraft whose
    attitude is the gimbal's yaw, pitch and roll in NED (Z-Y-X), as DJI documents them.
    """
    body = np.array([1.0, (pixel[0] - pose.cx) / pose.fx, (pixel[1] - pose.cy) / pose.fy])
    ned = Rotation.from_euler("ZYX", [pose.yaw, pose.pitch, pose.roll], degrees=True).apply(body)
    if ned[2] <= 1e-9:
        return None
    assert pose.abs_alt is not None
    height = pose.abs_alt - ground_alt
    t = height / ned[2]
    north, east = t * ned[0], t * ned[1]
    rng = math.hypot(north, east)
    azimuth = math.degrees(math.atan2(east, north))
    lon, lat, _ = GEOD.fwd(pose.lon, pose.lat, azimuth, rng)
    return lat, lon, rng


def horizontal_error(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


__all__ = [
    "blank_jpeg", "dji_jpeg_bytes", "horizontal_error", "independent_ray_cast", "make_pose",
    "replace",
]


# --- a flight folder: DJI photos of a nest on a tower and an excavator near the line --------

LAT0, LON0, GROUND = 30.5, 114.25, 50.0
SCENE = LocalFrame(LAT0, LON0, 0.0)
SIZE = 640
CENTRE = (SIZE - 1) / 2.0
NAMES = ["bird_nest", "excavator"]
HAZARD_PIXEL = (CENTRE, 560.0)  # the bottom centre of the excavator's fixed box


def geo(e: float, n: float, up: float) -> tuple[float, float, float]:
    lat, lon, h = SCENE.to_geodetic([[e, n, up]])[0]
    return float(lat), float(lon), float(h)


def aimed(e: float, n: float, height: float, target: tuple[float, float, float]) -> CameraPose:
    de, dn, du = target[0] - e, target[1] - n, target[2] - (GROUND + height)
    lat, lon, _ = geo(e, n, 0.0)
    return make_pose(
        lat=lat, lon=lon, abs_alt=GROUND + height, rel_alt=height,
        yaw=round(math.degrees(math.atan2(de, dn)), 2),
        pitch=round(math.degrees(math.atan2(du, math.hypot(de, dn))), 2),
        width=SIZE, height=SIZE, cx=CENTRE, cy=CENTRE,
    )


def make_flight(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, CameraPose]]:
    """(folder, ledger, model, poses of the DJI photos): see the ``flight`` fixture."""
    folder = tmp_path / "flight"
    folder.mkdir()
    nest = (0.0, 0.0, GROUND + 35.0)
    poses = {"DJI_0001.JPG": aimed(0.0, -60.0, 60.0, nest),
             "DJI_0002.JPG": aimed(4.0, -58.0, 61.0, nest)}
    for name, pose in poses.items():
        (folder / name).write_bytes(dji_jpeg_bytes(pose))
    (folder / "no_metadata.jpg").write_bytes(blank_jpeg(SIZE, SIZE))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    rows = ["line,tower,lat,lon,ground_elev,height"]
    for name, e in (("T1", -300.0), ("T2", 0.0), ("T3", 300.0)):
        lat, lon, _ = geo(e, 0.0, 0.0)
        rows.append(f"L1,{name},{lat:.9f},{lon:.9f},{GROUND},40")
    ledger = tmp_path / "towers.csv"
    ledger.write_text("\n".join(rows) + "\n")
    model = make_yolo_onnx(
        tmp_path / "tiny.onnx", NAMES,
        # boxes in continuous coordinates: pixel centre c is box coordinate c + 0.5
        [(CENTRE + 0.5, CENTRE + 0.5, 20.0, 20.0, 0, 0.9),
         (HAZARD_PIXEL[0] + 0.5, HAZARD_PIXEL[1] + 0.5 - 20.0, 40.0, 40.0, 1, 0.8)],
        imgsz=SIZE,
    )
    return folder, ledger, model, poses
