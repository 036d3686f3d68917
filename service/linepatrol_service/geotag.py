"""The geotag step: a flight's detected photos -> the flight's defects, merged across photos.

The service's side of the core's flight use case (:mod:`linepatrol.flight`): photo rows in,
defect rows out.
It is pure with respect to the database (it returns unsaved rows), so the caller can run it and
then swap the flight's defects in one transaction — re-running it after a crash gives the same
defects, never a second copy. A photo's stored evidence keeps what its view placed (pixel,
position, placement), so the service's reports show what the CLI's show
(:mod:`linepatrol_service.reports`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from linepatrol.flight import DetectedPhoto, FlightPhoto, PhotoRecord, locate_photos
from linepatrol.geo.ledger import Ledger as GeoLedger
from linepatrol.geo.locate import Defect as GeoDefect
from linepatrol.geo.locate import GeoConfig
from linepatrol.geo.pose import CameraPose, read_pose_or_reason
from linepatrol.report.view import evidence_from_geo
from linepatrol_service.domain import DefectStatus
from linepatrol_service.models import Defect, Image


def read_pose_summary(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The photo's camera pose as stored (JSON), or the reason there is none."""
    pose, reason = read_pose_or_reason(path)
    return (None if pose is None else pose.to_json()), reason


def flight_photo(image: Image, path: Path) -> FlightPhoto:
    """A photo row about to be detected, with the pose read at upload (a pose stored by an
    older version that no longer parses is read from the photo again)."""
    if image.pose:
        try:
            return FlightPhoto(str(image.id), path, CameraPose.from_json(image.pose))
        except ValueError:
            return FlightPhoto(str(image.id), path)
    return FlightPhoto(str(image.id), path, None, image.pose_error)


def stored_photo(image: Image, path: Path) -> DetectedPhoto:
    """A processed photo's row as the core's flight use case knows it (named by its row id,
    which the defects' evidence refers to)."""
    return DetectedPhoto.from_record(str(image.id), path, PhotoRecord(
        width=image.width, height=image.height, detections=image.detections,
        error=image.error, pose=image.pose, pose_error=image.pose_error,
    ))


def locate(photos: Sequence[DetectedPhoto], line: str,
           ledger: GeoLedger | None) -> list[GeoDefect]:
    """The flight's defects through the core's :func:`linepatrol.flight.locate_photos`, the
    photos in upload order (row id), which fixes the defects' order and ids; ``ledger`` the
    line's, parsed (:func:`linepatrol_service.coverage.line_ledger`)."""
    ordered = sorted(photos, key=lambda p: int(p.name))
    return locate_photos(ordered, ledger, GeoConfig(), line=line)


def stored_evidence(d: GeoDefect) -> list[dict[str, Any]]:
    """The defect's sightings in one flight's photos, as rows store them: the report's record
    of each view (rounded as reports show it), keyed by the photo's row id and the class the
    detector gave it there."""
    evidence = []
    for ev in d.evidence:
        view = evidence_from_geo(ev).to_json()
        del view["photo"], view["class"]
        evidence.append({"image_id": int(ev.image_id),
                         "detected_class": ev.class_key or d.class_key, **view})
    return evidence


def defect_row(d: GeoDefect, flight_id: int | None, now: dt.datetime) -> Defect:
    """The unsaved row of one geotagged defect (status new); ``flight_id`` None for one a
    corridor camera found."""
    evidence = stored_evidence(d)
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
