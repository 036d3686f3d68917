"""A flight's report: the core's formats (:mod:`linepatrol.report`) plus the API's JSON.

Reports are made from the database rows rather than from the geotagger's output, so a
reviewer's corrections (class, severity, status) show in the next download. Each row becomes
the core's :class:`~linepatrol.report.view.ReportDefect` here, once; the core writes GeoJSON,
KML, CSV, HTML and PDF exactly as ``linepatrol report`` does for the same flight. Rejected defects
are left out unless asked for, and so are they from the flight's defect count
(:func:`linepatrol_service.views.defect_counts`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol.images import ImageError
from linepatrol.report import Format, Report, ReportDefect, ReportEvidence, ReportHeader, render
from linepatrol.report.crops import crop_jpeg
from linepatrol_service.domain import REPORTED_DEFECT
from linepatrol_service.evidence import DerivedCache
from linepatrol_service.models import Defect, Image, Sighting
from linepatrol_service.schemas import Evidence, FlightOut
from linepatrol_service.storage import PhotoStore


class ReportFormat(StrEnum):
    """What ``GET /flights/{id}/report?format=`` offers: the core's formats and JSON."""

    JSON = "json"
    GEOJSON = "geojson"
    KML = "kml"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"  # needs the pdf extra (ReportLab)

    @property
    def media_type(self) -> str:
        return "application/json" if self is ReportFormat.JSON else Format(self).media_type

    @property
    def embeds_crops(self) -> bool:
        """Whether the file carries each defect's evidence crop (HTML and PDF do)."""
        return self in (ReportFormat.HTML, ReportFormat.PDF)


def evidence_view(stored: Mapping[str, object], photos: Mapping[int, str]) -> ReportEvidence:
    """A stored sighting (geotag.defect_row wrote it) as the report shows it."""
    ev = Evidence.model_validate(stored)
    return ReportEvidence.from_json(stored, photos.get(ev.image_id, str(ev.image_id)),
                                    ev.detected_class)


@dataclass(frozen=True)
class FlightDefect:
    """A tracked defect as one flight's report shows it: the item (its class, grade, status,
    as reviewed) and what this flight's photos showed of it."""

    row: Defect
    evidence: list[dict[str, Any]]


def defect_view(item: FlightDefect, photos: Mapping[int, str]) -> ReportDefect:
    """A row as every report shows it; photos named by their uploaded file names."""
    d = item.row
    return ReportDefect(
        id=str(d.id), class_key=d.class_key, category=d.category, severity=d.severity,
        confidence=d.confidence, lat=d.lat, lon=d.lon, alt=d.alt, alt_datum=d.alt_datum,
        placement=d.placement, uncertainty_m=d.uncertainty_m, geo_reason=d.geo_reason,
        line=d.line, tower=d.tower, span=d.span, distance_to_line_m=d.distance_to_line_m,
        evidence=tuple(evidence_view(e, photos) for e in item.evidence),
        status=d.status, assignee=d.assignee,
    )


def header(flight: FlightOut) -> ReportHeader:
    return ReportHeader(
        title=f"LinePatrol flight {flight.id} · {flight.line} · {flight.date}",
        line=flight.line, date=flight.date.isoformat(), team=flight.team or None,
        drone=flight.drone or None, notes=flight.notes or None,
        photos=flight.progress.total, photos_failed=flight.progress.failed,
    )


def flight_defects(session: Session, flight_id: int,
                   include_rejected: bool) -> list[FlightDefect]:
    """The defects the flight saw, wherever first seen, with this flight's evidence."""
    query = (select(Defect, Sighting.evidence)
             .join(Sighting, Sighting.defect_id == Defect.id)
             .where(Sighting.flight_id == flight_id))
    if not include_rejected:
        query = query.where(Defect.status.in_(REPORTED_DEFECT))
    return [FlightDefect(d, list(ev or [])) for d, ev in session.execute(query.order_by(Defect.id))]


def photo_names(session: Session, defects: Sequence[FlightDefect]) -> dict[int, str]:
    ids = {int(e["image_id"]) for d in defects for e in d.evidence}
    if not ids:
        return {}
    rows = session.execute(select(Image.id, Image.filename).where(Image.id.in_(ids)))
    return {int(i): str(name) for i, name in rows}


def crops(session: Session, store: PhotoStore, cache_dir: Path,
          defects: Sequence[FlightDefect]) -> dict[str, bytes]:
    """Each defect's best-view crop in this flight (cached like the review queue's), for the
    HTML and PDF reports."""
    cache = DerivedCache(cache_dir)
    out = {}
    for item in defects:
        if not item.evidence:
            continue
        best = Evidence(**item.evidence[0])
        image = session.get(Image, best.image_id)
        if image is None:
            continue
        path = store.path_for(image.sha256)
        try:
            out[str(item.row.id)] = cache.get(image.sha256, "crop", best.xyxy,
                                       partial(crop_jpeg, path, best.xyxy))
        except (ImageError, ValueError):
            continue
    return out


def to_json(flight: FlightOut, defects: Sequence[FlightDefect],
            photos: Mapping[int, str]) -> bytes:
    """The API's JSON: the flight, and per defect the report's columns and this flight's
    evidence (with the image ids the API serves the photos under)."""
    items = []
    for item in defects:
        d = item.row
        view = defect_view(item, photos)
        stored = [Evidence(**e) for e in item.evidence]
        evidence = [{**v.to_json(), "image_id": e.image_id}
                    for v, e in zip(view.evidence, stored, strict=True)]
        best = stored[0].image_id if stored else None
        items.append({**view.row(), "id": d.id, "flight_id": d.flight_id,
                      "image_id": best, "evidence": evidence,
                      "first_seen": d.first_seen.isoformat() if d.first_seen else None,
                      "sightings": d.sightings})
    body = {"flight": flight.model_dump(mode="json"), "defects": items}
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def render_report(fmt: ReportFormat, flight: FlightOut, defects: Sequence[FlightDefect],
                  photos: Mapping[int, str], embedded: Mapping[str, bytes]) -> bytes:
    if fmt is ReportFormat.JSON:
        return to_json(flight, defects, photos)
    report = Report(header(flight), tuple(defect_view(d, photos) for d in defects),
                    dict(embedded))
    return render(Format(fmt), report)
