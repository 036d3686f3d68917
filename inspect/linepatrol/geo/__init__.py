"""Geotagging: camera pose from EXIF/XMP, pixel-to-ground projection, towers, spans.

The geotagging API (a whole flight, detection included, is :mod:`linepatrol.flight`)::

    pose = read_pose(path_or_bytes)            # CameraPose, or PoseError(reason)
    pose, reason = read_pose_or_reason(path_or_bytes)  # never raises
    ledger = Ledger.load("towers.csv")          # or Ledger.parse(text, "csv"); LedgerError
    defects = locate_flight(observations, ledger, GeoConfig())
    coverage = flight_coverage(ledger, poses)   # which towers/spans the photos showed closely

Reports (GeoJSON, KML, CSV, HTML) are written by :mod:`linepatrol.report`.

The maths lives in :mod:`linepatrol.geo.camera` (pure numpy; conventions documented there) and
:mod:`linepatrol.geo.geodesy` (PROJ). Imports here are light: numpy and pyproj, no detector.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real imports, for type checkers; at run time they load on first use
    from linepatrol.geo.camera import Intrinsics, pixel_to_ray, project_world_to_pixel
    from linepatrol.geo.coverage import Coverage, CoverageConfig, line_coverage
    from linepatrol.geo.dji_meta import write_dji_metadata
    from linepatrol.geo.flight import locate_flight
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
        locate_pixels,
    )
    from linepatrol.geo.pose import CameraPose, PoseError, read_pose, read_pose_or_reason
    from linepatrol.geo.visibility import flight_coverage

# Loaded on first attribute access (PEP 562) so that `linepatrol --help`, which imports
# linepatrol.geo.cli, does not pay for pyproj: the first submodule that has the name gives it.
_SUBMODULES = ("pose", "camera", "geodesy", "ground", "ledger", "locate", "flight", "dji_meta",
               "coverage", "visibility")

__all__ = [
    "CameraPose",
    "Coverage",
    "CoverageConfig",
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
    "flight_coverage",
    "line_coverage",
    "locate_flight",
    "locate_pixels",
    "pixel_to_ray",
    "project_world_to_pixel",
    "read_pose",
    "read_pose_or_reason",
    "write_dji_metadata",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        for sub in _SUBMODULES:
            module = importlib.import_module(f"linepatrol.geo.{sub}")
            if name in vars(module):
                return vars(module)[name]
    raise AttributeError(f"module 'linepatrol.geo' has no attribute {name!r}")
