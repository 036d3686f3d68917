"""The maintenance lead's defect queue: filter, sort, page, review, with an audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from linepatrol import taxonomy
from linepatrol.images import ImageError
from linepatrol.report.crops import crop_jpeg
from linepatrol_service import evidence, queries, review
from linepatrol_service.deps import (
    MAX_ID,
    DefectReader,
    DefectWriter,
    FilterText,
    FlightReader,
    IdPath,
    Offset,
    ServicesDep,
    SessionDep,
    TextFilter,
)
from linepatrol_service.domain import DefectStatus, TransitionError, check
from linepatrol_service.models import DefectEvent, Image, utcnow
from linepatrol_service.queries import DefectFilter, DefectSort
from linepatrol_service.roles import Permission
from linepatrol_service.schemas import (
    DefectDetail,
    DefectEventOut,
    DefectOut,
    DefectPatch,
    Page,
)
from linepatrol_service.views import check_source

router = APIRouter(prefix="/defects", tags=["defects"])

_JPEG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "JPEG image"}}


@router.get("")
def list_defects(
    session: SessionDep,
    who: DefectReader,
    status_: Annotated[list[DefectStatus] | None, Query(alias="status")] = None,
    severity: Annotated[list[taxonomy.Severity] | None, Query()] = None,
    class_: Annotated[list[FilterText] | None, Query(alias="class")] = None,
    category: Annotated[list[taxonomy.Category] | None, Query()] = None,
    line: TextFilter = None,
    tower: TextFilter = None,
    flight: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    overdue: bool | None = None,
    not_seen: bool | None = None,
    sort: DefectSort = DefectSort.SEVERITY,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[DefectOut]:
    where = DefectFilter(
        statuses=tuple(status_ or ()), severities=tuple(severity or ()),
        classes=tuple(class_ or ()), categories=tuple(category or ()), line=line, tower=tower,
        flight=flight, date_from=date_from, date_to=date_to, overdue=overdue,
        not_seen=not_seen, sort=sort,
    )
    return queries.list_defects(session, where, offset, limit)


@router.get("/{defect_id}")
def get_defect(defect_id: IdPath, session: SessionDep, who: DefectReader) -> DefectDetail:
    return queries.get_defect(session, defect_id)


@router.patch("/{defect_id}")
def update_defect(defect_id: IdPath, body: DefectPatch, session: SessionDep,
                  services: ServicesDep, who: DefectWriter) -> DefectDetail:
    """Review a defect; every change is recorded with who made it and an optional note. The
    first confirmation starts the defect's deadline (its grade's time, per deployment); a
    change of grade moves it. ``xyxy`` corrects the box on the item's best photo (with
    ``class``, its class too): a training label from then on (422 for a box that is not inside
    the photo)."""
    d = queries.defect_row(session, defect_id)
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
    wanted = fields.get("status")
    if wanted is not None and wanted != d.status:
        try:
            check(DefectStatus(d.status), DefectStatus(wanted), Permission.DEFECTS_WRITE)
        except TransitionError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    for name in ("status", "severity", "assignee"):
        if name in fields and (fields[name] is not None or name == "assignee"):
            old = getattr(d, name)
            if old != fields[name]:
                changes[name] = [old, fields[name]]
                setattr(d, name, fields[name])
    if fields.get("xyxy") is not None:
        try:
            changes.update(review.correct_box(session, d, fields["xyxy"]))
        except review.ReviewError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if d.not_seen_flight_id is not None and (changes or note):
        # the lead has looked at the candidate fix: closed it, or kept it (and said why)
        changes["not_seen_on_flight"] = [d.not_seen_flight_id, None]
        d.not_seen_flight_id = None
    now = utcnow()
    changes.update(review.refresh_deadline(d, services.settings.due_hours(), now))
    if changes or note:
        d.updated_at = now
        session.add(DefectEvent(defect_id=d.id, at=now, actor=review.actor_of(who),
                                changes=changes, note=note))
    session.commit()
    return queries.get_defect(session, d.id)


@router.get("/{defect_id}/history")
def defect_history(defect_id: IdPath, session: SessionDep,
                   who: DefectReader) -> list[DefectEventOut]:
    return queries.defect_history(session, defect_id)


@router.get("/{defect_id}/crop", response_class=Response, responses=_JPEG)
async def defect_crop(
    defect_id: IdPath, services: ServicesDep, session: SessionDep, who: FlightReader,
    evidence_index: Annotated[int, Query(ge=0, alias="evidence")] = 0,
) -> Response:
    """The defect's box with some context around it, from its best (or n-th) evidence photo."""
    d = queries.defect_row(session, defect_id)
    # uploaders see the evidence of their own flights (and no camera's)
    check_source(session, who, d.flight_id, f"defect {defect_id}")
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
