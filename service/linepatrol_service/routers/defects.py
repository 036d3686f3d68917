"""The maintenance lead's defect queue: filter, sort, page, review, with an audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import case, func, select

from linepatrol import taxonomy
from linepatrol.images import ImageError
from linepatrol.report.crops import crop_jpeg
from linepatrol_service import evidence
from linepatrol_service.deps import (
    MAX_ID,
    DefectReader,
    DefectWriter,
    FlightReader,
    IdPath,
    Offset,
    ServicesDep,
    SessionDep,
)
from linepatrol_service.models import Defect, DefectEvent, Flight, Image, utcnow
from linepatrol_service.schemas import (
    DefectDetail,
    DefectEventOut,
    DefectOut,
    DefectPatch,
    DefectStatus,
    Page,
    SeverityName,
)
from linepatrol_service.views import _utc, defect_detail, defect_out, flight_for

router = APIRouter(prefix="/defects", tags=["defects"])

SortKey = Literal["severity", "-severity", "detected_at", "-detected_at", "confidence",
                  "-confidence", "id", "-id", "tower", "-tower"]
_JPEG = {200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}}


def _severity_rank() -> object:
    return case(
        {s.value: s.rank for s in taxonomy.Severity}, value=Defect.severity, else_=9
    )


@router.get("")
def list_defects(
    session: SessionDep,
    who: DefectReader,
    status_: Annotated[list[DefectStatus] | None, Query(alias="status")] = None,
    severity: Annotated[list[SeverityName] | None, Query()] = None,
    class_: Annotated[list[str] | None, Query(alias="class")] = None,
    category: Annotated[list[Literal["line_defect", "hazard", "component"]] | None,
                        Query()] = None,
    line: str | None = None,
    tower: str | None = None,
    flight: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort: SortKey = "severity",
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[DefectOut]:
    query = select(Defect).join(Flight, Flight.id == Defect.flight_id)
    if status_:
        query = query.where(Defect.status.in_(status_))
    if severity:
        query = query.where(Defect.severity.in_(severity))
    if class_:
        query = query.where(Defect.class_key.in_(class_))
    if category:
        query = query.where(Defect.category.in_(category))
    if line:
        query = query.where(Defect.line == line)
    if tower:
        query = query.where(Defect.tower == tower)
    if flight is not None:
        query = query.where(Defect.flight_id == flight)
    if date_from:
        query = query.where(Flight.date >= date_from)
    if date_to:
        query = query.where(Flight.date <= date_to)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    column = {
        "severity": _severity_rank(), "detected_at": Defect.detected_at,
        "confidence": Defect.confidence, "id": Defect.id, "tower": Defect.tower,
    }[key]
    order = [column.desc() if desc else column.asc()]  # type: ignore[attr-defined]
    if key == "severity":  # most urgent first, then most confident, then oldest
        order += [Defect.confidence.desc()]
    order.append(Defect.id.asc())
    rows = session.scalars(query.order_by(*order).offset(offset).limit(limit)).all()
    return Page[DefectOut](items=[defect_out(d) for d in rows], total=total, offset=offset,
                           limit=limit)


def _defect(session: SessionDep, defect_id: IdPath) -> Defect:
    d = session.get(Defect, defect_id)
    if d is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no defect {defect_id}")
    return d


@router.get("/{defect_id}")
def get_defect(defect_id: IdPath, session: SessionDep, who: DefectReader) -> DefectDetail:
    d = _defect(session, defect_id)
    flight = session.get(Flight, d.flight_id)
    assert flight is not None
    return defect_detail(d, flight.date)


@router.patch("/{defect_id}")
def update_defect(defect_id: IdPath, body: DefectPatch, session: SessionDep,
                  who: DefectWriter) -> DefectDetail:
    """Review a defect; every change is recorded with who made it and an optional note."""
    d = _defect(session, defect_id)
    fields = body.model_dump(exclude_unset=True, by_alias=False)
    note = fields.pop("note", None)
    changes: dict[str, list[object]] = {}
    if "class_key" in fields and fields["class_key"] is not None:
        key = fields["class_key"]
        info = taxonomy.BY_KEY.get(key)
        if info is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown class {key!r}")
        if key != d.class_key:
            changes["class"] = [d.class_key, key]
            if d.category != info.category.value:
                changes["category"] = [d.category, info.category.value]
                d.category = info.category.value
            d.class_key = key
            if "severity" not in fields and info.severity and info.severity.value != d.severity:
                changes["severity"] = [d.severity, info.severity.value]
                d.severity = info.severity.value
    for name in ("status", "severity", "assignee"):
        if name in fields and (fields[name] is not None or name == "assignee"):
            old = getattr(d, name)
            if old != fields[name]:
                changes[name] = [old, fields[name]]
                setattr(d, name, fields[name])
    if changes or note:
        now = utcnow()
        d.updated_at = now
        session.add(DefectEvent(defect_id=d.id, at=now, actor=f"{who.name} ({who.role.value})",
                                changes=changes, note=note))
    session.commit()
    flight = session.get(Flight, d.flight_id)
    assert flight is not None
    return defect_detail(d, flight.date)


@router.get("/{defect_id}/history")
def defect_history(defect_id: IdPath, session: SessionDep,
                   who: DefectReader) -> list[DefectEventOut]:
    _defect(session, defect_id)
    events = session.scalars(
        select(DefectEvent).where(DefectEvent.defect_id == defect_id).order_by(DefectEvent.id)
    ).all()
    return [
        DefectEventOut(id=e.id, at=_utc(e.at),  # type: ignore[arg-type]
                       actor=e.actor, changes=e.changes, note=e.note)
        for e in events
    ]


@router.get("/{defect_id}/crop", response_class=Response, responses=_JPEG)
async def defect_crop(
    defect_id: IdPath, services: ServicesDep, session: SessionDep, who: FlightReader,
    evidence_index: Annotated[int, Query(ge=0, alias="evidence")] = 0,
) -> Response:
    """The defect's box with some context around it, from its best (or n-th) evidence photo."""
    d = _defect(session, defect_id)
    flight_for(session, who, d.flight_id)  # uploaders see the evidence of their own flights
    items = d.evidence or []
    if evidence_index >= len(items):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such evidence for this defect")
    ev = items[evidence_index]
    image = session.get(Image, ev["image_id"])
    if image is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the evidence photo is gone")
    path = services.store.path_for(image.sha256)
    cache = evidence.DerivedCache(services.settings.data_dir / "derived")
    try:
        data = await run_in_threadpool(
            cache.get, image.sha256, "crop", ev["xyxy"], lambda: crop_jpeg(path, ev["xyxy"])
        )
    except (ImageError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return Response(data, media_type="image/jpeg")
