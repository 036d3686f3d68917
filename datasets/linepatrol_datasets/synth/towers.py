"""Lattice towers with cross-arms and insulator strings, and catenary conductors.

Geometry in a tower's local frame: origin at the tower centre on the ground, x along the line
(the bisector of the two spans), y across it, z up. Proportions follow common 110-220 kV
double-circuit steel lattice towers: a tapered body, two or three arm levels per side, I-string
suspension insulators at the arm tips and earth-wire peaks on top.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .mesh import Mesh, beams, concat, cylinder_between, polyline_beams

STEEL = (0.62, 0.64, 0.66)


@dataclass(frozen=True)
class TowerDesign:
    height: float  # to the earth-wire peak, metres
    base_half: float  # half the leg spread at the ground
    waist_half: float  # half-width of the straight upper body
    arm_levels: tuple[float, ...]  # heights of the cross-arms, top first
    arm_lengths: tuple[float, ...]  # from the body face to the tip
    string_length: float  # insulator string, attachment to conductor clamp
    discs: int
    insulator_rgb: tuple[float, float, float]
    steel_rgb: tuple[float, float, float] = STEEL


def random_design(rng: np.random.Generator) -> TowerDesign:
    height = float(rng.uniform(32, 52))
    levels = int(rng.integers(2, 4))
    gap = float(rng.uniform(5.5, 7.5))
    top_arm = height - rng.uniform(5, 7)
    arm_levels = tuple(float(top_arm - i * gap) for i in range(levels))
    base = rng.uniform(5.5, 8.0)
    lengths = tuple(float(base + (1.5 if (levels == 3 and i == 1) else 0.0)
                          + rng.uniform(-0.3, 0.3)) for i in range(levels))
    discs = int(rng.integers(14, 24))
    palette = [(0.42, 0.22, 0.15), (0.50, 0.30, 0.20), (0.30, 0.45, 0.40), (0.55, 0.55, 0.58)]
    ins = palette[int(rng.integers(len(palette)))]
    return TowerDesign(height, float(height * rng.uniform(0.09, 0.12)),
                       float(rng.uniform(0.8, 1.1)), arm_levels, lengths,
                       float(discs * 0.146 + 0.6), discs, ins)


def _half_width(d: TowerDesign, z: float) -> float:
    """Half-width of the body at height z: linear taper to the waist, then straight."""
    waist_z = d.arm_levels[-1] - 1.0
    if z >= waist_z:
        return d.waist_half
    return d.base_half + (d.waist_half - d.base_half) * z / waist_z


@dataclass
class InsulatorString:
    top: np.ndarray  # attachment at the arm tip, local frame
    bottom: np.ndarray  # conductor clamp
    disc_centres: np.ndarray  # (discs, 3)
    side: int  # +1 or -1 (y side)
    level: int


@dataclass
class TowerModel:
    body: Mesh
    strings: list[InsulatorString] = field(default_factory=list)
    peaks: list[np.ndarray] = field(default_factory=list)  # earth-wire attachment points
    nest_sites: list[np.ndarray] = field(default_factory=list)  # arm roots, where birds build


def build_tower(d: TowerDesign) -> TowerModel:
    """Steel body, arms and peaks (one mesh) plus the string and attachment geometry."""
    p0: list[np.ndarray] = []
    p1: list[np.ndarray] = []
    corners = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)
    # Body panels: horizontal rings and X bracing on all four faces.
    top_body = d.arm_levels[0] + 1.5
    zs = [0.0]
    while zs[-1] < top_body - 1e-6:
        h = _half_width(d, zs[-1])
        zs.append(min(top_body, zs[-1] + max(2.2, 0.9 * h)))
    for z in d.arm_levels:
        zs.append(z)
    zs = sorted(set(round(z, 3) for z in zs))
    ring = [np.column_stack([corners * _half_width(d, z), np.full(4, z)]) for z in zs]
    for lo, hi in itertools.pairwise(ring):
        for k in range(4):
            j = (k + 1) % 4
            p0 += [lo[k], lo[k], lo[j]]  # leg, two diagonals
            p1 += [hi[k], hi[j], hi[k]]
    for r in ring[1:]:
        for k in range(4):
            p0.append(r[k])
            p1.append(r[(k + 1) % 4])
    leg_w = 0.22
    body = [beams(np.array(p0[:]), np.array(p1[:]), 0.09, d.steel_rgb)]
    legs0 = [ring[i][k] for i in range(len(ring) - 1) for k in range(4)]
    legs1 = [ring[i + 1][k] for i in range(len(ring) - 1) for k in range(4)]
    body.append(beams(np.array(legs0), np.array(legs1), leg_w, d.steel_rgb))

    model = TowerModel(EMPTY_BODY)
    # Cross-arms: triangular trusses out to a tip on each side.
    a0: list[np.ndarray] = []
    a1: list[np.ndarray] = []
    for level, (z, length) in enumerate(zip(d.arm_levels, d.arm_lengths, strict=True)):
        h = _half_width(d, z)
        for side in (1, -1):
            tip = np.array([0.0, side * (h + length), z])
            bl = np.array([h, side * h, z])
            br = np.array([-h, side * h, z])
            top = np.array([0.0, side * h, z + 2.0])
            for root in (bl, br, top):
                a0.append(root)
                a1.append(tip)
            n_div = max(2, int(length / 1.6))
            for i in range(1, n_div):
                t = i / n_div
                lower_l = bl + (tip - bl) * t
                lower_r = br + (tip - br) * t
                upper = top + (tip - top) * t
                a0 += [lower_l, lower_l, lower_r]
                a1 += [lower_r, upper, upper]
            model.nest_sites.append(np.array([0.0, side * (h + 0.9), z + 0.35]))
            attach = tip.copy()
            bottom = attach - (0, 0, d.string_length)
            first = attach[2] - 0.45
            disc_z = first - 0.146 * np.arange(d.discs)
            discs = np.column_stack([np.zeros(d.discs), np.full(d.discs, tip[1]), disc_z])
            model.strings.append(InsulatorString(attach, bottom, discs, side, level))
    body.append(beams(np.array(a0), np.array(a1), 0.1, d.steel_rgb))
    # Earth-wire peaks.
    hz = d.arm_levels[0] + 1.5
    h = _half_width(d, hz)
    for side in (1, -1):
        peak = np.array([0.0, side * (h + 1.2), d.height])
        for cx, cy in corners:
            if cy == side:
                body.append(beams(np.array([[cx * h, cy * h, hz]]), peak[None, :], 0.12,
                                  d.steel_rgb))
        model.peaks.append(peak)
    model.body = concat(body)
    return model


EMPTY_BODY = Mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32),
                  np.zeros((0, 3), np.float32))


def insulator_mesh(s: InsulatorString, rgb: tuple[float, float, float],
                   skip: tuple[int, ...] = ()) -> Mesh:
    """Rod, end fittings and a stack of discs; ``skip`` leaves discs out (missing caps)."""
    parts = [cylinder_between(s.top, s.bottom, 0.025, (0.55, 0.55, 0.55), 6)]
    for i, c in enumerate(s.disc_centres):
        if i in skip:
            continue
        parts.append(disc_mesh(c, rgb))
    return concat(parts)


def disc_mesh(centre: np.ndarray, rgb: tuple[float, float, float]) -> Mesh:
    t = _disc_template()
    return Mesh(t.positions + np.asarray(centre, np.float32), t.normals,
                np.broadcast_to(np.asarray(rgb, np.float32), t.colors.shape).copy())


@lru_cache(maxsize=1)
def _disc_template() -> Mesh:
    """One cap-and-pin disc at the origin; strings translate copies of it (much faster)."""
    return cylinder_between((0, 0, -0.03), (0, 0, 0.03), 0.14, (1, 1, 1), 10)


def catenary(p_a: np.ndarray, p_b: np.ndarray, a: float, n: int = 48) -> np.ndarray:
    """Points of the catenary with parameter ``a`` (horizontal tension / weight per metre, m)
    hanging from ``p_a`` to ``p_b``; the lowest point is found in closed form."""
    p_a = np.asarray(p_a, dtype=np.float64)
    p_b = np.asarray(p_b, dtype=np.float64)
    horiz = p_b[:2] - p_a[:2]
    span = float(np.linalg.norm(horiz))
    dz = float(p_b[2] - p_a[2])
    x_low = span / 2 - a * math.asinh(dz / (2 * a * math.sinh(span / (2 * a))))
    x = np.linspace(0.0, span, n)
    z = a * (np.cosh((x - x_low) / a) - math.cosh(-x_low / a)) + p_a[2]
    t = x / span
    xy = p_a[:2] + t[:, None] * horiz
    return np.column_stack([xy, z])


def conductor_mesh(points: np.ndarray, width: float = 0.04,
                   rgb: tuple[float, float, float] = (0.45, 0.45, 0.47)) -> Mesh:
    return polyline_beams(points, width, rgb)
