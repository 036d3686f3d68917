"""One photo: render, label, apply camera effects, encode, and stamp DJI metadata.

The metadata is written by the core's own writer (``linepatrol.geo.dji_meta``), so what the
generator claims about a photo is exactly what the geotagger reads back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from linepatrol.geo import dji_meta
from linepatrol.geo.pose import CameraPose

from . import post
from .camera import CameraModel, Intrinsics, Pose
from .labels import Box, boxes_from_ids
from .render import Lighting, Renderer
from .scene import Scene
from .views import shadow_region

EPOCH = dt.datetime(2026, 4, 1, 9, 0, 0)


@dataclass
class Shot:
    jpeg: bytes
    boxes: list[Box]
    pose: Pose
    intr: Intrinsics
    camera_pose: CameraPose
    effects: post.CameraEffects

    def record(self, name: str) -> dict[str, Any]:
        p = self.pose
        return {
            "image": name,
            "enu": [round(p.east, 4), round(p.north, 4), round(p.up, 4)],
            "lat": self.camera_pose.lat, "lon": self.camera_pose.lon,
            "abs_alt": self.camera_pose.abs_alt, "rel_alt": self.camera_pose.rel_alt,
            "yaw": p.yaw, "pitch": p.pitch, "roll": p.roll,
            "fx": self.intr.fx, "fy": self.intr.fy, "cx": self.intr.cx, "cy": self.intr.cy,
            "width": self.intr.width, "height": self.intr.height,
            "jpeg_quality": self.effects.jpeg_quality,
            "labels": [{"instance_id": b.instance_id, "class": b.key,
                        "xyxy": [b.x0, b.y0, b.x1, b.y1], "visible_pixels": b.pixels}
                       for b in self.boxes],
        }


def camera_pose(scene: Scene, pose: Pose, intr: Intrinsics, cam: CameraModel) -> CameraPose:
    """The geotagger's view of the shot: WGS84 position, ellipsoidal altitude (RTK-fixed, as
    DJI's RTK aircraft write it), take-off point on the ground at the scene origin."""
    lat, lon, h = scene.geodetic(pose.centre)
    return CameraPose(
        lat=lat, lon=lon, abs_alt=h, rel_alt=pose.up, yaw=pose.yaw, pitch=pose.pitch,
        roll=pose.roll, fx=intr.fx, fy=intr.fy, cx=intr.cx, cy=intr.cy, width=intr.width,
        height=intr.height, altitude_datum="ellipsoid", flight_yaw=pose.yaw, rtk_flag=50,
        intrinsics_source="calibrated", make=cam.make, model=cam.model)


def _exif_extras(cam: CameraModel, intr: Intrinsics, when: dt.datetime) -> dict[str, Any]:
    import piexif

    stamp = when.strftime("%Y:%m:%d %H:%M:%S").encode()
    # Focal plane resolution in pixels per centimetre (unit 3), consistent with fx.
    xres = intr.width / (cam.sensor_width_mm / 10)
    return {"Exif": {
        piexif.ExifIFD.FocalLength: (round(cam.focal_mm * 100), 100),
        piexif.ExifIFD.FocalLengthIn35mmFilm: cam.focal_35mm,
        piexif.ExifIFD.FocalPlaneXResolution: (round(xres * 1000), 1000),
        piexif.ExifIFD.FocalPlaneYResolution: (round(xres * 1000), 1000),
        piexif.ExifIFD.FocalPlaneResolutionUnit: 3,
        piexif.ExifIFD.DateTimeOriginal: stamp,
        piexif.ExifIFD.DateTimeDigitized: stamp,
    }, "0th": {piexif.ImageIFD.Software: b"LinePatrol synth"}}


def take_shot(renderer: Renderer, scene: Scene, pose: Pose, intr: Intrinsics,
              light: Lighting, cam: CameraModel, rng: np.random.Generator,
              when: dt.datetime = EPOCH, target: np.ndarray | None = None,
              effects: post.CameraEffects | None = None) -> Shot:
    centre, radius = shadow_region(pose, target)
    rgb, ids = renderer.render(pose, intr, light, centre, radius)
    boxes = boxes_from_ids(ids, scene.keys)
    fx = effects or post.CameraEffects.sample(rng)
    img = post.apply(rgb, fx, rng)
    jpeg = post.encode_jpeg(img, fx.jpeg_quality)
    cp = camera_pose(scene, pose, intr, cam)
    jpeg = dji_meta.write_dji_metadata(jpeg, cp, make=cam.make, model=cam.model,
                                       extra_exif=_exif_extras(cam, intr, when))
    return Shot(jpeg, boxes, pose, intr, cp, fx)
