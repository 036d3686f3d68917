"""Local ENU frame <-> WGS84 latitude, longitude, ellipsoidal height, through PROJ.

A scene is built in metres around a geodetic origin; EXIF, ledgers and truth files carry
WGS84. PROJ's ``topocentric`` conversion is the exact ENU of the ellipsoid (not a flat-earth
approximation), so a geotagger that works on WGS84 sees the same geometry the renderer drew.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyproj import Transformer


@dataclass(frozen=True)
class GeoOrigin:
    """Geodetic origin of a scene's ENU frame (degrees, metres above the WGS84 ellipsoid)."""

    lat: float
    lon: float
    height: float
    _to_enu: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pipeline = (
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
            "+step +proj=cart +ellps=WGS84 "
            f"+step +proj=topocentric +ellps=WGS84 +lat_0={self.lat!r} +lon_0={self.lon!r} "
            f"+h_0={self.height!r}"
        )
        object.__setattr__(self, "_to_enu", Transformer.from_pipeline(pipeline))

    def to_enu(self, lat: np.ndarray | float, lon: np.ndarray | float,
               height: np.ndarray | float) -> np.ndarray:
        """(N, 3) ENU metres from WGS84 latitude, longitude (degrees), ellipsoidal height."""
        e, n, u = self._to_enu.transform(np.atleast_1d(lon), np.atleast_1d(lat),
                                         np.atleast_1d(height))
        return np.stack([e, n, u], axis=-1)

    def to_geodetic(self, enu: np.ndarray) -> np.ndarray:
        """(N, 3) latitude, longitude (degrees), ellipsoidal height from ENU metres."""
        enu = np.atleast_2d(np.asarray(enu, dtype=np.float64))
        lon, lat, h = self._to_enu.transform(enu[:, 0], enu[:, 1], enu[:, 2],
                                              direction="INVERSE")
        return np.stack([lat, lon, h], axis=-1)
