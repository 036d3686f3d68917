"""A fixed corridor camera's pose, from its registry entry rather than a photo's EXIF.

A camera bolted to a tower writes no gimbal angles or GPS into its JPEGs; the registry holds
where it is and where it looks, measured once at installation. :func:`fixed_camera_pose` turns
that into the same :class:`~linepatrol.geo.pose.CameraPose` that a drone photo's metadata gives,
so its photos go through the same geotagging.

Conventions are the pose's (:mod:`linepatrol.geo.camera`): ``heading`` clockwise from true
north, ``pitch`` 0 at the horizon and -90 straight down, ``roll`` positive right side down.
``alt`` is the camera's height above the ground around it (metres): geotagging then places
what it sees on flat ground at the camera's foot (the pose's "take-off" ground, with no
absolute altitude). Intrinsics: ``focal_px`` when measured, else from the horizontal field of
view ``hfov_deg`` over ``width``; square pixels, principal point at the image centre, no lens
distortion (a corridor camera's JPEGs are rectified by the camera).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from linepatrol.geo.pose import CameraPose

INTRINSICS_SOURCE = "camera_registry"


@dataclass(frozen=True)
class FixedCamera:
    """A corridor camera as registered: position, orientation, optics."""

    lat: float
    lon: float
    alt: float  # metres above the ground around it
    heading: float
    pitch: float
    roll: float
    width: int
    height: int
    hfov_deg: float | None = None
    focal_px: float | None = None

    def focal(self) -> float:
        """The focal length in pixels: measured, or from the field of view."""
        if self.focal_px is not None:
            return self.focal_px
        if self.hfov_deg is None:
            raise ValueError("a fixed camera needs hfov_deg or focal_px")
        return (self.width / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0)


def fixed_camera_pose(camera: FixedCamera, width: int | None = None,
                      height: int | None = None) -> CameraPose:
    """The pose of every photo the camera takes (it does not move). ``width`` x ``height``: a
    photo's own size when it differs from the registered one (a sub-stream): the same field of
    view over fewer pixels, the focal length scaled with the width."""
    width, height = width or camera.width, height or camera.height
    f = camera.focal() * width / camera.width
    heading = (camera.heading + 180.0) % 360.0 - 180.0  # the pose's -180..180
    return CameraPose(
        lat=camera.lat, lon=camera.lon, abs_alt=None, rel_alt=camera.alt,
        yaw=heading, pitch=camera.pitch, roll=camera.roll,
        fx=f, fy=f, cx=(width - 1) / 2.0, cy=(height - 1) / 2.0,
        width=width, height=height, altitude_datum="takeoff",
        intrinsics_source=INTRINSICS_SOURCE, make="corridor camera",
    )
