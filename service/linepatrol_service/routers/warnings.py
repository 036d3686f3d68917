"""Hazard warnings (预警): the list (open first, then by deadline), one with its events, the
lifecycle moves, and the execution rate. Reviewers and admins, who work the defect queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from linepatrol_service import warnings
from linepatrol_service.deps import (
    DefectReader,
    DefectWriter,
    IdPath,
    Offset,
    ServicesDep,
    SessionDep,
    TextFilter,
)
from linepatrol_service.domain import TransitionError, WarningStatus
from linepatrol_service.models import HazardWarning
from linepatrol_service.review import actor_of
from linepatrol_service.schemas import Page, WarningDetail, WarningOut, WarningPatch, WarningStats

router = APIRouter(prefix="/warnings", tags=["warnings"])


def _row(session: SessionDep, warning_id: int) -> HazardWarning:
    w = session.get(HazardWarning, warning_id)
    if w is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no warning {warning_id}")
    return w


@router.get("")
def list_warnings(
    session: SessionDep,
    who: DefectReader,
    status_: Annotated[list[WarningStatus] | None, Query(alias="status")] = None,
    line: TextFilter = None,
    overdue: bool | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[WarningOut]:
    """Warnings, open ones first, then by the deadline of their current step."""
    where = warnings.WarningFilter(statuses=tuple(status_ or ()), line=line, overdue=overdue)
    return warnings.list_warnings(session, where, offset, limit)


@router.get("/stats")
def warning_stats(session: SessionDep, who: DefectReader, line: TextFilter = None,
                  since: dt.datetime | None = None,
                  until: dt.datetime | None = None) -> WarningStats:
    """The execution rate: warnings first issued in [since, until) closed by their close
    deadline, over warnings issued (null: none were issued)."""
    return warnings.stats(session, line, _utc(since), _utc(until))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@router.get("/{warning_id}")
def get_warning(warning_id: IdPath, session: SessionDep, who: DefectReader) -> WarningDetail:
    return warnings.get_warning(session, _row(session, warning_id))


@router.patch("/{warning_id}", responses={409: {"description": "A move the lifecycle does "
                                                                "not allow"}})
def move_warning(warning_id: IdPath, body: WarningPatch, session: SessionDep,
                 services: ServicesDep, who: DefectWriter) -> WarningDetail:
    """Move a warning one step: issued → acknowledged → dispatched → resolved → closed (or
    resolved → dispatched: back on site). Every move is recorded, and sent to the webhook."""
    w = _row(session, warning_id)
    try:
        warnings.move_warning(session, services.settings, w, body.status, actor_of(who),
                              body.note)
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return warnings.get_warning(session, w)
