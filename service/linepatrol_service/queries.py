"""The read side of the domain layer: typed filters and the queries behind both the API's
routers and the web pages.

A router turns its query parameters into a :class:`FlightFilter` / :class:`DefectFilter` and
calls a function here; a page does the same from its form. Both get the same rows under the
same access rules (an uploader sees only the flights it created), and neither calls the other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement, UnaryExpression, case, func, select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol_service.auth import Principal
from linepatrol_service.domain import OVERDUE_STATUSES, DefectStatus, FlightStatus
from linepatrol_service.models import (
    Defect,
    DefectEvent,
    Flight,
    Image,
    Sighting,
    UploadRefusal,
    utcnow,
)
from linepatrol_service.schemas import (
    DefectDetail,
    DefectEventOut,
    DefectOut,
    FlightOut,
    ImageOut,
    Page,
    UploadRefusalOut,
)
from linepatrol_service.tracking import seen_on_flight
from linepatrol_service.views import (
    _utc,
    defect_detail,
    defect_out,
    flight_for,
    flights_out,
    image_out,
)


class DefectSort(StrEnum):
    """Orders of the defect queue; a leading ``-`` is descending."""

    SEVERITY = "severity"
    SEVERITY_DESC = "-severity"
    DETECTED_AT = "detected_at"
    DETECTED_AT_DESC = "-detected_at"
    CONFIDENCE = "confidence"
    CONFIDENCE_DESC = "-confidence"
    ID = "id"
    ID_DESC = "-id"
    TOWER = "tower"
    TOWER_DESC = "-tower"
    DUE_AT = "due_at"
    DUE_AT_DESC = "-due_at"
    LAST_SEEN = "last_seen"
    LAST_SEEN_DESC = "-last_seen"


@dataclass(frozen=True)
class FlightFilter:
    status: FlightStatus | None = None
    line: str | None = None
    team: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class DefectFilter:
    """Empty tuples and None mean "any"."""

    statuses: tuple[DefectStatus, ...] = ()
    severities: tuple[taxonomy.Severity, ...] = ()
    classes: tuple[str, ...] = ()
    categories: tuple[taxonomy.Category, ...] = ()
    line: str | None = None
    tower: str | None = None
    flight: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    overdue: bool | None = None  # True: only overdue; False: only not overdue
    not_seen: bool | None = None  # True: only candidate fixes (a covering flight missed them)
    sort: DefectSort = DefectSort.SEVERITY


def list_flights(session: Session, who: Principal, where: FlightFilter, offset: int,
                 limit: int) -> Page[FlightOut]:
    query = select(Flight)
    if who.sees_only_own_flights:
        query = query.where(Flight.created_by == who.token_id)
    if where.status:
        query = query.where(Flight.status == where.status)
    if where.line:
        query = query.where(Flight.line == where.line)
    if where.team:
        query = query.where(Flight.team == where.team)
    if where.date_from:
        query = query.where(Flight.date >= where.date_from)
    if where.date_to:
        query = query.where(Flight.date <= where.date_to)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Flight.date.desc(), Flight.id.desc()).offset(offset).limit(limit)
    ).all()
    return Page[FlightOut](items=flights_out(session, rows), total=total, offset=offset,
                           limit=limit)


def get_flight(session: Session, who: Principal, flight_id: int) -> FlightOut:
    return flights_out(session, [flight_for(session, who, flight_id)])[0]


def flight_images(session: Session, who: Principal, flight_id: int, offset: int,
                  limit: int) -> Page[ImageOut]:
    flight_for(session, who, flight_id)
    query = select(Image).where(Image.flight_id == flight_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Image.id).offset(offset).limit(limit)).all()
    return Page[ImageOut](items=[image_out(i) for i in rows], total=total, offset=offset,
                          limit=limit)


def upload_refusals(session: Session, who: Principal, flight_id: int,
                    limit: int = 200) -> list[UploadRefusalOut]:
    """The files refused at upload, oldest first (what the upload page showed)."""
    flight_for(session, who, flight_id)
    rows = session.scalars(select(UploadRefusal).where(UploadRefusal.flight_id == flight_id)
                           .order_by(UploadRefusal.id).limit(limit)).all()
    return [UploadRefusalOut(filename=r.filename, reason=r.reason, at=_utc(r.at)) for r in rows]


def _severity_rank() -> ColumnElement[int]:
    return case({s.value: s.rank for s in taxonomy.Severity}, value=Defect.severity, else_=9)


def list_defects(session: Session, where: DefectFilter, offset: int,
                 limit: int) -> Page[DefectOut]:
    # outer: a corridor camera's hazard has no flight
    query = select(Defect).outerjoin(Flight, Flight.id == Defect.flight_id)
    if where.statuses:
        query = query.where(Defect.status.in_(where.statuses))
    if where.severities:
        query = query.where(Defect.severity.in_(where.severities))
    if where.classes:
        query = query.where(Defect.class_key.in_(where.classes))
    if where.categories:
        query = query.where(Defect.category.in_(where.categories))
    if where.line:
        query = query.where(Defect.line == where.line)
    if where.tower:
        query = query.where(Defect.tower == where.tower)
    if where.flight is not None:
        query = query.where(seen_on_flight(where.flight))
    if where.overdue is not None:
        late = Defect.status.in_(OVERDUE_STATUSES) & (Defect.due_at < utcnow())
        query = query.where(late if where.overdue else ~late)
    if where.not_seen is not None:
        missed = Defect.not_seen_flight_id.is_not(None)
        query = query.where(missed if where.not_seen else ~missed)
    if where.date_from:
        query = query.where(Flight.date >= where.date_from)
    if where.date_to:
        query = query.where(Flight.date <= where.date_to)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    desc = where.sort.startswith("-")
    key = where.sort.lstrip("-")
    columns: dict[str, ColumnElement[Any]] = {
        "severity": _severity_rank(), "detected_at": Defect.detected_at.expression,
        "confidence": Defect.confidence.expression, "id": Defect.id.expression,
        "tower": Defect.tower.expression, "due_at": Defect.due_at.expression,
        "last_seen": Defect.last_seen.expression,
    }
    column = columns[key]
    order: list[UnaryExpression[Any]] = [column.desc() if desc else column.asc()]
    if key == "severity":  # most urgent first, then most confident, then oldest
        order.append(Defect.confidence.desc())
    order.append(Defect.id.asc())
    rows = session.scalars(query.order_by(*order).offset(offset).limit(limit)).all()
    return Page[DefectOut](items=[defect_out(d) for d in rows], total=total, offset=offset,
                           limit=limit)


def defect_row(session: Session, defect_id: int) -> Defect:
    d = session.get(Defect, defect_id)
    if d is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no defect {defect_id}")
    return d


def get_defect(session: Session, defect_id: int) -> DefectDetail:
    d = defect_row(session, defect_id)
    flight = session.get(Flight, d.flight_id) if d.flight_id is not None else None
    # a camera's hazard: the day its camera first saw it
    found_on = flight.date if flight is not None else (d.first_seen or d.detected_at.date())
    sightings = session.scalars(select(Sighting).where(Sighting.defect_id == d.id)
                                .order_by(Sighting.seen_on, Sighting.id)).all()
    return defect_detail(d, found_on, sightings)


def defect_history(session: Session, defect_id: int) -> list[DefectEventOut]:
    defect_row(session, defect_id)
    events = session.scalars(
        select(DefectEvent).where(DefectEvent.defect_id == defect_id).order_by(DefectEvent.id)
    ).all()
    return [DefectEventOut(id=e.id, at=_utc(e.at), actor=e.actor, changes=e.changes,
                           note=e.note) for e in events]

