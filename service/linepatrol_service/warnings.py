"""Hazard warnings (预警) in the database: raised from hazard items, worked through their
lifecycle, counted for the execution rate.

:func:`raise_warnings` is the one way a warning is issued or reopened, whatever saw the hazard
(a flight's finalize now; a camera later): it takes hazard items (:class:`Defect` rows of the
hazard category), not flights. Each warning event is recorded (:class:`WarningEvent`) and
queued for the deployment's webhook (:mod:`linepatrol_service.webhooks`) in the same
transaction, so an event and its delivery exist together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol_service import webhooks
from linepatrol_service.domain import (
    OPEN_WARNING,
    DefectStatus,
    WarningEventKind,
    WarningStatus,
    Worker,
    check,
)
from linepatrol_service.models import Defect, HazardWarning, WarningEvent, utcnow
from linepatrol_service.roles import Permission
from linepatrol_service.schemas import (
    Evidence,
    Page,
    WarningDetail,
    WarningEventOut,
    WarningOut,
    WarningStats,
)
from linepatrol_service.settings import ServiceSettings
from linepatrol_service.tracking import lock_line
from linepatrol_service.warning_rules import execution_rate, is_overdue, voltage_of

WORKER_ACTOR = Worker.WORKER.value
REOPENABLE = (WarningStatus.RESOLVED, WarningStatus.CLOSED)
# the time a move stamps on the warning
_STAMP = {WarningStatus.ACKNOWLEDGED: "acknowledged_at", WarningStatus.DISPATCHED: "dispatched_at",
          WarningStatus.RESOLVED: "resolved_at", WarningStatus.CLOSED: "closed_at"}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def warning_distance_of(settings: ServiceSettings, line: str, class_key: str) -> tuple[float,
                                                                                      float]:
    """(the line's voltage in kV, the class's warning distance in m on it)."""
    kv = voltage_of(line, settings.line_voltage_kv, settings.default_voltage_kv)
    return kv, settings.warning_table().warning_distance_m(class_key, kv)


def _event(session: Session, settings: ServiceSettings, w: HazardWarning,
           event: WarningEventKind,
           actor: str, before: WarningStatus | None, now: dt.datetime,
           note: str | None) -> WarningEvent:
    row = WarningEvent(warning_id=w.id, at=now, actor=actor, event=event,
                       from_status=before.value if before else None, to_status=w.status,
                       distance_m=w.distance_m, note=note)
    session.add(row)
    session.flush()  # its id, for the delivery
    webhooks.enqueue(session, settings, w, row)
    return row


def raise_warnings(session: Session, settings: ServiceSettings, hazards: Sequence[Defect],
                   now: dt.datetime | None = None,
                   actor: str = WORKER_ACTOR) -> list[HazardWarning]:
    """Issue a warning for each hazard item within its warning distance of its line that has
    none; reopen a resolved or closed one whose hazard is closer than when it was last
    issued; leave an open one be. Returns the warnings issued or reopened.

    Never two warnings for one item: the row is unique per item, and each line is held
    (:func:`linepatrol_service.tracking.lock_line`, taken again harmlessly if the caller
    holds it) while its items are looked at, so two workers raising at once wait for each
    other. Items without a line or a distance, rejected items and other categories are
    skipped. The caller commits."""
    now = now or utcnow()
    hours = settings.warning_hours()
    candidates = [d for d in hazards
                  if d.category == taxonomy.Category.HAZARD.value and d.line
                  and d.distance_to_line_m is not None and d.status != DefectStatus.REJECTED]
    for line in sorted({d.line for d in candidates if d.line}):
        lock_line(session, line)
    existing = {w.defect_id: w for w in session.scalars(select(HazardWarning).where(
        HazardWarning.defect_id.in_([d.id for d in candidates])))}
    raised: list[HazardWarning] = []
    for d in candidates:
        assert d.line is not None and d.distance_to_line_m is not None  # filtered above
        kv, limit = warning_distance_of(settings, d.line, d.class_key)
        distance = float(d.distance_to_line_m)
        if distance > limit:
            continue
        w = existing.get(d.id)
        if w is None:
            w = HazardWarning(
                defect_id=d.id, line=d.line, tower=d.tower, span=d.span,
                class_key=d.class_key, voltage_kv=kv, warning_distance_m=limit,
                distance_m=distance, lat=d.lat, lon=d.lon, status=WarningStatus.ISSUED,
                issued_at=now, last_issued_at=now,
                due_at=hours.next_due(WarningStatus.ISSUED, now), close_by=hours.close_by(now),
                reopened=0, updated_at=now)
            session.add(w)
            session.flush()
            existing[d.id] = w
            _event(session, settings, w, WarningEventKind.ISSUED, actor, None, now,
                   f"{d.class_key} {distance:.1f} m from the line, within {limit:.1f} m "
                   f"({kv:g} kV)")
            raised.append(w)
        elif w.status in REOPENABLE and distance < w.distance_m:
            before = WarningStatus(w.status)
            check(before, WarningStatus.ISSUED, Worker.WORKER)
            note = (f"reopened: {distance:.1f} m from the line, closer than {w.distance_m:.1f} m "
                    f"when last issued")
            w.status = WarningStatus.ISSUED
            w.distance_m, w.lat, w.lon, w.tower, w.span = distance, d.lat, d.lon, d.tower, d.span
            w.last_issued_at, w.reopened, w.updated_at = now, w.reopened + 1, now
            w.acknowledged_at = w.dispatched_at = w.resolved_at = w.closed_at = None
            w.due_at = hours.next_due(WarningStatus.ISSUED, now)
            w.close_by = hours.close_by(now)
            _event(session, settings, w, WarningEventKind.REOPENED, actor, before, now, note)
            raised.append(w)
    return raised


def move_warning(session: Session, settings: ServiceSettings, w: HazardWarning,
                 wanted: WarningStatus, actor: str, note: str | None,
                 now: dt.datetime | None = None) -> None:
    """A person's move along the lifecycle, checked against the domain's table for the
    reviewers' permission (the router has checked the caller holds it):
    :class:`~linepatrol_service.domain.TransitionError` for a move it does not allow. The
    caller commits."""
    now = now or utcnow()
    before = WarningStatus(w.status)
    check(before, wanted, Permission.DEFECTS_WRITE)
    w.status = wanted
    setattr(w, _STAMP[wanted], now)
    if wanted == WarningStatus.DISPATCHED:
        w.resolved_at = None  # back on site after a resolution that did not hold
    w.due_at = settings.warning_hours().next_due(wanted, _aware(w.last_issued_at))
    w.updated_at = now
    _event(session, settings, w, WarningEventKind.MOVED, actor, before, now, note)


def overdue_clause(now: dt.datetime) -> ColumnElement[bool]:
    return (HazardWarning.status != WarningStatus.CLOSED) & (HazardWarning.due_at < now)


# --- execution rate -------------------------------------------------------------------------


@dataclass(frozen=True)
class RateCounts:
    issued: int
    closed_in_time: int
    open: int
    overdue: int

    @property
    def rate(self) -> float | None:
        return execution_rate(self.issued, self.closed_in_time)


def rate_counts(session: Session, line: str | None, since: dt.datetime | None,
                until: dt.datetime | None, now: dt.datetime | None = None) -> RateCounts:
    """Warnings first issued in [since, until) (of the line, or all), and of those the ones
    closed by their close deadline (counted from their last issue), open and overdue now."""
    now = now or utcnow()
    in_time = (HazardWarning.status == WarningStatus.CLOSED) & (
        HazardWarning.closed_at <= HazardWarning.close_by)
    query = select(
        func.count(),
        func.sum(case((in_time, 1), else_=0)),
        func.sum(case((HazardWarning.status.in_(OPEN_WARNING), 1), else_=0)),
        func.sum(case((overdue_clause(now), 1), else_=0)),
    ).select_from(HazardWarning)
    if line is not None:
        query = query.where(HazardWarning.line == line)
    if since is not None:
        query = query.where(HazardWarning.issued_at >= since)
    if until is not None:
        query = query.where(HazardWarning.issued_at < until)
    issued, closed, open_, late = session.execute(query).one()
    return RateCounts(int(issued or 0), int(closed or 0), int(open_ or 0), int(late or 0))


# --- reading --------------------------------------------------------------------------------


def warning_out(w: HazardWarning, now: dt.datetime) -> WarningOut:
    status = WarningStatus(w.status)
    return WarningOut(
        id=w.id, defect_id=w.defect_id, line=w.line, tower=w.tower, span=w.span,
        class_key=w.class_key, voltage_kv=w.voltage_kv, warning_distance_m=w.warning_distance_m,
        distance_m=w.distance_m, lat=w.lat, lon=w.lon, status=status,
        issued_at=_aware(w.issued_at), last_issued_at=_aware(w.last_issued_at),
        acknowledged_at=_opt(w.acknowledged_at), dispatched_at=_opt(w.dispatched_at),
        resolved_at=_opt(w.resolved_at), closed_at=_opt(w.closed_at), due_at=_opt(w.due_at),
        close_by=_aware(w.close_by),
        overdue=is_overdue(status, _opt(w.due_at), now), reopened=w.reopened)


def _opt(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _aware(value)


@dataclass(frozen=True)
class WarningFilter:
    statuses: tuple[WarningStatus, ...] = ()
    line: str | None = None
    overdue: bool | None = None


def list_warnings(session: Session, where: WarningFilter, offset: int,
                  limit: int) -> Page[WarningOut]:
    """Open first (issued, acknowledged, dispatched), then by deadline, then newest."""
    now = utcnow()
    query = select(HazardWarning)
    if where.statuses:
        query = query.where(HazardWarning.status.in_(where.statuses))
    if where.line:
        query = query.where(HazardWarning.line == where.line)
    if where.overdue is not None:
        late = overdue_clause(now)
        query = query.where(late if where.overdue else ~late)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(
        case((HazardWarning.status.in_(OPEN_WARNING), 0), else_=1),
        HazardWarning.due_at.is_(None), HazardWarning.due_at, HazardWarning.id.desc(),
    ).offset(offset).limit(limit))
    return Page[WarningOut](items=[warning_out(w, now) for w in rows], total=int(total),
                            offset=offset, limit=limit)


def get_warning(session: Session, w: HazardWarning) -> WarningDetail:
    events = session.scalars(select(WarningEvent).where(WarningEvent.warning_id == w.id)
                             .order_by(WarningEvent.at, WarningEvent.id))
    item = session.get(Defect, w.defect_id)
    evidence = [Evidence.model_validate(e) for e in (item.evidence if item else [])]
    return WarningDetail(
        **warning_out(w, utcnow()).model_dump(), evidence=evidence,
        events=[WarningEventOut(
            id=e.id, at=_aware(e.at), actor=e.actor, event=WarningEventKind(e.event),
            from_status=WarningStatus(e.from_status) if e.from_status else None,
            to_status=WarningStatus(e.to_status), distance_m=e.distance_m, note=e.note)
            for e in events])


def stats(session: Session, line: str | None, since: dt.datetime | None,
          until: dt.datetime | None) -> WarningStats:
    counts = rate_counts(session, line, since, until)
    return WarningStats(line=line, since=since, until=until, issued=counts.issued,
                        closed_in_time=counts.closed_in_time, open=counts.open,
                        overdue=counts.overdue, rate=counts.rate)
