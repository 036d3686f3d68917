"""A flight's photos to its defects: place every detection, then merge them per object.

The flight-level entry of geotagging, above :mod:`linepatrol.geo.locate` (one photo) and
:mod:`linepatrol.geo.merge` (across photos), which it joins; it lives in its own module so that
neither of them has to import the other's caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from linepatrol.geo.ledger import Ledger
from linepatrol.geo.locate import (
    Defect,
    Evidence,
    GeoConfig,
    Observation,
    make_ground,
    place_detections,
)
from linepatrol.geo.merge import merge_evidence


def locate_flight(
    observations: Sequence[Observation], ledger: Ledger | None, config: GeoConfig | None = None,
    line: str | None = None,
) -> list[Defect]:
    """Defects of a flight: every photo's detections placed, then merged per physical object.

    Photos without a pose keep their detections, as defects with ``lat=None`` and the reason.
    ``line`` is the line the flight patrolled, when known: a defect that could not be tied to
    a tower or span of the ledger is on that line (so a line's defect list shows it).
    Raises :class:`linepatrol.geo.ground.GroundError` only for an unusable configured DEM.
    """
    config = config or GeoConfig()
    ground = make_ground(config)
    placed: list[tuple[str, Evidence, str | None]] = []
    for obs in observations:
        datum = None
        if obs.pose is not None:
            datum = obs.pose.altitude_datum if obs.pose.abs_alt is not None else "takeoff"
        placed.extend((key, ev, datum) for key, ev in place_detections(obs, ledger, config, ground))
    defects = merge_evidence(placed, ledger, config)
    if line is not None:
        for d in defects:
            d.line = d.line or line
    return defects
