"""Geotagging: camera pose from EXIF/XMP, pixel-to-ground projection, towers, spans, reports.

The flight-level API the CLI and the service use::

    pose = read_pose(path_or_bytes)            # CameraPose, or PoseError(reason)
    obs = make_observation(image_id, path_or_bytes, detections, width, height)  # never raises
    ledger = Ledger.load("towers.csv")          # or Ledger.parse(text, "csv"); LedgerError
    defects = locate_flight(observations, ledger, GeoConfig())
    to_geojson(defects); to_kml(defects, kmz=True); to_csv(defects)

The maths lives in :mod:`linepatrol.geo.camera` (pure numpy; conventions documented there) and
:mod:`linepatrol.geo.geodesy` (PROJ). Imports here are light: numpy and pyproj, no detector.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real imports, for type checkers; at run time they load on first use
    from linepatrol.geo.camera import Intrinsics, pixel_to_ray, project_world_to_pixel
    from linepatrol.geo.dji_meta import write_dji_metadata
    from linepatrol.geo.export import to_csv, to_geojson, to_kml
    from linepatrol.geo.geodesy import LocalFrame
    from linepatrol.geo.ground import DemGround, FlatGround, GroundError
    from linepatrol.geo.ledger import Ledger, LedgerError, Span, Tower
    from linepatrol.geo.locate import (
        Defect,
        Evidence,
        GeoConfig,
        Observation,
        PhotoGeometry,
        Placement,
        locate_flight,
        locate_pixels,
        make_observation,
    )
    from linepatrol.geo.pose import CameraPose, PoseError, read_pose

# Loaded on first attribute access (PEP 562) so that `linepatrol --help`, which imports
# linepatrol.geo.cli, does not pay for pyproj.
_LAZY = {
    "CameraPose": "linepatrol.geo.pose",
    "Defect": "linepatrol.geo.locate",
    "DemGround": "linepatrol.geo.ground",
    "Evidence": "linepatrol.geo.locate",
    "FlatGround": "linepatrol.geo.ground",
    "GeoConfig": "linepatrol.geo.locate",
    "GroundError": "linepatrol.geo.ground",
    "Intrinsics": "linepatrol.geo.camera",
    "Ledger": "linepatrol.geo.ledger",
    "LedgerError": "linepatrol.geo.ledger",
    "LocalFrame": "linepatrol.geo.geodesy",
    "Observation": "linepatrol.geo.locate",
    "PhotoGeometry": "linepatrol.geo.locate",
    "Placement": "linepatrol.geo.locate",
    "PoseError": "linepatrol.geo.pose",
    "Span": "linepatrol.geo.ledger",
    "Tower": "linepatrol.geo.ledger",
    "locate_flight": "linepatrol.geo.locate",
    "locate_pixels": "linepatrol.geo.locate",
    "make_observation": "linepatrol.geo.locate",
    "pixel_to_ray": "linepatrol.geo.camera",
    "project_world_to_pixel": "linepatrol.geo.camera",
    "read_pose": "linepatrol.geo.pose",
    "to_csv": "linepatrol.geo.export",
    "to_geojson": "linepatrol.geo.export",
    "to_kml": "linepatrol.geo.export",
    "write_dji_metadata": "linepatrol.geo.dji_meta",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'linepatrol.geo' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "CameraPose",
    "Defect",
    "DemGround",
    "Evidence",
    "FlatGround",
    "GeoConfig",
    "GroundError",
    "Intrinsics",
    "Ledger",
    "LedgerError",
    "LocalFrame",
    "Observation",
    "PhotoGeometry",
    "Placement",
    "PoseError",
    "Span",
    "Tower",
    "locate_flight",
    "locate_pixels",
    "make_observation",
    "pixel_to_ray",
    "project_world_to_pixel",
    "read_pose",
    "to_csv",
    "to_geojson",
    "to_kml",
    "write_dji_metadata",
]
