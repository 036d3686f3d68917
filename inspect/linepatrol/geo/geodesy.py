"""Geodetic <-> local East-North-Up conversion, done by PROJ (through pyproj), not by hand.

A :class:`LocalFrame` is the tangent frame at one point of the WGS84 ellipsoid. Conversions run
through a PROJ pipeline (``cart`` then ``topocentric``), so the ellipsoid maths is PROJ's.

Heights: PROJ treats the ``h`` it is given as ellipsoidal height. LinePatrol feeds it the
photos' own altitudes, whose datum may be EGM96 (mean sea level) — see
:mod:`linepatrol.geo.pose`. Using an orthometric height as if it were ellipsoidal changes the
frame's scale by (geoid undulation / Earth radius) < 2e-5, i.e. < 2 cm per kilometre, so all
heights (photos, take-off ground, ledger, DEM, ``--ground-alt``) are used in *one* datum —
the photos' — and reported in it. No geoid grid is needed, and none is downloaded.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pyproj import Geod, Transformer

FloatArray = npt.NDArray[np.float64]


_WGS84 = Geod(ellps="WGS84")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on the WGS84 ellipsoid (PROJ's), in metres."""
    _fwd, _back, dist = _WGS84.inv(lon1, lat1, lon2, lat2)
    return float(dist)


@lru_cache(maxsize=64)
def _pipeline(lat0: float, lon0: float, h0: float) -> Transformer:
    return Transformer.from_pipeline(
        "+proj=pipeline "
        "+step +proj=axisswap +order=2,1 "
        "+step +proj=unitconvert +xy_in=deg +xy_out=rad "
        "+step +proj=cart +ellps=WGS84 "
        f"+step +proj=topocentric +ellps=WGS84 +lat_0={lat0!r} +lon_0={lon0!r} +h_0={h0!r}"
    )


class LocalFrame:
    """ENU metres around ``(lat0, lon0, h0)``; degrees for latitude and longitude."""

    def __init__(self, lat0: float, lon0: float, h0: float = 0.0) -> None:
        self.lat0, self.lon0, self.h0 = float(lat0), float(lon0), float(h0)
        self._t = _pipeline(self.lat0, self.lon0, self.h0)

    def to_enu(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike, h: npt.ArrayLike
    ) -> FloatArray:
        """``(N, 3)`` ENU coordinates of geodetic points."""
        la, lo, hh = np.broadcast_arrays(
            np.asarray(lat, dtype=np.float64),
            np.asarray(lon, dtype=np.float64),
            np.asarray(h, dtype=np.float64),
        )
        e, n, u = self._t.transform(la.ravel(), lo.ravel(), hh.ravel())
        return np.stack([np.asarray(e), np.asarray(n), np.asarray(u)], axis=-1).reshape(-1, 3)

    def to_geodetic(self, enu: npt.ArrayLike) -> FloatArray:
        """``(N, 3)`` rows of (lat, lon, h) for ENU points ``(N, 3)``."""
        p = np.asarray(enu, dtype=np.float64).reshape(-1, 3)
        lat, lon, h = self._t.transform(p[:, 0], p[:, 1], p[:, 2], direction="INVERSE")
        return np.stack([np.asarray(lat), np.asarray(lon), np.asarray(h)], axis=-1).reshape(-1, 3)
