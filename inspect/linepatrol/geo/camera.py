"""Pinhole camera maths for DJI-style poses: pure numpy in, numpy out, no I/O.

Conventions (measured for this project, see ``shared/docs/rendering.md``; the synthetic-scene
renderer uses the same ones, so its round-trip tests hold this module to them):

* World frame: local East-North-Up (ENU), metres. A camera pose is placed in a frame whose
  origin the caller chooses (usually the camera itself, see :mod:`linepatrol.geo.geodesy`).
* Intrinsics: OpenCV's K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]; pixel *centres* sit on
  integer coordinates, so the centre of a W-pixel-wide image is at x = (W - 1) / 2.
* Camera axes: x right, y down, z forward (OpenCV).
* Orientation from DJI gimbal angles, in degrees: yaw clockwise from true north (−180…180),
  pitch 0 = horizon and −90 = nadir, roll about the optical axis (positive = right side down)::

      R = Rz(-yaw) · Rx(pitch) · R0 · Rz(roll)

  where R0 maps camera (right, down, forward) to (east, −up, north). ``R`` maps camera
  coordinates to ENU: ``d_world = R @ d_camera``. This is the same rotation as the aerospace
  yaw-pitch-roll (Z-Y-X) sequence in a north-east-down frame with the camera looking along the
  body's x axis; the tests check the two formulations against each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# camera (right, down, forward) -> (east, -up, north): the columns are the images of the axes.
_R0 = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera's K in pixels, for an image of ``width`` x ``height`` pixels.

    ``distortion``: OpenCV's (k1, k2, p1, p2, k3) when the image still carries its lens
    distortion (DJI ``DewarpData`` of a photo taken without dewarping); None for an
    undistorted image, the usual case for DJI inspection JPEGs.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, float, float, float, float] | None = None

    @property
    def matrix(self) -> FloatArray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def _rz(deg: float) -> FloatArray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rx(deg: float) -> FloatArray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_camera_to_enu(yaw: float, pitch: float, roll: float) -> FloatArray:
    """The 3x3 rotation taking camera (right, down, forward) vectors into ENU (see module doc)."""
    rotation: FloatArray = _rz(-yaw) @ _rx(pitch) @ _R0 @ _rz(roll)
    return rotation


def pixel_to_ray(
    intrinsics: Intrinsics, rotation: FloatArray, pixels: npt.ArrayLike
) -> FloatArray:
    """Unit viewing rays in ENU for pixels ``(N, 2)`` given as (x, y), pixel centres on integers.

    With ``intrinsics.distortion`` the pixels are first undistorted by OpenCV's iterative
    inverse of its lens model (to 1e-10 in normalised coordinates).
    """
    px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    if intrinsics.distortion is not None and len(px):
        normalised = _undistort(intrinsics, px)
    else:
        normalised = np.stack(
            [(px[:, 0] - intrinsics.cx) / intrinsics.fx,
             (px[:, 1] - intrinsics.cy) / intrinsics.fy],
            axis=1,
        )
    cam = np.concatenate([normalised, np.ones((len(px), 1))], axis=1)
    world: FloatArray = cam @ rotation.T
    unit: FloatArray = world / np.linalg.norm(world, axis=1, keepdims=True)
    return unit


def project_world_to_pixel(
    intrinsics: Intrinsics, rotation: FloatArray, centre: npt.ArrayLike, points: npt.ArrayLike
) -> FloatArray:
    """Pixels ``(N, 2)`` of ENU points ``(N, 3)`` seen from a camera at ``centre`` (ENU).

    Points at or behind the camera plane get NaN: they have no image.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    c = np.asarray(centre, dtype=np.float64).reshape(3)
    cam = (pts - c) @ rotation  # R^T (X - C), row-wise
    z = cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        x, y = cam[:, 0] / z, cam[:, 1] / z
    if intrinsics.distortion is not None:
        x, y = distort_normalised(intrinsics.distortion, x, y)
    out = np.stack([intrinsics.fx * x + intrinsics.cx, intrinsics.fy * y + intrinsics.cy], axis=1)
    out[~(z > 1e-9)] = np.nan
    return out


def distort_normalised(
    distortion: tuple[float, float, float, float, float], x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """OpenCV's (Brown–Conrady) lens model on normalised image coordinates."""
    k1, k2, p1, p2, k3 = distortion
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return xd, yd


def _undistort(intrinsics: Intrinsics, px: FloatArray) -> FloatArray:
    import cv2

    assert intrinsics.distortion is not None
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    out = cv2.undistortPoints(
        px.reshape(-1, 1, 2), intrinsics.matrix, np.array(intrinsics.distortion),
        R=None, P=None, criteria=criteria,
    )
    normalised: FloatArray = np.asarray(out, dtype=np.float64).reshape(-1, 2)
    return normalised


def ray_plane_distance(origin: npt.ArrayLike, dirs: npt.ArrayLike, height: float) -> FloatArray:
    """Distance along each unit ray ``(N, 3)`` to the horizontal plane ``up == height``.

    NaN where the ray runs level or upward, or the plane is behind the origin: no intersection.
    """
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        t: FloatArray = (height - o[2]) / d[:, 2]
    t[~(t > 0) | (d[:, 2] >= 0)] = np.nan
    return t


def ray_to_vertical_axis(
    origin: npt.ArrayLike,
    dirs: npt.ArrayLike,
    axis_xy: npt.ArrayLike,
    z_range: tuple[float, float],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Closest approach between rays and the vertical segment of a tower's axis.

    ``origin`` (3,), unit ``dirs`` (N, 3); the axis stands at ``axis_xy`` (2,) from
    ``z_range[0]`` (its foot) to ``z_range[1]`` (its top). Returns, per ray, the distance between
    ray and axis segment, the distance along the ray ``t`` (≥ 0) and the height ``z`` of the
    closest point on the axis. A ray that looks straight down the axis still gets a sensible
    answer (horizontal offset) because the horizontal and vertical parts are solved separately:
    the horizontal closest approach fixes ``t``; the axis height is then the ray's height there,
    clamped to the segment.
    """
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    a = np.asarray(axis_xy, dtype=np.float64).reshape(2)
    dh = d[:, :2]
    rel = a - o[:2]
    hh = np.einsum("ij,ij->i", dh, dh)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(hh > 1e-12, (dh @ rel) / hh, 0.0)
    t = np.maximum(t, 0.0)
    z_on_ray = o[2] + t * d[:, 2]
    z = np.clip(z_on_ray, z_range[0], z_range[1])
    # where the ray passes above or below the segment, the closest point moves along the ray too
    clamped = z != z_on_ray
    if np.any(clamped):
        # solve the full 3D closest approach of ray to the point (axis_xy, z) for clamped rays
        p = np.stack([np.full_like(z, a[0]), np.full_like(z, a[1]), z], axis=1)
        t_pt = np.maximum(np.einsum("ij,ij->i", p - o, d), 0.0)
        t = np.where(clamped, t_pt, t)
    closest = o + t[:, None] * d
    axis_pt = np.stack([np.full_like(z, a[0]), np.full_like(z, a[1]), z], axis=1)
    dist = np.linalg.norm(closest - axis_pt, axis=1)
    return dist, t, z


def ray_curtain_hit(
    origin: npt.ArrayLike,
    dirs: npt.ArrayLike,
    a_xy: npt.ArrayLike,
    b_xy: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Where rays cross the vertical plane through the points ``a_xy`` and ``b_xy`` (a span).

    Returns ``t`` (distance along the ray, NaN if the ray runs parallel or the plane is behind),
    ``s`` (position between a = 0 and b = 1 of the crossing) and the crossing height ``z``.
    A conductor hangs in this "curtain" between its two towers, so the crossing is where a
    conductor object seen along the ray must be.
    """
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    a = np.asarray(a_xy, dtype=np.float64).reshape(2)
    b = np.asarray(b_xy, dtype=np.float64).reshape(2)
    seg = b - a
    normal = np.array([-seg[1], seg[0]])
    denom = d[:, :2] @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ((a - o[:2]) @ normal) / denom
    t[~(t > 0) | (np.abs(denom) < 1e-12)] = np.nan
    hit: FloatArray = o[:2] + t[:, None] * d[:, :2]
    length2 = float(seg @ seg)
    s = ((hit - a) @ seg) / length2 if length2 > 0 else np.full(len(t), np.nan)
    z = o[2] + t * d[:, 2]
    return t, s, z


def point_segment_distance_2d(
    points: npt.ArrayLike, a_xy: npt.ArrayLike, b_xy: npt.ArrayLike
) -> FloatArray:
    """Horizontal distance from points ``(N, 2)`` to the segment a–b (a span's centre line)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    a = np.asarray(a_xy, dtype=np.float64).reshape(2)
    b = np.asarray(b_xy, dtype=np.float64).reshape(2)
    seg = b - a
    length2 = float(seg @ seg)
    s = np.zeros(len(p)) if length2 == 0 else np.clip(((p - a) @ seg) / length2, 0.0, 1.0)
    nearest = a + s[:, None] * seg
    dist: FloatArray = np.linalg.norm(p - nearest, axis=1)
    return dist


def flat_ground_uncertainty(
    height_above_ground: float,
    dirs: npt.ArrayLike,
    sigma_height_m: float,
    sigma_angle_deg: float,
) -> FloatArray:
    """1-sigma horizontal error (m) of flat-ground points, from altitude and angle errors.

    First-order propagation on a flat plane: with the ray's depression angle θ below the horizon
    and horizontal range r = h / tan θ, an altitude error moves the point by σh / tan θ along the
    ray's azimuth, an elevation-angle error by h σθ / sin² θ, and a heading error by r σθ across
    it. The three are independent and added in quadrature. NaN for rays that miss the ground.
    """
    d = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    horiz = np.linalg.norm(d[:, :2], axis=1)
    down = -d[:, 2]
    sig = np.radians(sigma_angle_deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        tan_t = down / horiz
        sin_t = down
        rng = height_above_ground / tan_t
        along_h = sigma_height_m / tan_t
        along_a = height_above_ground * sig / sin_t**2
        across = rng * sig
        out = np.sqrt(along_h**2 + along_a**2 + across**2)
    out[~(down > 0)] = np.nan
    return np.asarray(out, dtype=np.float64)


def triangulate(
    origins: npt.ArrayLike, dirs: npt.ArrayLike, min_angle_deg: float = 5.0
) -> tuple[FloatArray, FloatArray] | None:
    """The point closest to all rays (least squares), and each ray's distance to it.

    Minimises the sum of squared perpendicular distances: Σ (I − d dᵀ) X = Σ (I − d dᵀ) C.
    None when the rays are too close to parallel to fix a point along them (the two largest
    angular spreads below ``min_angle_deg``) or when the point is behind any camera.
    """
    c = np.asarray(origins, dtype=np.float64).reshape(-1, 3)
    d = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    if len(d) < 2:
        return None
    projectors = np.eye(3)[None, :, :] - d[:, :, None] * d[:, None, :]
    a = projectors.sum(axis=0)
    b = np.einsum("nij,nj->i", projectors, c)
    # the smallest eigenvalue of A / n is about the mean sin² of the rays' spread
    if np.linalg.eigvalsh(a / len(d))[0] < np.sin(np.radians(min_angle_deg)) ** 2 / 2:
        return None
    point: FloatArray = np.linalg.solve(a, b)
    along = np.einsum("ij,ij->i", point - c, d)
    if np.any(along <= 0):
        return None
    residual: FloatArray = np.linalg.norm((point - c) - along[:, None] * d, axis=1)
    return point, residual


def line_direction(
    before_xy: npt.ArrayLike | None, at_xy: npt.ArrayLike, after_xy: npt.ArrayLike | None
) -> FloatArray | None:
    """Unit horizontal direction of a line at a tower, from its neighbours on the line.

    The mean of the directions of the spans on either side: at an angle tower that is the
    bisector, and its cross-arms run across it (they bisect the line's angle so that both
    spans pull the arm tips alike). An end tower has one span; a lone tower has none (None).
    """
    at = np.asarray(at_xy, dtype=np.float64).reshape(2)
    total = np.zeros(2)
    for p, q in ((before_xy, at), (at, after_xy)):
        if p is None or q is None:
            continue
        v = np.asarray(q, dtype=np.float64).reshape(2) - np.asarray(p, dtype=np.float64).reshape(2)
        n = float(np.linalg.norm(v))
        if n > 0:
            total += v / n
    norm = float(np.linalg.norm(total))
    if norm < 1e-9:  # no neighbour, or a line that doubles back on itself
        return None
    out: FloatArray = total / norm
    return out


CROSS_ARM_PULL = float(np.sin(np.radians(2.0)) ** 2)


def cross_arm_point(
    origins: npt.ArrayLike,
    dirs: npt.ArrayLike,
    axis_xy: npt.ArrayLike,
    along_xy: npt.ArrayLike,
    half_span: float,
    z_range: tuple[float, float],
) -> tuple[FloatArray, FloatArray] | None:
    """The point of a tower's cross-arm plane that best fits viewing rays, and each ray's miss.

    Why: a tower's cross-arms, the insulator strings hanging from their tips and what sits on
    them (nests at the arm roots, a string's missing cap, pins, corrosion) lie in one vertical
    plane: through the tower's axis, across the line (``along_xy`` is the line's direction at
    the tower, see :func:`line_direction`). Placing such an object on the axis misses it by up
    to the arm's length, 6-10 m on a 220 kV tower; the ray through its box crosses that plane
    where the object is.

    Least squares over the plane's two coordinates (s across the line from the axis, z up):
    minimise Σ |(I − d dᵀ)(X − C)|², each ray's perpendicular distance to X. One ray gives its
    crossing; several give the in-plane point nearest all of them (triangulation in the plane),
    where a ray lying almost in the plane (a view along the arms) only fixes the component
    across its own direction, which is all it knows. A weak pull (weight sin² 2°) towards the
    axis at the height where the rays pass it settles what no ray fixes (every ray in the plane,
    or straight down for the height); it moves a point seen at ≥ 15° to the plane by < 2 % of
    its distance from the axis. ``s`` is clamped to ±``half_span`` (a ray grazing the plane
    would put the object beyond any arm) and ``z`` to ``z_range``.

    ``origins`` and unit ``dirs`` (N, 3) in ENU; returns (point (3,), miss (N,)), or None when
    the point lies behind a camera.
    """
    c = np.asarray(origins, dtype=np.float64).reshape(-1, 3)
    d = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    axis = np.asarray(axis_xy, dtype=np.float64).reshape(2)
    along = np.asarray(along_xy, dtype=np.float64).reshape(2)
    along = along / np.linalg.norm(along)
    basis = np.array([[-along[1], 0.0], [along[0], 0.0], [0.0, 1.0]])  # columns: across, up
    p0 = np.array([axis[0], axis[1], 0.0])
    projectors = np.eye(3)[None, :, :] - d[:, :, None] * d[:, None, :]
    a = np.einsum("ki,nkl,lj->ij", basis, projectors, basis)
    b = np.einsum("ki,nkl,nl->i", basis, projectors, c - p0)
    # the heights at which the rays pass the axis horizontally closest (as
    # ray_to_vertical_axis), below the camera: a ray straight down the axis passes it everywhere
    dh = d[:, :2]
    hh = np.einsum("ij,ij->i", dh, dh)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(hh > 1e-12, np.einsum("ij,ij->i", dh, axis - c[:, :2]) / hh, 0.0)
    z_axis = np.minimum(np.clip(c[:, 2] + np.maximum(t, 0.0) * d[:, 2], *z_range), c[:, 2] - 1.0)
    pull = CROSS_ARM_PULL
    a = a + pull * np.eye(2)
    b = b + pull * np.array([0.0, float(np.mean(z_axis))])
    s, z = np.linalg.solve(a, b)
    if not -half_span <= s <= half_span:
        s = float(np.clip(s, -half_span, half_span))
        z = (b[1] - a[1, 0] * s) / a[1, 1]
    if not z_range[0] <= z <= z_range[1]:
        z = float(np.clip(z, *z_range))
        s = float(np.clip((b[0] - a[0, 1] * z) / a[0, 0], -half_span, half_span))
    point: FloatArray = p0 + basis @ np.array([s, z])
    rel = point - c
    along_ray = np.einsum("ij,ij->i", rel, d)
    if np.any(along_ray <= 0):
        return None
    miss: FloatArray = np.linalg.norm(rel - along_ray[:, None] * d, axis=1)
    return point, miss


def nadir_side_point(
    intrinsics: Intrinsics, rotation: FloatArray, box: tuple[float, float, float, float]
) -> tuple[float, float]:
    """Where an upright object standing on the ground meets the edge of its box.

    Verticals in a photo converge on the nadir point (the image of straight down; far below the
    frame in an oblique view, at the centre of a view straight down), and every point of an
    object is further from it than the ground under it: the object's foot is the side of its
    box that faces the nadir point. In an oblique view that is the bottom edge; straight down it
    is the side towards the image centre, whereas the bottom edge there can be a crane's jib or
    a pile driver's mast top leaning out of the frame.

    ``box`` is (x0, y0, x1, y1) in pixel-centre coordinates. Returns the point where the line
    from the box centre towards the nadir point leaves the box, or the nadir point itself when
    it lies inside the box (the camera is over the object). Lens distortion is neglected (the
    direction only).
    """
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    down = rotation.T @ np.array([0.0, 0.0, -1.0])  # straight down, in camera axes
    nx, ny = (cx - intrinsics.cx) / intrinsics.fx, (cy - intrinsics.cy) / intrinsics.fy
    # image direction in which a point at the box centre moves as it goes down
    dx = intrinsics.fx * (down[0] - nx * down[2])
    dy = intrinsics.fy * (down[1] - ny * down[2])
    if down[2] > 1e-9:
        vx = intrinsics.fx * down[0] / down[2] + intrinsics.cx
        vy = intrinsics.fy * down[1] / down[2] + intrinsics.cy
        if x0 <= vx <= x1 and y0 <= vy <= y1:
            return float(vx), float(vy)
    steps = [(edge - c) / d for d, c, lo, hi in ((dx, cx, x0, x1), (dy, cy, y0, y1))
             if abs(d) > 1e-12 for edge in ((hi,) if d > 0 else (lo,))]
    if not steps:
        return cx, y1
    t = min(steps)
    return float(cx + t * dx), float(cy + t * dy)


CHI2_2D_99 = 9.21  # 99 % of a 2-D Gaussian lies within this squared Mahalanobis distance


def fuse_estimates(
    points: npt.ArrayLike, covs: npt.ArrayLike, weights: npt.ArrayLike | None = None,
    gate: float = CHI2_2D_99,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Information-weighted mean of horizontal estimates (N, 2) with covariances (N, 2, 2).

    Each view of a machine fixes its footprint well along the view (from the box's foot) and
    poorly across it (where, across the box, the base is: a slewed boom widens the box), so
    views from different sides cross like lines, and a plain mean would keep every view's
    across-error. ``weights`` (e.g. confidences) scale each view's information. Robust: while
    more than two views remain and one lies outside ``gate`` (squared Mahalanobis distance under
    its own covariance) of the fused point, the worst is dropped (a hook hanging near the ground
    taken for the foot, an occluded base).

    Returns (point, its covariance, which views were kept).
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    c = np.asarray(covs, dtype=np.float64).reshape(-1, 2, 2)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=np.float64)
    info = np.linalg.inv(c) * w[:, None, None]
    keep = np.ones(len(p), dtype=bool)
    while True:
        total = info[keep].sum(axis=0)
        point: FloatArray = np.linalg.solve(total, np.einsum("nij,nj->i", info[keep], p[keep]))
        if keep.sum() <= 2:
            break
        r = p - point
        d2 = np.einsum("ni,nij,nj->n", r, np.linalg.inv(c), r)
        d2[~keep] = -1.0
        worst = int(np.argmax(d2))
        if d2[worst] <= gate:
            break
        keep[worst] = False
    cov: FloatArray = np.linalg.inv(info[keep].sum(axis=0))
    return point, cov, keep
