"""Procedural scene objects: construction machinery, smoke, bird nests, foreign objects.

Ground machines are built in their own frame (origin at the centre of the footprint on the
ground, x forward, y left, z up) and placed by the scene sampler. Sizes follow the common
Chinese models seen near lines (25-50 t truck cranes, 20-30 t excavators, 37-56 m pump
trucks). Every builder takes the random generator and returns the mesh plus a variant name,
so the truth files can say what was drawn.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from .mesh import (
    Mesh,
    beams,
    box,
    concat,
    cylinder_between,
    polyline_beams,
    quad,
    rotation_z,
    sphere,
    translation,
    weathered,
    wheel,
)

RGB = tuple[float, float, float]
TYRE: RGB = (0.07, 0.07, 0.07)
GLASS: RGB = (0.12, 0.16, 0.2)
STEEL: RGB = (0.45, 0.45, 0.47)
MACHINE_PAINT: tuple[RGB, ...] = (
    (0.88, 0.68, 0.08),  # construction yellow
    (0.9, 0.45, 0.08),  # orange
    (0.75, 0.12, 0.08),  # red
    (0.86, 0.86, 0.84),  # white
    (0.55, 0.58, 0.6),  # grey
)


def _paint(rng: np.random.Generator) -> RGB:
    base = np.asarray(MACHINE_PAINT[int(rng.integers(len(MACHINE_PAINT)))])
    return tuple(np.clip(base * rng.uniform(0.85, 1.1, 3), 0, 1).tolist())


def _lattice_mast(height: float, half: float, rgb: RGB, panel: float = 1.8) -> Mesh:
    """A square lattice column (tower-crane mast, pile-driver leader)."""
    n = max(1, int(height / panel))
    zs = np.linspace(0, height, n + 1)
    c = np.array([[half, half], [-half, half], [-half, -half], [half, -half]])
    p0, p1 = [], []
    for k in range(4):
        j = (k + 1) % 4
        p0.append([*c[k], 0.0])
        p1.append([*c[k], height])
        for a, b in itertools.pairwise(zs):
            p0 += [[*c[k], a], [*c[k], b]]
            p1 += [[*c[j], b], [*c[j], b]]
    return concat([beams(np.array(p0[:4]), np.array(p1[:4]), 0.16, rgb),
                   beams(np.array(p0[4:]), np.array(p1[4:]), 0.07, rgb)])


def _lattice_jib(start: np.ndarray, end: np.ndarray, depth: float, rgb: RGB) -> Mesh:
    """A triangular lattice girder from ``start`` to ``end`` (tower-crane jib)."""
    d = end - start
    length = float(np.linalg.norm(d))
    side = np.cross(d / length, [0, 0, 1.0])
    side /= np.linalg.norm(side)
    n = max(2, int(length / 2.0))
    t = np.linspace(0, 1, n + 1)[:, None]
    axis = start + t * d
    lo_l = axis + side * depth * 0.5
    lo_r = axis - side * depth * 0.5
    top = axis + np.array([0, 0, depth])
    p0 = [lo_l[:-1], lo_r[:-1], top[:-1], lo_l[:-1], lo_r[:-1], lo_l[:-1]]
    p1 = [lo_l[1:], lo_r[1:], top[1:], top[1:], top[1:], lo_r[:-1]]
    return beams(np.concatenate(p0), np.concatenate(p1), 0.08, rgb)


def _chassis(rng: np.random.Generator, length: float, paint: RGB, axles: int) -> list[Mesh]:
    """Truck chassis with cab at +x and ``axles`` axles of twin wheels."""
    parts = [box((length, 2.5, 0.9), (0, 0, 1.25), paint),
             box((2.2, 2.5, 2.0), (length / 2 - 1.1, 0, 2.2), paint),
             box((0.1, 2.2, 0.9), (length / 2 + 0.01, 0, 2.7), GLASS)]
    xs = np.concatenate([[length / 2 - 1.6], np.linspace(-length / 2 + 1.4, length / 2 - 4.5,
                                                         axles - 1)])
    for x in xs:
        for y in (1.05, -1.05):
            parts.append(wheel((x, y, 0.55), 0.55, 0.5, TYRE))
    return parts


def truck_crane(rng: np.random.Generator) -> tuple[Mesh, str]:
    paint = _paint(rng)
    length = float(rng.uniform(11, 14))
    parts = _chassis(rng, length, paint, int(rng.integers(3, 6)))
    raised = bool(rng.random() < 0.6)
    pivot = np.array([-length / 2 + 2.2, 0, 2.6])
    parts.append(box((3.0, 2.4, 1.2), (-length / 2 + 3.0, 0, 2.3), paint))
    if raised:
        angle = math.radians(rng.uniform(25, 75))
        boom_len = float(rng.uniform(18, 42))
        slew = math.radians(rng.uniform(-180, 180))
        for sx in (-length / 2 + 1.2, length / 2 - 3.0):  # outriggers
            for sy in (1, -1):
                parts.append(box((0.4, 2.5, 0.35), (sx, sy * 2.4, 0.9), paint))
                parts.append(box((0.7, 0.7, 0.15), (sx, sy * 3.6, 0.08), STEEL))
    else:
        angle = math.radians(rng.uniform(0, 4))
        boom_len = length - 1.0
        slew = 0.0
    direction = np.array([math.cos(angle) * math.cos(slew), math.cos(angle) * math.sin(slew),
                          math.sin(angle)])
    sections = 4
    for i in range(sections):
        a = pivot + direction * boom_len * i / sections * 0.97
        b = pivot + direction * boom_len * (i + 1) / sections
        w = 0.9 - i * 0.15
        parts.append(beams(a[None], b[None], w, paint))
    tip = pivot + direction * boom_len
    if raised:
        hook_z = max(1.5, tip[2] * rng.uniform(0.2, 0.8))
        parts.append(beams(tip[None], np.array([[tip[0], tip[1], hook_z]]), 0.05, STEEL))
        parts.append(box((0.5, 0.5, 0.7), (tip[0], tip[1], hook_z - 0.35), (0.8, 0.6, 0.1)))
    mesh = weathered(concat(parts), rng, float(rng.uniform(0, 0.8)))
    return mesh, "boom_raised" if raised else "boom_folded"


def pump_truck(rng: np.random.Generator) -> tuple[Mesh, str]:
    paint = _paint(rng)
    length = float(rng.uniform(11, 14))
    parts = _chassis(rng, length, paint, int(rng.integers(4, 6)))
    parts.append(box((2.0, 2.2, 1.4), (-length / 2 + 1.4, 0, 2.4), STEEL))  # hopper
    parts.append(box((1.4, 1.4, 1.0), (length / 2 - 3.2, 0, 2.2), paint))  # turret
    raised = bool(rng.random() < 0.6)
    base = np.array([length / 2 - 3.2, 0.0, 2.8])
    n_sec = 4
    sec_len = float(rng.uniform(8, 12))
    if raised:
        slew = math.radians(rng.uniform(-180, 180))
        angles = [rng.uniform(50, 80), rng.uniform(-10, 30), rng.uniform(-40, 0),
                  rng.uniform(-80, -50)]
        pts = [base]
        for a in angles:
            a_r = math.radians(a)
            d = np.array([math.cos(a_r) * math.cos(slew), math.cos(a_r) * math.sin(slew),
                          math.sin(a_r)])
            pts.append(pts[-1] + d * sec_len)
        for i in range(n_sec):
            parts.append(beams(pts[i][None], pts[i + 1][None], 0.7 - 0.12 * i, paint))
        end = pts[-1]
        hose_end = end - np.array([0, 0, min(3.0, max(end[2] - 0.2, 0.1))])
        parts.append(cylinder_between(end, hose_end, 0.09, TYRE, 8))
        for sx in (-length / 2 + 1.5, length / 2 - 3.5):
            for sy in (1, -1):
                parts.append(box((0.4, 3.0, 0.35), (sx, sy * 2.6, 0.9), paint))
    else:
        for i in range(n_sec):  # folded: stacked along the truck, alternating direction
            z = 3.4 + 0.55 * i
            x0, x1 = (length / 2 - 3.2, -length / 2 + 1) if i % 2 == 0 else (
                -length / 2 + 1, length / 2 - 4.0)
            parts.append(beams(np.array([[x0, 0, z]]), np.array([[x1, 0, z]]), 0.5, paint))
    mesh = weathered(concat(parts), rng, float(rng.uniform(0, 0.8)))
    return mesh, "boom_raised" if raised else "boom_folded"


def _tracks(length: float, gauge: float, width: float, height: float) -> list[Mesh]:
    return [box((length, width, height), (0, y, height / 2), (0.12, 0.11, 0.1))
            for y in (gauge / 2, -gauge / 2)]


def excavator(rng: np.random.Generator) -> tuple[Mesh, str]:
    paint = _paint(rng)
    s = float(rng.uniform(0.8, 1.2))  # machine class
    parts = _tracks(4.5 * s, 2.6 * s, 0.7 * s, 0.95 * s)
    swing = float(rng.uniform(-180, 180))
    upper = [box((3.2 * s, 2.7 * s, 1.3 * s), (-0.3 * s, 0, 1.7 * s), paint),
             box((1.0 * s, 0.95 * s, 1.6 * s), (0.8 * s, 0.75 * s, 3.1 * s), paint),
             box((0.05, 0.8 * s, 1.0 * s), (1.31 * s, 0.75 * s, 3.2 * s), GLASS),
             box((0.9 * s, 2.6 * s, 1.1 * s), (-1.8 * s, 0, 1.9 * s), paint)]
    b_angle = math.radians(rng.uniform(25, 60))
    root = np.array([1.0 * s, -0.2 * s, 2.3 * s])
    elbow = root + np.array([math.cos(b_angle), 0, math.sin(b_angle)]) * 5.6 * s
    a_angle = math.radians(rng.uniform(-100, -40))
    wrist = elbow + np.array([math.cos(a_angle), 0, math.sin(a_angle)]) * 2.9 * s
    wrist[2] = max(wrist[2], 0.6)
    upper += [beams(root[None], elbow[None], 0.6 * s, paint),
              beams(elbow[None], wrist[None], 0.45 * s, paint),
              box((1.0 * s, 1.1 * s, 0.9 * s),
                  tuple(wrist + np.array([0.3 * s, 0, -0.2 * s])), STEEL)]
    mesh = concat(parts + [m.transformed(rotation_z(swing)) for m in upper])
    return weathered(mesh, rng, float(rng.uniform(0, 0.9))), "tracked"


def bulldozer(rng: np.random.Generator) -> tuple[Mesh, str]:
    paint = _paint(rng)
    parts = _tracks(3.6, 2.2, 0.6, 0.9)
    parts += [box((3.2, 1.8, 1.2), (0.1, 0, 1.5), paint),
              box((1.4, 1.6, 1.4), (-0.8, 0, 2.8), paint),
              box((1.3, 1.5, 0.9), (-0.8, 0, 2.9), GLASS),
              box((0.35, 3.6, 1.3), (2.6, 0, 0.75), paint),
              beams(np.array([[1.6, 1.0, 1.0], [1.6, -1.0, 1.0]]),
                    np.array([[2.5, 1.0, 0.8], [2.5, -1.0, 0.8]]), 0.25, paint),
              box((0.3, 0.3, 1.0), (-2.3, 0, 0.6), STEEL)]
    return weathered(concat(parts), rng, float(rng.uniform(0.2, 1.0))), "crawler"


def pile_driver(rng: np.random.Generator) -> tuple[Mesh, str]:
    paint = _paint(rng)
    parts = _tracks(5.0, 3.2, 0.8, 1.0)
    parts += [box((4.0, 3.0, 1.4), (-0.5, 0, 1.8), paint),
              box((1.2, 1.1, 1.5), (0.9, 1.0, 3.2), paint)]
    height = float(rng.uniform(16, 30))
    mast = _lattice_mast(height, 0.4, paint).transformed(translation(2.4, 0, 0.3))
    parts.append(mast)
    parts.append(beams(np.array([[-1.5, 0.8, 2.5], [-1.5, -0.8, 2.5]]),
                       np.array([[2.4, 0.2, height * 0.7], [2.4, -0.2, height * 0.7]]), 0.2,
                       paint))
    hz = float(rng.uniform(3, height - 4))
    parts.append(box((1.0, 1.0, 3.0), (2.4 + 0.9, 0, hz), STEEL))
    return weathered(concat(parts), rng, float(rng.uniform(0.2, 1.0))), "crawler"


def tower_crane(rng: np.random.Generator) -> tuple[Mesh, str]:
    paint = _paint(rng) if rng.random() < 0.5 else (0.9, 0.7, 0.1)
    height = float(rng.uniform(22, 48))
    jib = float(rng.uniform(30, 55))
    counter = float(rng.uniform(10, 15))
    parts = [box((5, 5, 1.0), (0, 0, 0.5), (0.6, 0.6, 0.58)),
             _lattice_mast(height, 0.9, paint).transformed(translation(0, 0, 1.0))]
    top = 1.0 + height
    parts.append(_lattice_jib(np.array([0, 0, top]), np.array([jib, 0, top]), 1.5, paint))
    parts.append(_lattice_jib(np.array([0, 0, top]), np.array([-counter, 0, top]), 1.2, paint))
    parts.append(box((2.5, 2.4, 2.0), (-counter + 1.5, 0, top - 0.5), (0.6, 0.6, 0.58)))
    parts.append(box((1.8, 1.6, 2.0), (1.2, 1.6, top - 1.0), paint))  # cab
    apex = np.array([0, 0, top + 7.0])
    parts.append(beams(np.array([[0.9, 0.9, top], [-0.9, -0.9, top], [0.9, -0.9, top],
                                 [-0.9, 0.9, top]]), np.tile(apex, (4, 1)), 0.15, paint))
    parts.append(beams(np.tile(apex, (2, 1)), np.array([[jib * 0.7, 0, top + 1.5],
                                                        [-counter, 0, top + 1.2]]), 0.06, STEEL))
    trolley = float(rng.uniform(5, jib - 2))
    hook_z = float(rng.uniform(3, top - 3))
    parts.append(beams(np.array([[trolley, 0, top]]), np.array([[trolley, 0, hook_z]]), 0.05,
                       STEEL))
    parts.append(box((0.6, 0.6, 0.8), (trolley, 0, hook_z - 0.4), (0.85, 0.6, 0.1)))
    return weathered(concat(parts), rng, float(rng.uniform(0, 0.6))), "hammerhead"


def smoke_plume(rng: np.random.Generator) -> tuple[Mesh, Mesh, str]:
    """(opaque flames, translucent smoke, variant); the plume drifts with a random wind."""
    wind = math.radians(rng.uniform(0, 360))
    drift = np.array([math.cos(wind), math.sin(wind), 0.0]) * rng.uniform(0.3, 1.2)
    grey = float(rng.uniform(0.35, 0.85))
    puffs = []
    n = int(rng.integers(10, 18))
    for k in range(n):
        z = 1.0 + k * rng.uniform(1.5, 2.5)
        centre = drift * z + rng.normal(0, 0.6 + 0.15 * k, 3) * (1, 1, 0.3) + (0, 0, z)
        r = 1.2 + 0.45 * k + rng.uniform(0, 0.8)
        g = np.clip(grey + rng.normal(0, 0.05), 0.2, 0.95)
        puffs.append(sphere(tuple(centre), r, (g, g, g * 0.98), subdivisions=2))
    flames = [sphere((rng.normal(0, 1.0), rng.normal(0, 1.0), 0.3),
                     float(rng.uniform(0.4, 1.0)), (1.0, rng.uniform(0.3, 0.6), 0.05), 1)
              for _ in range(int(rng.integers(2, 6)))]
    return concat(flames), concat(puffs), "dark_smoke" if grey < 0.55 else "white_smoke"


def bird_nest(rng: np.random.Generator) -> tuple[Mesh, str]:
    """A flattened tangle of twigs about 0.5-0.9 m across, origin at its base."""
    r = float(rng.uniform(0.25, 0.45))
    body = sphere((0, 0, r * 0.45), r, (0.35, 0.25, 0.15), subdivisions=2)
    pos = body.positions.copy()
    pos[:, 2] = (pos[:, 2] - r * 0.45) * 0.55 + r * 0.45
    pos += rng.normal(0, r * 0.08, pos.shape).astype(np.float32)
    tri = pos.shape[0] // 3
    tint = rng.uniform(0.6, 1.2, tri).repeat(3)[:, None].astype(np.float32)
    body = Mesh(pos, body.normals, np.clip(body.colors * tint, 0, 1).astype(np.float32))
    n = int(rng.integers(25, 45))
    mid = rng.normal(0, r * 0.6, (n, 3)) * (1, 1, 0.3) + (0, 0, r * 0.4)
    d = rng.normal(0, 1, (n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    ln = rng.uniform(0.3, 0.8, (n, 1))
    twigs = beams(mid - d * ln / 2, mid + d * ln / 2, 0.025, (0.4, 0.3, 0.2))
    return concat([body, twigs]), "twigs"


def _frame(tangent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = tangent / np.linalg.norm(tangent)
    side = np.cross(t, [0, 0, 1.0])
    side /= np.linalg.norm(side)
    return t, side


def kite(rng: np.random.Generator, at: np.ndarray, tangent: np.ndarray) -> Mesh:
    t, side = _frame(tangent)
    c1 = np.array([rng.uniform(0.6, 1), rng.uniform(0, 0.5), rng.uniform(0, 0.3)])
    c2 = np.array([rng.uniform(0, 0.3), rng.uniform(0.3, 0.8), rng.uniform(0.5, 1)])
    hang = float(rng.uniform(0.8, 2.5))
    centre = at - np.array([0, 0, hang]) + side * rng.uniform(-0.5, 0.5)
    tilt = float(rng.uniform(-0.4, 0.4))
    up = np.array([0, 0, 1.0]) * math.cos(tilt) + side * math.sin(tilt)
    w, h = float(rng.uniform(0.4, 0.7)), float(rng.uniform(0.6, 1.0))
    top, bottom = centre + up * h * 0.35, centre - up * h * 0.65
    left, right = centre + t * w, centre - t * w
    parts = [quad(np.array([top, left, bottom, centre]), tuple(c1)),
             quad(np.array([top, centre, bottom, right]), tuple(c2))]
    tail = [bottom + np.array([0, 0, -0.4 * i]) + side * 0.15 * math.sin(i) for i in range(6)]
    parts.append(polyline_beams(np.array(tail), 0.04, tuple(c1)))
    string = [at + t * rng.uniform(-3, 3), at, top]
    parts.append(polyline_beams(np.array(string), 0.015, (0.9, 0.9, 0.9)))
    return concat(parts)


def plastic_film(rng: np.random.Generator, at: np.ndarray, tangent: np.ndarray) -> Mesh:
    """A crumpled sheet draped over the conductor, hanging down on both sides."""
    t, side = _frame(tangent)
    colours = [(0.9, 0.9, 0.9), (0.2, 0.35, 0.7), (0.1, 0.1, 0.1), (0.75, 0.2, 0.2),
               (0.3, 0.6, 0.3)]
    rgb = colours[int(rng.integers(len(colours)))]
    width = float(rng.uniform(0.6, 2.0))
    drop = float(rng.uniform(0.5, 1.8))
    nu, nv = 6, 8
    u = np.linspace(-width / 2, width / 2, nu)
    v = np.linspace(-1, 1, nv)  # across the wire: -1 one side, +1 the other
    grid = np.empty((nu, nv, 3))
    for i, uu in enumerate(u):
        for j, vv in enumerate(v):
            fall = drop * (abs(vv) ** 1.3) * rng.uniform(0.7, 1.1)
            grid[i, j] = at + t * uu + side * 0.25 * vv - np.array([0, 0, fall])
    grid += rng.normal(0, 0.06, grid.shape)
    quads = []
    for i in range(nu - 1):
        for j in range(nv - 1):
            shade = float(rng.uniform(0.8, 1.05))
            quads.append(quad(np.array([grid[i, j], grid[i + 1, j], grid[i + 1, j + 1],
                                        grid[i, j + 1]]), tuple(np.clip(np.array(rgb) * shade,
                                                                         0, 1))))
    return concat(quads)


def balloon(rng: np.random.Generator, at: np.ndarray, tangent: np.ndarray) -> Mesh:
    _, side = _frame(tangent)
    parts = []
    for _ in range(int(rng.integers(1, 4))):
        rgb = (rng.uniform(0.5, 1), rng.uniform(0, 0.6), rng.uniform(0, 0.8))
        top = at + np.array([0, 0, rng.uniform(0.8, 2.0)]) + side * rng.normal(0, 0.3)
        r = float(rng.uniform(0.2, 0.4))
        b = sphere((0, 0, 0), r, rgb)
        pos = b.positions * np.array([1, 1, 1.2], np.float32) + top.astype(np.float32)
        parts.append(Mesh(pos, b.normals, b.colors))
        parts.append(polyline_beams(np.array([at, top - (0, 0, r)]), 0.012, (0.9, 0.9, 0.9)))
    return concat(parts)


FOREIGN_OBJECTS: dict[str, Callable[[np.random.Generator, np.ndarray, np.ndarray], Mesh]] = {
    "kite": kite,
    "plastic_film": plastic_film,
    "balloon": balloon,
}

GROUND_MACHINES: dict[str, Callable[[np.random.Generator], tuple[Mesh, str]]] = {
    "tower_crane": tower_crane,
    "truck_crane": truck_crane,
    "excavator": excavator,
    "pump_truck": pump_truck,
    "bulldozer": bulldozer,
    "pile_driver": pile_driver,
}


def placed(mesh: Mesh, position: Sequence[float], yaw_deg: float) -> Mesh:
    """A ground object's mesh turned by ``yaw_deg`` (counter-clockwise, about up) and moved."""
    m = translation(*position) @ rotation_z(yaw_deg)
    return mesh.transformed(m)


def tree(rng: np.random.Generator) -> Mesh:
    """Unlabelled distractor: a trunk and a lumpy crown of 1-3 spheres."""
    height = float(rng.uniform(4, 12))
    green = np.array([0.18, 0.35, 0.12]) * rng.uniform(0.7, 1.3, 3)
    parts = [cylinder_between((0, 0, 0), (0, 0, height * 0.6), 0.15 + height * 0.01,
                              (0.3, 0.22, 0.15), 6)]
    for _ in range(int(rng.integers(1, 4))):
        r = float(rng.uniform(0.2, 0.35) * height)
        c = (rng.normal(0, r * 0.3), rng.normal(0, r * 0.3), height - r * rng.uniform(0.8, 1.1))
        crown = sphere(c, r, tuple(np.clip(green * rng.uniform(0.85, 1.15), 0, 1)), 1)
        parts.append(crown)
    return concat(parts)


def house(rng: np.random.Generator) -> Mesh:
    """Unlabelled distractor: a rural house or shed with a pitched or flat roof."""
    length, width = float(rng.uniform(7, 16)), float(rng.uniform(5, 9))
    wall_h = float(rng.uniform(3, 7))
    walls = [(0.85, 0.85, 0.82), (0.7, 0.68, 0.62), (0.62, 0.38, 0.3)]
    roofs = [(0.2, 0.35, 0.65), (0.6, 0.2, 0.15), (0.45, 0.45, 0.45), (0.75, 0.75, 0.75)]
    wall = walls[int(rng.integers(len(walls)))]
    roof = roofs[int(rng.integers(len(roofs)))]
    parts = [box((length, width, wall_h), (0, 0, wall_h / 2), wall)]
    if rng.random() < 0.6:
        ridge = wall_h + width * rng.uniform(0.2, 0.4)
        for side in (1, -1):
            parts.append(quad(np.array([[-length / 2, side * width / 2, wall_h],
                                        [length / 2, side * width / 2, wall_h],
                                        [length / 2, 0, ridge], [-length / 2, 0, ridge]]), roof))
        for end in (1, -1):
            tri = np.array([[end * length / 2, width / 2, wall_h],
                            [end * length / 2, -width / 2, wall_h],
                            [end * length / 2, 0, ridge], [end * length / 2, 0, ridge]])
            parts.append(quad(tri, wall))
    else:
        parts.append(box((length, width, 0.2), (0, 0, wall_h + 0.1), roof))
    return weathered(concat(parts), rng, float(rng.uniform(0, 0.5)))


def damper(at: np.ndarray, tangent: np.ndarray) -> Mesh:
    """A Stockbridge vibration damper clamped under the conductor at ``at``: a clamp, a short
    messenger cable along the conductor and a weight at each end."""
    t, _ = _frame(tangent)
    metal = (0.5, 0.5, 0.52)
    hang = at - np.array([0.0, 0.0, 0.14])
    ends = [hang - t * 0.3, hang + t * 0.3]
    parts = [beams(np.array([at]), np.array([hang]), 0.05, metal),
             beams(np.array([ends[0]]), np.array([ends[1]]), 0.025, metal)]
    for e in ends:
        parts.append(cylinder_between(e - t * 0.1, e + t * 0.1, 0.045, metal, 8))
    return concat(parts)


def point_along(points: np.ndarray, distance: float, from_end: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """The point ``distance`` metres along a polyline (from its start or end) and the tangent."""
    pts = points[::-1] if from_end else points
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    i = int(np.clip(np.searchsorted(cum, distance) - 1, 0, len(seg) - 1))
    f = (distance - cum[i]) / max(seg[i], 1e-9)
    return pts[i] + f * (pts[i + 1] - pts[i]), pts[i + 1] - pts[i]
