"""Where the drone is and what it looks at: camera poses and lighting for one shot.

A shot aims at a target (a machine, a tower's arms, an object on the line, or a point of the
corridor), from 20-150 m above the ground with the gimbal pitched -30 to -90 degrees, the
target landing anywhere in the central part of the frame. Poses that would put the drone
inside or right next to a structure are redrawn.

Gimbal angles are rounded to 0.01 degree *before* rendering: that is the precision DJI writes
into XMP, so the pose read back from the JPEG is the pose the image was rendered with.
"""

from __future__ import annotations

import numpy as np

from .camera import Intrinsics, Pose, rotation_from_dji
from .render import Lighting
from .scene import Scene, SceneObject

HEIGHT_RANGE = (20.0, 150.0)
PITCH_RANGE = (-90.0, -30.0)
CLEARANCE_M = 6.0


def _bounds(o: SceneObject) -> tuple[np.ndarray, np.ndarray]:
    v = o.vertices
    return v.min(axis=0), v.max(axis=0)


def _clear_of(scene: Scene, c: np.ndarray, margin: float) -> bool:
    for o in scene.objects:
        if o.key in ("insulator", "insulator_missing_cap", "bird_nest"):
            continue  # inside the tower's bounds anyway
        lo, hi = _bounds(o)
        d = np.maximum(np.maximum(lo - c, c - hi), 0.0)
        if float(np.linalg.norm(d)) < margin:
            return False
    return True


def is_close_up(key: str) -> bool:
    """Line defects are small: patrol pilots photograph them from tens of metres."""
    return key in CLOSE_UP


CLOSE_UP = ("bird_nest", "foreign_object", "insulator_missing_cap", "insulator", "damper",
            "damper_slipped")


def target_of(o: SceneObject) -> np.ndarray:
    lo, hi = _bounds(o)
    if o.key in ("tower_crane", "pile_driver"):
        return np.array([o.anchor[0], o.anchor[1], (lo[2] + hi[2]) / 2])
    centre: np.ndarray = (lo + hi) / 2
    return centre


def choose_target(scene: Scene, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """A world point worth photographing (weights favour labelled hazards and defects), and
    whether it deserves a close-up."""
    findings = [o for o in scene.objects if o.key not in ("tower", "insulator", "damper")]
    r = rng.random()
    if findings and r < 0.6:
        o = findings[int(rng.integers(len(findings)))]
        return target_of(o), is_close_up(o.key) and rng.random() < 0.7
    if r < 0.85:
        t = scene.towers[int(rng.integers(len(scene.towers)))]
        return t.foot + np.array([0, 0, t.height * rng.uniform(0.5, 0.9)]), rng.random() < 0.5
    if scene.conductors:
        pts = scene.conductors[int(rng.integers(len(scene.conductors)))]
        return pts[int(rng.integers(len(pts)))], False
    return scene.towers[0].foot.copy(), False


def sample_pose(scene: Scene, intr: Intrinsics, rng: np.random.Generator,
                target: np.ndarray | None = None, close_up: bool = False,
                tries: int = 100) -> Pose:
    """A DJI pose that sees ``target`` (or a chosen one), clear of every structure.

    A close-up flies 8-35 m above the target (line defects); otherwise the height above the
    ground is drawn from the whole 20-150 m range."""
    for _ in range(tries):
        if target is None:
            tgt, close = choose_target(scene, rng)
        else:
            tgt, close = np.asarray(target, float), close_up
        yaw = round(float(rng.uniform(-180, 180)), 2)
        pitch = round(float(rng.uniform(*PITCH_RANGE)), 2)
        roll = round(float(rng.normal(0, 0.5)), 2)
        if close:
            height = float(np.clip(tgt[2] + rng.uniform(8, 35), *HEIGHT_RANGE))
        else:
            height = float(rng.uniform(*HEIGHT_RANGE))
        if height < tgt[2] + 8:
            height = float(tgt[2] + rng.uniform(8, 30))
        u = intr.cx + rng.uniform(-0.3, 0.3) * intr.width
        v = intr.cy + rng.uniform(-0.3, 0.3) * intr.height
        ray = rotation_from_dji(yaw, pitch, roll) @ np.array(
            [(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, 1.0])
        ray /= np.linalg.norm(ray)
        if ray[2] > -0.1:
            continue
        t = (height - tgt[2]) / -ray[2]
        c = tgt - t * ray
        if _clear_of(scene, c, CLEARANCE_M):
            return Pose(float(c[0]), float(c[1]), float(c[2]), yaw, pitch, roll)
    raise RuntimeError("no clear camera position found for this scene")


def sample_lighting(rng: np.random.Generator) -> Lighting:
    warm = float(rng.uniform(-0.06, 0.06))
    sun = float(rng.uniform(0.7, 0.95))
    haze = float(rng.uniform(0.68, 0.85))
    return Lighting(
        sun_azimuth=float(rng.uniform(0, 360)),
        sun_elevation=float(rng.uniform(18, 75)),
        sun_rgb=(sun + warm, sun, sun - warm),
        sky_ambient=tuple(np.array([0.38, 0.41, 0.47]) * rng.uniform(0.85, 1.15)),
        ground_ambient=(0.25, 0.23, 0.2),
        haze_rgb=(haze, haze + 0.02, haze + 0.05),
        haze_density=float(10 ** rng.uniform(-4.5, -2.9)),
        zenith_rgb=(0.42 + warm, 0.56, 0.82),
    )


def shadow_region(pose: Pose, target: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Centre and radius of the shadow map: where the shot looks, sized by its distance."""
    c = pose.centre
    fwd = pose.R[:, 2]
    if target is None:
        t = c[2] / max(-fwd[2], 0.2)
        target = c + fwd * min(t, 400.0)
    dist = float(np.linalg.norm(np.asarray(target) - c))
    return np.asarray(target, dtype=np.float64), float(np.clip(dist * 1.3 + 30, 60, 400))


def ground_hit(pose: Pose) -> np.ndarray:
    """Where the optical axis meets the ground (or a point 400 m ahead for shallow shots)."""
    fwd = pose.R[:, 2]
    c = pose.centre
    t = c[2] / -fwd[2] if fwd[2] < -1e-3 else 400.0
    return c + fwd * min(t, 400.0)

