"""The geotag step: a flight's detected photos -> the flight's defects, merged across photos.

This is the one function of the service that calls :func:`linepatrol.geo.flight.locate_flight`.
It is pure with respect to the database (it returns unsaved rows), so the caller can run it and
then swap the flight's defects in one transaction — re-running it after a crash gives the same
defects, never a second copy. A photo's stored evidence keeps what its view placed (pixel,
position, placement), so the service's reports show what the CLI's show
(:mod:`linepatrol_service.reports`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from linepatrol.detections import Detections
from linepatrol.geo.flight import locate_flight
from linepatrol.geo.ledger import Ledger as GeoLedger
from linepatrol.geo.locate import Defect as GeoDefect
from linepatrol.geo.locate import GeoConfig, Observation
from linepatrol.geo.pose import CameraPose, PoseError, read_pose
from linepatrol.report.view import evidence_from_geo
from linepatrol_service.domain import DefectStatus
from linepatrol_service.models import Defect


@dataclasses.dataclass(frozen=True)
class DetectedPhoto:
    image_id: int
    path: Path
    width: int
    height: int
    detections: list[dict[str, Any]]  # Detections.records() as stored
    pose: dict[str, Any] | None = None  # CameraPose.to_json() read at upload, if any


@dataclasses.dataclass(frozen=True)
class LedgerText:
    text: str
    format: str


def read_pose_summary(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The photo's camera pose as stored (JSON), or the reason there is none."""
    try:
        return _plain(read_pose(path).to_json()), None
    except PoseError as exc:
        return None, exc.reason


def _plain(obj: Any) -> Any:
    """numpy scalars and tuples as JSON has them."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def to_detections(records: Sequence[dict[str, Any]]) -> Detections:
    names = sorted({r["class"] for r in records})
    if not records:
        return Detections.empty(names)
    return Detections(
        np.array([r["xyxy"] for r in records], dtype=np.float32),
        np.array([r["confidence"] for r in records], dtype=np.float32),
        np.array([names.index(r["class"]) for r in records], dtype=np.int64),
        tuple(names),
    )


def _pose_of(photo: DetectedPhoto) -> tuple[CameraPose | None, str | None]:
    """The pose stored at upload, so the flight's photos are not read again; else read now."""
    if photo.pose:
        try:
            return CameraPose.from_json(photo.pose), None
        except ValueError:
            pass  # stored by another version: read the photo again
    try:
        return read_pose(photo.path), None
    except PoseError as exc:
        return None, exc.reason


def locate(photos: Sequence[DetectedPhoto], line: str,
           ledger: LedgerText | None) -> list[GeoDefect]:
    """The flight's defects, in the geotagger's (deterministic) order."""
    observations = []
    for p in sorted(photos, key=lambda p: p.image_id):
        pose, pose_error = _pose_of(p)
        observations.append(Observation(str(p.image_id), pose, pose_error, p.width, p.height,
                                        to_detections(p.detections)))
    parsed = GeoLedger.parse(ledger.text, ledger.format) if ledger else None
    return locate_flight(observations, parsed, GeoConfig(), line=line)


def defect_row(d: GeoDefect, flight_id: int, now: dt.datetime) -> Defect:
    """The unsaved row of one geotagged defect (status new)."""
    evidence = []
    for ev in d.evidence:
        # the report's record of the sighting (rounded as reports show it), keyed by the
        # photo's row id and the class the detector gave it here
        view = evidence_from_geo(ev).to_json()
        del view["photo"], view["class"]
        evidence.append({"image_id": int(ev.image_id),
                         "detected_class": ev.class_key or d.class_key, **view})
    best = evidence[0] if evidence else None
    return Defect(
        flight_id=flight_id, status=DefectStatus.NEW, detected_at=now, updated_at=now,
        class_key=d.class_key, detected_class=d.class_key, category=d.category or "line_defect",
        severity=d.severity, confidence=round(float(d.confidence), 4),
        lat=d.lat, lon=d.lon, alt=d.alt, alt_datum=d.alt_datum, placement=d.placement,
        uncertainty_m=d.uncertainty_m, geo_reason=d.geo_reason, line=d.line,
        tower=d.tower, span=d.span, distance_to_line_m=d.distance_to_line_m,
        image_id=best["image_id"] if best else None, xyxy=best["xyxy"] if best else None,
        evidence=evidence,
    )
