"""Rows -> API bodies, and the lookups that several routers share (with access checks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import overload

from fastapi import HTTPException, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol_service.auth import Principal
from linepatrol_service.domain import (
    REPORTED_DEFECT,
    UNFINISHED_PHOTO,
    DefectStatus,
    FlightStatus,
    PhotoStatus,
    is_overdue,
)
from linepatrol_service.edge import flights_edge, image_edge_out
from linepatrol_service.models import Defect, Flight, Image, Sighting, utcnow
from linepatrol_service.schemas import (
    DefectDetail,
    DefectOut,
    DetectionOut,
    Evidence,
    FlightOut,
    ImageOut,
    Progress,
    SightingOut,
    Timings,
)


@overload
def _utc(value: dt.datetime) -> dt.datetime: ...
@overload
def _utc(value: dt.datetime | None) -> dt.datetime | None: ...
def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Aware UTC: SQLite gives back naive datetimes for what was stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _seconds(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    a, b = _utc(a), _utc(b)
    if a is None or b is None:
        return None
    return round((b - a).total_seconds(), 3)


def progress_of(session: Session, flight_ids: Sequence[int]) -> dict[int, Progress]:
    counts: dict[int, dict[str, int]] = {i: {} for i in flight_ids}
    if flight_ids:
        for fid, st, n in session.execute(
            select(Image.flight_id, Image.status, func.count())
            .where(Image.flight_id.in_(flight_ids))
            .group_by(Image.flight_id, Image.status)
        ):
            if fid is not None:  # never (the filter): for the type checker
                counts[fid][st] = int(n)
    out = {}
    for fid, c in counts.items():
        total = sum(c.values())
        out[fid] = Progress(
            total=total, done=c.get(PhotoStatus.DONE, 0), failed=c.get(PhotoStatus.FAILED, 0),
            pending=sum(c.get(st, 0) for st in UNFINISHED_PHOTO),
        )
    return out


def defect_counts(session: Session, flight_ids: Sequence[int]) -> dict[int, int]:
    """Defects each flight saw (wherever first seen), as its report lists them: a rejected
    defect is not counted."""
    if not flight_ids:
        return {}
    rows = session.execute(
        select(Sighting.flight_id, func.count())
        .join(Defect, Defect.id == Sighting.defect_id)
        .where(Sighting.flight_id.in_(flight_ids), Defect.status.in_(REPORTED_DEFECT))
        .group_by(Sighting.flight_id)
    )
    return {int(f): int(n) for f, n in rows}


def flights_out(session: Session, flights: Sequence[Flight]) -> list[FlightOut]:
    ids = [f.id for f in flights]
    progress = progress_of(session, ids)
    defects = defect_counts(session, ids)
    edge = flights_edge(session, ids)
    return [
        FlightOut(
            id=f.id, line=f.line, date=f.date, team=f.team, drone=f.drone, notes=f.notes,
            status=FlightStatus(f.status),
            error=f.error, progress=progress[f.id], defects=defects.get(f.id, 0),
            timings=Timings(
                created_at=_utc(f.created_at),
                submitted_at=_utc(f.submitted_at), started_at=_utc(f.started_at),
                finished_at=_utc(f.finished_at),
                queued_s=_seconds(f.submitted_at, f.started_at),
                processing_s=_seconds(f.started_at, f.finished_at),
            ),
            edge=edge.get(f.id),
        )
        for f in flights
    ]


def flight_for(session: Session, principal: Principal, flight_id: int,
               lock: bool = False) -> Flight:
    """The flight, or 404, also for an uploader asking for a flight another token created (a
    403 there would tell which flight ids exist)."""
    query = select(Flight).where(Flight.id == flight_id)
    if lock:
        query = query.with_for_update()
    flight = session.scalar(query)
    if flight is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no flight {flight_id}")
    if principal.sees_only_own_flights and flight.created_by != principal.token_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no flight {flight_id}")
    return flight


def check_source(session: Session, principal: Principal, flight_id: int | None,
                 what: str) -> None:
    """404 unless the principal may see what a flight (``flight_id``) or, with None, a corridor
    camera took: an uploader sees its own flights' and no camera's."""
    if flight_id is not None:
        flight_for(session, principal, flight_id)
    elif principal.sees_only_own_flights:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")


def image_for(session: Session, principal: Principal, image_id: int) -> Image:
    image = session.get(Image, image_id)
    if image is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no image {image_id}")
    check_source(session, principal, image.flight_id, f"image {image_id}")
    return image


def image_out(im: Image) -> ImageOut:
    return ImageOut(
        id=im.id, flight_id=im.flight_id, camera_id=im.camera_id,
        captured_at=_utc(im.captured_at), filename=im.filename, sha256=im.sha256, size=im.size,
        format=im.format, width=im.width, height=im.height, status=PhotoStatus(im.status),
        error=im.error,
        pose=im.pose, pose_error=im.pose_error,
        detections=None if im.detections is None else [
            DetectionOut.model_validate(r) for r in im.detections],
        processed_by=im.processed_by, edge=image_edge_out(im),
    )


def defect_out(d: Defect) -> DefectOut:
    info = taxonomy.BY_KEY.get(d.class_key)
    return DefectOut(
        id=d.id, flight_id=d.flight_id, camera_id=d.camera_id,
        last_seen_at=_utc(d.last_seen_at), class_key=d.class_key,
        class_zh=info.zh if info else None, detected_class=d.detected_class,
        category=d.category, severity=d.severity,
        status=DefectStatus(d.status),
        assignee=d.assignee, confidence=d.confidence, lat=d.lat, lon=d.lon, alt=d.alt,
        alt_datum=d.alt_datum, placement=d.placement, uncertainty_m=d.uncertainty_m,
        geo_reason=d.geo_reason, line=d.line, tower=d.tower, span=d.span,
        distance_to_line_m=d.distance_to_line_m, image_id=d.image_id, xyxy=d.xyxy,
        detected_at=_utc(d.detected_at), updated_at=_utc(d.updated_at),
        first_seen=d.first_seen, last_seen=d.last_seen, sightings=d.sightings or 1,
        confirmed_at=_utc(d.confirmed_at), due_at=_utc(d.due_at),
        overdue=is_overdue(d.status, _utc(d.due_at), utcnow()),
        not_seen_on_flight=d.not_seen_flight_id, model_version=d.model_version,
    )


def sighting_out(s: Sighting) -> SightingOut:
    return SightingOut(
        flight_id=s.flight_id, seen_on=s.seen_on, class_key=s.class_key, severity=s.severity,
        confidence=s.confidence, lat=s.lat, lon=s.lon, placement=s.placement,
        uncertainty_m=s.uncertainty_m, distance_to_line_m=s.distance_to_line_m,
        evidence=[Evidence(**e) for e in (s.evidence or [])],
    )


def defect_detail(d: Defect, flight_date: dt.date,
                  sightings: Sequence[Sighting] = ()) -> DefectDetail:
    return DefectDetail(
        **defect_out(d).model_dump(),
        evidence=[Evidence(**e) for e in (d.evidence or [])],
        flight_date=flight_date,
        sightings_list=[sighting_out(s) for s in sightings],
    )
