"""Pinhole camera with DJI gimbal angles, and the OpenGL matrices that reproduce it exactly.

World frame: local ENU (east, north, up) in metres around the scene's geodetic origin.
Camera frame: OpenCV (right, down, forward). Angles as DJI writes them in XMP
(``GimbalYawDegree`` clockwise from north, ``GimbalPitchDegree`` negative looking down,
``GimbalRollDegree`` about the optical axis). The conventions are those measured in
``shared/docs/rendering.md``: the rendered image matches :func:`project` within 0.1 px, which
is what lets labels be checked against the pose written into the JPEG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Camera (right, down, forward) -> ENU for yaw = pitch = roll = 0: looking north, level.
_R0 = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class Intrinsics:
    """OpenCV intrinsics; pixel centres sit on integer coordinates."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class CameraModel:
    """A DJI camera as its EXIF describes it; intrinsics follow from the image size asked for.

    Focal length in pixels comes from the physical focal length and sensor width, the way
    a reader of the EXIF (FocalLength, FocalPlaneXResolution) recovers it.
    """

    make: str
    model: str
    focal_mm: float
    sensor_width_mm: float
    focal_35mm: int

    def intrinsics(self, width: int, height: int, cx_offset: float = 0.0,
                   cy_offset: float = 0.0) -> Intrinsics:
        f = self.focal_mm / self.sensor_width_mm * width
        return Intrinsics(width, height, f, f, (width - 1) / 2 + cx_offset,
                          (height - 1) / 2 + cy_offset)


# Published specs of common DJI patrol cameras (4:3 wide sensors).
CAMERAS: tuple[CameraModel, ...] = (
    CameraModel("DJI", "FC6310R", 8.8, 13.2, 24),  # Phantom 4 RTK, 1" sensor
    CameraModel("DJI", "M3E", 12.29, 17.3, 24),  # Mavic 3 Enterprise, 4/3 sensor
    CameraModel("DJI", "ZH20", 4.5, 6.17, 24),  # Zenmuse H20 wide, 1/2.3" sensor
    CameraModel("DJI", "L1D-20c", 10.26, 13.2, 28),  # Mavic 2 Pro / Zenmuse P1-class 1" sensor
)


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_from_dji(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Camera-to-ENU rotation: columns are the camera's right, down, forward axes in ENU."""
    rotation: np.ndarray = (_rz(-math.radians(yaw_deg)) @ _rx(math.radians(pitch_deg)) @ _R0
                            @ _rz(math.radians(roll_deg)))
    return rotation


@dataclass(frozen=True)
class Pose:
    """Camera centre in local ENU metres and its gimbal angles in degrees."""

    east: float
    north: float
    up: float
    yaw: float
    pitch: float
    roll: float = 0.0

    @property
    def centre(self) -> np.ndarray:
        return np.array([self.east, self.north, self.up])

    @property
    def R(self) -> np.ndarray:
        return rotation_from_dji(self.yaw, self.pitch, self.roll)


def project(points_enu: np.ndarray, pose: Pose, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (N, 2) and depth along the optical axis (N,) of ENU points."""
    cam = (np.asarray(points_enu, dtype=np.float64) - pose.centre) @ pose.R
    z = cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = intr.fx * cam[:, 0] / z + intr.cx
        v = intr.fy * cam[:, 1] / z + intr.cy
    return np.stack([u, v], axis=1), z


def look_angles(camera: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """DJI yaw and pitch (degrees) that point the optical axis from ``camera`` at ``target``."""
    d = np.asarray(target, dtype=np.float64) - np.asarray(camera, dtype=np.float64)
    yaw = math.degrees(math.atan2(d[0], d[1]))
    pitch = math.degrees(math.atan2(d[2], math.hypot(d[0], d[1])))
    return yaw, pitch


def gl_view(pose: Pose) -> np.ndarray:
    """World-to-eye matrix of the OpenGL camera (looking down its −z, y up)."""
    cam_to_world = np.eye(4)
    cam_to_world[:3, :3] = pose.R @ np.diag([1.0, -1.0, -1.0])
    cam_to_world[:3, 3] = pose.centre
    return np.linalg.inv(cam_to_world)


def gl_projection(intr: Intrinsics, near: float, far: float) -> np.ndarray:
    """OpenGL projection matching the pinhole ``intr`` (half-pixel offset included)."""
    w, h = intr.width, intr.height
    p = np.zeros((4, 4))
    p[0, 0] = 2 * intr.fx / w
    p[0, 2] = 1 - 2 * (intr.cx + 0.5) / w
    p[1, 1] = 2 * intr.fy / h
    p[1, 2] = 2 * (intr.cy + 0.5) / h - 1
    p[2, 2] = -(far + near) / (far - near)
    p[2, 3] = -2 * far * near / (far - near)
    p[3, 2] = -1.0
    return p
