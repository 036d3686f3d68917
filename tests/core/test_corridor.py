"""The corridor camera rules: a registry entry's pose, and which boxes make a hazard."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from linepatrol.corridor import Seen, confirmed, ended, iou, match, same_spot
from linepatrol.geo.camera import pixel_to_ray
from linepatrol.geo.fixed import FixedCamera, fixed_camera_pose

CAM = FixedCamera(lat=30.52, lon=114.31, alt=80.0, heading=45.0, pitch=-10.0, roll=0.0,
                  width=2560, height=1440, hfov_deg=60.0)


def test_pose_from_the_registry():
    pose = fixed_camera_pose(CAM)
    assert (pose.lat, pose.lon, pose.rel_alt, pose.abs_alt) == (30.52, 114.31, 80.0, None)
    assert (pose.yaw, pose.pitch, pose.roll) == (45.0, -10.0, 0.0)
    assert pose.fx == pytest.approx(1280 / math.tan(math.radians(30)))
    assert (pose.cx, pose.cy, pose.width, pose.height) == (1279.5, 719.5, 2560, 1440)
    assert pose.intrinsics_source == "camera_registry"
    # the image centre looks along the heading, 10 degrees down
    ray = pixel_to_ray(pose.intrinsics, pose.rotation, np.array([[1279.5, 719.5]]))[0]
    east, north, up = ray
    assert math.degrees(math.atan2(east, north)) == pytest.approx(45.0)
    assert math.degrees(math.asin(up)) == pytest.approx(-10.0)


def test_pose_of_a_smaller_photo_and_of_a_measured_focal():
    half = fixed_camera_pose(CAM, 1280, 720)
    assert half.fx == pytest.approx(fixed_camera_pose(CAM).fx / 2) and half.cx == 639.5
    measured = FixedCamera(**{**CAM.__dict__, "hfov_deg": None, "focal_px": 2000.0,
                              "heading": 270.0})
    pose = fixed_camera_pose(measured)
    assert pose.fx == 2000.0 and pose.yaw == -90.0
    with pytest.raises(ValueError):
        FixedCamera(**{**CAM.__dict__, "hfov_deg": None}).focal()


A = Seen("excavator", (100, 100, 200, 180))


def test_same_spot_is_overlap_and_any_two_machines():
    assert iou(A.xyxy, A.xyxy) == 1.0 and iou(A.xyxy, (300, 300, 400, 400)) == 0.0
    assert same_spot(A, Seen("truck_crane", (110, 105, 205, 185)))  # a machine, renamed
    assert not same_spot(A, Seen("bird_nest", (100, 100, 200, 180)))
    assert not same_spot(A, Seen("excavator", (180, 160, 280, 240)))  # elsewhere


def test_k_of_n():
    moved = Seen("excavator", (105, 102, 203, 182))
    assert not confirmed(A, [[A], [], []], 2, 3)  # once: a false detection raises nothing
    assert confirmed(A, [[A], [], [moved]], 2, 3)  # 2 of the last 3
    assert not confirmed(A, [[A], [], [], [moved]], 2, 3)  # the other one is older than n
    assert confirmed(A, [[A]], 1, 3)


def test_match_takes_the_best_overlap_and_end_after():
    items = [(1, Seen("excavator", (0, 0, 50, 50))), (2, Seen("pump_truck", (100, 100, 200, 185))),
             (3, Seen("excavator", (120, 120, 220, 200)))]
    assert match(A, items) == 2
    assert match(Seen("excavator", (600, 600, 700, 700)), items) is None
    t = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    assert not ended(t, t + dt.timedelta(seconds=3600), 3600)
    assert ended(t, t + dt.timedelta(seconds=3601), 3600)
