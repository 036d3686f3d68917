"""A flight's report: the core's formats (:mod:`linepatrol.report`) plus the API's JSON.

Reports are made from the database rows rather than from the geotagger's output, so a
reviewer's corrections (class, severity, status) show in the next download. Each row becomes
the core's :class:`~linepatrol.report.view.ReportDefect` here, once; the core writes GeoJSON,
KML, CSV, HTML and PDF exactly as ``linepatrol report`` does for the same flight. Rejected defects
are left out unless asked for, and so are they from the flight's defect count
(:func:`linepatrol_service.views.defect_counts`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol.images import ImageError
from linepatrol.report import (
    Format,
    PdfUnavailableError,
    Report,
    ReportDefect,
    ReportEvidence,
    ReportHeader,
    file_name,
    render,
)
from linepatrol.report.crops import crop_jpeg
from linepatrol.report.pdf import available as pdf_available
from linepatrol_service.domain import OPEN_DEFECT, REPORTED_DEFECT
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


@dataclass(frozen=True)
class Subject:
    """What a report is of — a flight or a line — as its header and its JSON say it."""

    header: ReportHeader
    json_key: str  # "flight" or "line"
    json: dict[str, Any]


def flight_subject(flight: FlightOut) -> Subject:
    return Subject(header(flight), "flight", flight.model_dump(mode="json"))


def line_subject(line: str, as_of: dt.date, flights: int) -> Subject:
    title = f"LinePatrol line {line} · open defects · {as_of.isoformat()}"
    return Subject(ReportHeader(title=title, line=line, date=as_of.isoformat()), "line",
                   {"line": line, "as_of": as_of.isoformat(), "flights": flights})


def line_defects(session: Session, line: str) -> list[FlightDefect]:
    """The line's open defects (new, confirmed, assigned), each with the evidence of its
    latest sighting."""
    rows = list(session.scalars(select(Defect).where(Defect.line == line,
                                                     Defect.status.in_(OPEN_DEFECT))
                                .order_by(Defect.id)))
    latest: dict[int, list[dict[str, Any]]] = {}
    for defect_id, evidence in session.execute(
            select(Sighting.defect_id, Sighting.evidence)
            .where(Sighting.defect_id.in_([d.id for d in rows]))
            .order_by(Sighting.seen_on, Sighting.id)):
        latest[defect_id] = list(evidence or [])
    return [FlightDefect(d, latest.get(d.id, list(d.evidence or []))) for d in rows]


def to_json(subject: Subject, defects: Sequence[FlightDefect],
            photos: Mapping[int, str]) -> bytes:
    """The API's JSON: the flight (or line), and per defect the report's columns and the
    evidence shown (with the image ids the API serves the photos under)."""
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
    body = {subject.json_key: subject.json, "defects": items}
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def render_report(fmt: ReportFormat, subject: Subject, defects: Sequence[FlightDefect],
                  photos: Mapping[int, str], embedded: Mapping[str, bytes]) -> bytes:
    if fmt is ReportFormat.JSON:
        return to_json(subject, defects, photos)
    report = Report(subject.header, tuple(defect_view(d, photos) for d in defects),
                    dict(embedded))
    return render(Format(fmt), report)


def report_response(session: Session, store: PhotoStore, cache_dir: Path, fmt: ReportFormat,
                    subject: Subject, defects: Sequence[FlightDefect], stem: str) -> Response:
    """The download of a flight's or a line's report: 501 for a PDF without the pdf extra;
    JSON and HTML shown in the browser, the other formats saved as ``{stem}.{format}``."""
    if fmt is ReportFormat.PDF and not pdf_available():
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, str(PdfUnavailableError()))
    photos = photo_names(session, defects)
    embedded = crops(session, store, cache_dir, defects) if fmt.embeds_crops else {}
    body = render_report(fmt, subject, defects, photos, embedded)
    shown = "inline" if fmt in (ReportFormat.JSON, ReportFormat.HTML) else "attachment"
    name = file_name(stem, fmt)
    # a line's name is often Chinese: RFC 6266's UTF-8 form beside an ASCII fallback (headers
    # are Latin-1), as Starlette's FileResponse words it
    plain = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)
    disposition = f'{shown}; filename="{plain}"'
    if plain != name:
        disposition += f"; filename*=utf-8''{quote(name)}"
    return Response(body, media_type=fmt.media_type,
                    headers={"Content-Disposition": disposition})
