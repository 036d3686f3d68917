"""Triangle-soup meshes with flat colours: the one geometry type the renderer draws.

Every vertex carries position, normal and colour; three consecutive vertices form a triangle.
A soup (no index buffer) keeps per-face colours and normals trivial, and concatenating the
parts of a scene is a single ``np.concatenate``.

Primitives with curvature (cylinders, spheres, cones) come from ``trimesh.creation``. Lattice
members are generated here by :func:`beams`: a tower or crane has thousands of them, and one
vectorised call is two orders of magnitude faster than building and merging a trimesh box each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh


@dataclass(frozen=True)
class Mesh:
    positions: np.ndarray  # (3T, 3) float32
    normals: np.ndarray  # (3T, 3) float32
    colors: np.ndarray  # (3T, 3) float32 in [0, 1], linear-ish sRGB

    @property
    def triangle_count(self) -> int:
        return len(self.positions) // 3

    def transformed(self, matrix: np.ndarray) -> Mesh:
        """The mesh moved by a 4x4 rigid (or uniformly scaled) transform."""
        m = np.asarray(matrix, dtype=np.float64)
        pos = self.positions @ m[:3, :3].T + m[:3, 3]
        nrm = self.normals @ m[:3, :3].T
        nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
        return Mesh(pos.astype(np.float32), nrm.astype(np.float32), self.colors)

    def recoloured(self, rgb: Sequence[float] | np.ndarray) -> Mesh:
        colors = np.broadcast_to(np.asarray(rgb, dtype=np.float32), self.colors.shape)
        return Mesh(self.positions, self.normals, colors.copy())


EMPTY = Mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32),
             np.zeros((0, 3), np.float32))


def concat(meshes: Sequence[Mesh]) -> Mesh:
    meshes = [m for m in meshes if m.triangle_count]
    if not meshes:
        return EMPTY
    return Mesh(np.concatenate([m.positions for m in meshes]),
                np.concatenate([m.normals for m in meshes]),
                np.concatenate([m.colors for m in meshes]))


def from_trimesh(tm: trimesh.Trimesh, rgb: Sequence[float], smooth: bool = False) -> Mesh:
    tris = tm.triangles.reshape(-1, 3)
    if smooth:
        normals = tm.vertex_normals[tm.faces].reshape(-1, 3)
    else:
        normals = np.repeat(tm.face_normals, 3, axis=0)
    colors = np.broadcast_to(np.asarray(rgb, dtype=np.float32), tris.shape)
    return Mesh(tris.astype(np.float32), normals.astype(np.float32), colors.copy())


def translation(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def rotation_z(deg: float) -> np.ndarray:
    return np.asarray(trimesh.transformations.rotation_matrix(np.radians(deg), (0, 0, 1)),
                      dtype=np.float64)


def rotation_y(deg: float) -> np.ndarray:
    return np.asarray(trimesh.transformations.rotation_matrix(np.radians(deg), (0, 1, 0)),
                      dtype=np.float64)


def rotation_x(deg: float) -> np.ndarray:
    return np.asarray(trimesh.transformations.rotation_matrix(np.radians(deg), (1, 0, 0)),
                      dtype=np.float64)


def box(extents: Sequence[float], centre: Sequence[float], rgb: Sequence[float],
        transform: np.ndarray | None = None) -> Mesh:
    """Axis-aligned box at ``centre`` (then ``transform``, if given)."""
    tm = trimesh.creation.box(extents=extents, transform=translation(*centre))
    m = from_trimesh(tm, rgb)
    return m.transformed(transform) if transform is not None else m


def cylinder_between(p0: Sequence[float] | np.ndarray, p1: Sequence[float] | np.ndarray,
                     radius: float,
                     rgb: Sequence[float], sections: int = 12) -> Mesh:
    segment = np.array([p0, p1], dtype=np.float64)
    tm = trimesh.creation.cylinder(radius=radius, segment=segment, sections=sections)
    return from_trimesh(tm, rgb, smooth=True)


def wheel(centre: Sequence[float], radius: float, width: float, rgb: Sequence[float]) -> Mesh:
    """A cylinder with its axis along y (a vehicle's axle direction)."""
    c = np.asarray(centre, dtype=np.float64)
    half = np.array([0.0, width / 2, 0.0])
    return cylinder_between(c - half, c + half, radius, rgb, 14)


def sphere(centre: Sequence[float], radius: float, rgb: Sequence[float],
           subdivisions: int = 2) -> Mesh:
    tm = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    tm.apply_translation(centre)
    return from_trimesh(tm, rgb, smooth=True)


def beams(p0: np.ndarray, p1: np.ndarray, width: float | np.ndarray,
          rgb: Sequence[float]) -> Mesh:
    """Square-section prisms from each ``p0[i]`` to ``p1[i]`` (lattice members, cables).

    Hand-vectorised (see the module docstring): 12 triangles per member, flat normals. Winding
    is not consistent; the renderer draws both faces and orients normals towards the viewer.
    """
    p0 = np.atleast_2d(np.asarray(p0, dtype=np.float64))
    p1 = np.atleast_2d(np.asarray(p1, dtype=np.float64))
    n = len(p0)
    if n == 0:
        return EMPTY
    w = np.broadcast_to(np.asarray(width, dtype=np.float64), (n,))[:, None] / 2
    d = p1 - p0
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    helper = np.where(np.abs(d[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    a = np.cross(d, helper)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(d, a)
    # Corners around the axis, counter-clockwise seen from p1.
    offs = np.stack([a + b, -a + b, -a - b, a - b], axis=1) * w[:, None]  # (n, 4, 3)
    c0 = p0[:, None, :] + offs
    c1 = p1[:, None, :] + offs
    tris = []
    normals = []
    for k in range(4):
        j = (k + 1) % 4
        face_n = offs[:, k] + offs[:, j]
        face_n /= np.maximum(np.linalg.norm(face_n, axis=1, keepdims=True), 1e-12)
        tris += [np.stack([c0[:, k], c0[:, j], c1[:, j]], 1), np.stack([c0[:, k], c1[:, j],
                                                                          c1[:, k]], 1)]
        normals += [face_n, face_n]
    for cap, sign in ((c0, -1.0), (c1, 1.0)):
        tris += [np.stack([cap[:, 0], cap[:, 1], cap[:, 2]], 1),
                 np.stack([cap[:, 0], cap[:, 2], cap[:, 3]], 1)]
        normals += [d * sign, d * sign]
    tri = np.stack(tris, axis=1).reshape(-1, 3)  # (n*12*3, 3)
    nrm = np.repeat(np.stack(normals, axis=1), 3, axis=1).reshape(-1, 3)
    colors = np.broadcast_to(np.asarray(rgb, dtype=np.float32), tri.shape)
    return Mesh(tri.astype(np.float32), nrm.astype(np.float32), colors.copy())


def polyline_beams(points: np.ndarray, width: float, rgb: Sequence[float]) -> Mesh:
    points = np.asarray(points, dtype=np.float64)
    return beams(points[:-1], points[1:], width, rgb)


def quad(corners: np.ndarray, rgb: Sequence[float], double_sided: bool = False) -> Mesh:
    """A planar quad from four corners in order (two triangles, both faces if asked)."""
    c = np.asarray(corners, dtype=np.float64)
    tri = np.array([c[0], c[1], c[2], c[0], c[2], c[3]])
    n = np.cross(c[1] - c[0], c[2] - c[0])
    n /= max(np.linalg.norm(n), 1e-12)
    nrm = np.tile(n, (6, 1))
    if double_sided:
        tri = np.concatenate([tri, tri[[0, 2, 1, 3, 5, 4]]])
        nrm = np.concatenate([nrm, -nrm])
    colors = np.broadcast_to(np.asarray(rgb, dtype=np.float32), tri.shape)
    return Mesh(tri.astype(np.float32), nrm.astype(np.float32), colors.copy())


def weathered(mesh: Mesh, rng: np.random.Generator, amount: float,
              dirt: Sequence[float] = (0.35, 0.3, 0.25)) -> Mesh:
    """Per-triangle wear: random darkening and a pull towards a dirt colour.

    ``amount`` in [0, 1]: 0 is factory paint, 1 is a heavily used machine.
    """
    t = mesh.triangle_count
    if t == 0 or amount <= 0:
        return mesh
    shade = 1.0 - amount * 0.35 * rng.random(t)
    mix = amount * 0.5 * rng.random(t) ** 2
    col = mesh.colors.reshape(t, 3, 3) * shade[:, None, None]
    col = col * (1 - mix[:, None, None]) + mix[:, None, None] * np.asarray(dirt, np.float32)
    return Mesh(mesh.positions, mesh.normals, np.clip(col.reshape(-1, 3), 0, 1)
                .astype(np.float32))
