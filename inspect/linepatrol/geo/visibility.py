"""Which towers and spans a photo shows, and how finely: the geometry of visual coverage.

The rule (the records and the defaults are :mod:`linepatrol.geo.coverage`'s):

* A point is *in frame* when it lies in front of the camera and projects inside the image,
  ``edge_margin`` of its width / height away from the border; it is *seen* when, moreover, an
  object of ``object_size_m`` (a missing cap) at its range spans at least ``min_object_px``
  pixels: ``object_size_m * f / range``, f the focal length in pixels (the smaller of fx, fy).
* A tower is seen by a photo when any of its sample points is: on its axis at the top (the
  ledger's ground elevation plus height) and down through the cross-arms where the insulator
  strings hang (:data:`TOWER_SAMPLE_FRACTIONS` of the height).
* A span's conductor is sampled at ``span_samples`` points between its towers (their ends
  left out), at conductor height (:data:`linepatrol.geo.locate.CONDUCTOR_HEIGHT_FRACTION`)
  with a parabolic sag of :data:`SAG_FRACTION` of its length at mid-span; a flight covers a
  span when its photos together saw at least ``span_min_fraction`` of the points.
* Ground sample distance at the object: range / f (metres per pixel, reported in cm).

The camera maths is the geotagger's: each photo's :class:`~linepatrol.geo.locate.PhotoGeometry`
(its ENU frame, the ground under towers the ledger gives no elevation for, the default tower
height) and :func:`~linepatrol.geo.camera.project_world_to_pixel` (lens distortion included).
Occlusion is not modelled: a tower behind a hill or another tower counts as in view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from linepatrol.geo.camera import Intrinsics, project_world_to_pixel
from linepatrol.geo.coverage import (
    DEFAULT_COVERAGE,
    Coverage,
    CoverageConfig,
    CoverageItem,
    only_line,
)
from linepatrol.geo.ledger import Ledger
from linepatrol.geo.locate import (
    CONDUCTOR_HEIGHT_FRACTION,
    GeoConfig,
    PhotoGeometry,
    make_ground,
)
from linepatrol.geo.pose import CameraPose

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Down a tower from its top: the earth-wire peak, then the cross-arms and the insulator strings
# hanging from them, down to where the conductors hang.
TOWER_SAMPLE_FRACTIONS = (1.0, 0.85, CONDUCTOR_HEIGHT_FRACTION)
# Mid-span sag as a fraction of the span's length: transmission conductors are strung to sag
# some 2-4 % of the span at everyday temperatures. Without it a close view of mid-span would be
# aimed several metres above the conductor.
SAG_FRACTION = 0.03


@dataclass(frozen=True)
class PhotoView:
    """What one photo shows of a ledger: per tower whether it was seen and the finest ground
    sample distance (m/px) among its points in frame (NaN: none in frame); per span which of
    its sample points were seen (spans x samples) and the same distance."""

    tower_seen: BoolArray
    tower_gsd_m: FloatArray
    span_seen: BoolArray
    span_gsd_m: FloatArray


def span_fractions(samples: int) -> FloatArray:
    """Where along a span (0 at its first tower, 1 at its second) the conductor is sampled."""
    fractions: FloatArray = np.arange(1, samples + 1, dtype=np.float64) / (samples + 1)
    return fractions


def _sample_points(geom: PhotoGeometry, ledger: Ledger, samples: int) -> tuple[FloatArray,
                                                                               FloatArray]:
    """ENU points in the photo's frame: towers (T, k, 3) and span conductors (S, samples, 3);
    NaN for towers too far from the photo to be in its tower table (and their spans)."""
    table = geom.tower_table(ledger)
    n = len(ledger.towers)
    feet = np.full((n, 2), np.nan)
    z0 = np.full(n, np.nan)
    z1 = np.full(n, np.nan)
    for i, t in enumerate(ledger.towers):
        entry = table.get((t.line, t.tower))
        if entry is not None:
            feet[i], z0[i], z1[i] = entry[0][:2], entry[1], entry[2]
    fractions = np.asarray(TOWER_SAMPLE_FRACTIONS)
    towers = np.empty((n, len(fractions), 3))
    towers[:, :, :2] = feet[:, None, :]
    towers[:, :, 2] = z0[:, None] + fractions[None, :] * (z1 - z0)[:, None]
    index = {(t.line, t.tower): i for i, t in enumerate(ledger.towers)}
    ends = np.array([(index[(s.a.line, s.a.tower)], index[(s.b.line, s.b.tower)])
                     for s in ledger.spans], dtype=np.int64).reshape(-1, 2)
    a, b = ends[:, 0], ends[:, 1]
    hang = z0 + CONDUCTOR_HEIGHT_FRACTION * (z1 - z0)  # where the conductors hang at each tower
    length = np.hypot(*(feet[b] - feet[a]).T)
    s = span_fractions(samples)[None, :]
    spans = np.empty((len(ends), samples, 3))
    spans[:, :, :2] = feet[a][:, None, :] + s[:, :, None] * (feet[b] - feet[a])[:, None, :]
    spans[:, :, 2] = (hang[a][:, None] + s * (hang[b] - hang[a])[:, None]
                      - 4.0 * SAG_FRACTION * length[:, None] * s * (1.0 - s))
    return towers, spans


def _in_frame(intrinsics: Intrinsics, rotation: FloatArray, points: FloatArray,
              margin: float) -> BoolArray:
    """Points (N, 3) in front of the camera at the origin and inside the image's margin."""
    w, h = intrinsics.width, intrinsics.height
    px = project_world_to_pixel(intrinsics, rotation, np.zeros(3), points)
    with np.errstate(invalid="ignore"):
        inside: BoolArray = ((px[:, 0] >= margin * w - 0.5) & (px[:, 0] <= (1 - margin) * w - 0.5)
                             & (px[:, 1] >= margin * h - 0.5)
                             & (px[:, 1] <= (1 - margin) * h - 0.5))
        if intrinsics.distortion is not None:
            # a lens polynomial can fold a point far outside the view back into the frame:
            # it must be near the frame in the undistorted image too
            plain = project_world_to_pixel(replace(intrinsics, distortion=None), rotation,
                                           np.zeros(3), points)
            inside &= ((plain[:, 0] > -0.5 * w) & (plain[:, 0] < 1.5 * w)
                       & (plain[:, 1] > -0.5 * h) & (plain[:, 1] < 1.5 * h))
    return inside


def photo_view(geom: PhotoGeometry, ledger: Ledger,
               config: CoverageConfig = DEFAULT_COVERAGE) -> PhotoView | None:
    """What the photo of ``geom`` shows of ``ledger`` (None when its pose cannot be placed)."""
    if geom.error:
        return None
    towers, spans = _sample_points(geom, ledger, config.span_samples)
    points = np.concatenate([towers.reshape(-1, 3), spans.reshape(-1, 3)])
    intrinsics = geom.pose.intrinsics
    focal = min(intrinsics.fx, intrinsics.fy)
    in_frame = _in_frame(intrinsics, geom.rotation, points, config.edge_margin)
    in_frame &= np.all(np.isfinite(points), axis=1)
    ranges = np.linalg.norm(points, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        gsd = np.where(in_frame, ranges / focal, np.nan)
        seen = in_frame & (config.object_size_m / gsd >= config.min_object_px)
    n_tower = towers.shape[0] * towers.shape[1]
    t_gsd = gsd[:n_tower].reshape(towers.shape[:2])
    s_gsd = gsd[n_tower:].reshape(spans.shape[:2])
    tower_seen: BoolArray = np.any(seen[:n_tower].reshape(towers.shape[:2]), axis=1)
    return PhotoView(
        tower_seen=tower_seen,
        tower_gsd_m=_nanmin_rows(t_gsd),
        span_seen=seen[n_tower:].reshape(spans.shape[:2]),
        span_gsd_m=_nanmin_rows(s_gsd),
    )


def _nanmin_rows(values: FloatArray) -> FloatArray:
    """Each row's smallest finite value, NaN for a row with none (without numpy's warning)."""
    out: FloatArray = np.where(np.isfinite(values), values, np.inf).min(axis=1, initial=np.inf)
    out[~np.isfinite(out)] = np.nan
    return out


def flight_coverage(
    ledger: Ledger, poses: Iterable[CameraPose], config: CoverageConfig = DEFAULT_COVERAGE,
    geo: GeoConfig | None = None, line: str | None = None,
) -> Coverage:
    """Which towers and spans of ``ledger`` (of its ``line`` when given) the photos taken from
    ``poses`` covered (see the module's rule). ``geo`` gives the ground under towers without a
    ledger elevation and the default tower height, as for geotagging. Photos whose pose cannot
    be placed count for nothing. Raises :class:`linepatrol.geo.ground.GroundError` only for an
    unusable configured DEM."""
    geo = geo or GeoConfig()
    ledger = only_line(ledger, line)
    ground = make_ground(geo)
    spans = ledger.spans
    n_t, n_s = len(ledger.towers), len(spans)
    tower_photos = np.zeros(n_t, dtype=np.int64)
    tower_gsd = np.full(n_t, np.inf)
    span_photos = np.zeros(n_s, dtype=np.int64)
    span_gsd = np.full(n_s, np.inf)
    span_union = np.zeros((n_s, config.span_samples), dtype=bool)
    for pose in poses:
        view = photo_view(PhotoGeometry(pose, geo, ground), ledger, config)
        if view is None:
            continue
        tower_photos += view.tower_seen
        tower_gsd = np.fmin(tower_gsd, view.tower_gsd_m)
        span_photos += view.span_seen.any(axis=1)
        span_gsd = np.fmin(span_gsd, view.span_gsd_m)
        span_union |= view.span_seen
    fraction = span_union.mean(axis=1) if n_s else np.zeros(0)

    def cm(value: float) -> float | None:
        return float(value) * 100.0 if np.isfinite(value) else None

    return Coverage(
        towers=tuple(
            CoverageItem("tower", t.tower, t.line, bool(tower_photos[i] > 0),
                         int(tower_photos[i]), cm(tower_gsd[i]))
            for i, t in enumerate(ledger.towers)),
        spans=tuple(
            CoverageItem("span", s.name, s.line,
                         bool(fraction[j] >= config.span_min_fraction - 1e-9),
                         int(span_photos[j]), cm(span_gsd[j]))
            for j, s in enumerate(spans)),
    )
