"""The ground a viewing ray lands on: a constant elevation or a DEM GeoTIFF, and the ray cast.

Heights are in the photos' vertical datum (see :mod:`linepatrol.geo.pose`). "Flat" ground is a
surface of constant height above the ellipsoid, not a tangent plane: it follows the Earth's
curvature, which matters at the long ranges of oblique photos (8 cm of drop at 1 km).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from linepatrol.geo.geodesy import LocalFrame

FloatArray = npt.NDArray[np.float64]


class GroundError(ValueError):
    """A ground model that cannot be used (DEM missing, unreadable, rasterio not installed)."""


class Ground(Protocol):
    def elevation(self, lat: FloatArray, lon: FloatArray) -> FloatArray:
        """Ground height at each point; NaN where the model has no data."""
        ...

    @property
    def description(self) -> str: ...


@dataclass(frozen=True)
class FlatGround:
    alt: float
    label: str = "constant"

    def elevation(self, lat: FloatArray, lon: FloatArray) -> FloatArray:
        return np.full(np.shape(lat), self.alt, dtype=np.float64)

    @property
    def description(self) -> str:
        return f"{self.label} ground at {self.alt:.2f} m"


@dataclass
class DemGround:
    """Elevations from a single-band GeoTIFF (any CRS rasterio/PROJ knows), bilinear.

    The whole band is read once; a DEM covering a flight (a few km², 1–30 m cells) is small.
    rasterio is an optional dependency (extra ``geo-dem``) imported only here.
    """

    path: Path
    _grid: FloatArray = field(init=False, repr=False)
    _inverse: Any = field(init=False, repr=False)
    _to_dem: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            import rasterio
        except ImportError:
            raise GroundError(
                "a DEM needs rasterio: pip install 'linepatrol[geo-dem]'"
            ) from None
        from pyproj import Transformer

        try:
            with rasterio.open(self.path) as ds:
                band = ds.read(1, masked=True).astype(np.float64)
                self._grid = np.asarray(band.filled(np.nan), dtype=np.float64)
                self._inverse = ~ds.transform
                crs = ds.crs
        except rasterio.errors.RasterioError as exc:
            raise GroundError(f"cannot read DEM {self.path}: {exc}") from None
        if crs is None:
            raise GroundError(f"DEM {self.path} has no coordinate reference system")
        self._to_dem = Transformer.from_crs("EPSG:4326", crs.to_wkt(), always_xy=True)

    @property
    def description(self) -> str:
        return f"DEM {self.path.name}"

    def elevation(self, lat: FloatArray, lon: FloatArray) -> FloatArray:
        x, y = self._to_dem.transform(np.ravel(lon), np.ravel(lat))
        a, b, c, d, e, f = (float(v) for v in tuple(self._inverse)[:6])
        xs, ys = np.asarray(x), np.asarray(y)
        col, row = a * xs + b * ys + c, d * xs + e * ys + f
        # cell centres sit at +0.5 in the affine's pixel coordinates
        return bilinear(self._grid, np.asarray(row) - 0.5, np.asarray(col) - 0.5).reshape(
            np.shape(lat)
        )


def bilinear(grid: FloatArray, row: FloatArray, col: FloatArray) -> FloatArray:
    """Bilinear samples of ``grid`` at fractional (row, col); NaN outside or next to no-data.

    Written here rather than taken from rasterio's ``sample`` (nearest cell only): a ray cast
    needs a continuous surface for its bisection to converge.
    """
    h, w = grid.shape
    r0 = np.floor(row)
    c0 = np.floor(col)
    inside = (r0 >= 0) & (c0 >= 0) & (r0 < h - 1) & (c0 < w - 1)
    out = np.full(row.shape, np.nan)
    if not inside.any():
        return out
    r = r0[inside].astype(np.int64)
    c = c0[inside].astype(np.int64)
    fr = row[inside] - r
    fc = col[inside] - c
    top = grid[r, c] * (1 - fc) + grid[r, c + 1] * fc
    bottom = grid[r + 1, c] * (1 - fc) + grid[r + 1, c + 1] * fc
    out[inside] = top * (1 - fr) + bottom * fr
    return out


def ground_clearance(frame: LocalFrame, ground: Ground) -> Callable[[FloatArray], FloatArray]:
    """A function giving each ENU point's height above ``ground`` (negative below it)."""

    def clearance(enu: FloatArray) -> FloatArray:
        geo = frame.to_geodetic(enu)
        return geo[:, 2] - ground.elevation(geo[:, 0], geo[:, 1])

    return clearance


def cast_rays(
    origin: FloatArray,
    dirs: FloatArray,
    clearance: Callable[[FloatArray], FloatArray],
    max_range: float,
    step: float,
    bisections: int = 40,
) -> tuple[FloatArray, list[str | None]]:
    """First crossing of each ray with the ground: ENU points ``(N, 3)`` and a reason per miss.

    Marches along every ray at ``step`` metres up to ``max_range`` to bracket the first point
    below the ground, then bisects the bracket (``bisections`` halvings: sub-millimetre).
    The march is vectorised over all rays and steps at once — one PROJ call per stage.
    """
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(dirs, dtype=np.float64).reshape(-1, 3)
    n = len(d)
    points = np.full((n, 3), np.nan)
    reasons: list[str | None] = [None] * n
    if n == 0:
        return points, reasons
    c0 = float(clearance(o[None, :])[0])
    if not np.isfinite(c0):
        return points, ["the ground model has no elevation under the camera"] * n
    if c0 <= 0:
        return points, [f"the camera is {-c0:.1f} m below the ground model"] * n
    steps = np.arange(1, int(np.ceil(max_range / step)) + 1) * step
    samples = o + steps[None, :, None] * d[:, None, :]  # (n, k, 3)
    c = clearance(samples.reshape(-1, 3)).reshape(n, len(steps))
    below = c <= 0
    nodata = ~np.isfinite(c)
    first_below = np.where(below.any(axis=1), below.argmax(axis=1), len(steps))
    first_nodata = np.where(nodata.any(axis=1), nodata.argmax(axis=1), len(steps))
    hit = first_below < first_nodata
    for i in np.flatnonzero(~hit):
        if d[i, 2] >= 0:
            reasons[i] = "the ray points at or above the horizon"
        elif first_nodata[i] < len(steps):
            reasons[i] = "the ray leaves the ground model before reaching the ground"
        else:
            reasons[i] = f"the ray does not reach the ground within {max_range:.0f} m"
    idx = np.flatnonzero(hit)
    if len(idx):
        k = first_below[idx]
        lo = np.where(k > 0, steps[np.maximum(k - 1, 0)], 0.0)
        hi = steps[k]
        dd = d[idx]
        for _ in range(bisections):
            mid = 0.5 * (lo + hi)
            cm = clearance(o + mid[:, None] * dd)
            go_far = cm > 0
            lo = np.where(go_far, mid, lo)
            hi = np.where(go_far, hi, mid)
        t = 0.5 * (lo + hi)
        points[idx] = o + t[:, None] * dd
    return points, reasons
