"""The lifecycles of flights, photos and defects: their statuses and who may move them.

Every status the service stores is a member of one of the enums here, and every change of
status is checked against :data:`TRANSITIONS`, the one table that says who (a permission of
:mod:`linepatrol_service.auth`, or the processing worker) may move what from where to where.
Routers, workers and pages ask :func:`check` (or :func:`allowed_from`) rather than compare
status strings of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from linepatrol_service.roles import Permission


class FlightStatus(StrEnum):
    DRAFT = "draft"  # photos may be added
    QUEUED = "queued"  # submitted, waiting for a worker
    PROCESSING = "processing"
    DONE = "done"  # defects stored; the report is ready
    FAILED = "failed"
    CANCELLED = "cancelled"


class PhotoStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"  # a worker holds it (a lease; a stale claim is taken over)
    DONE = "done"
    FAILED = "failed"  # unreadable: its error says why


class DefectStatus(StrEnum):
    NEW = "new"  # as the geotagger made it; replaced when the flight is reprocessed
    CONFIRMED = "confirmed"
    REJECTED = "rejected"  # a false detection: left out of reports and counts
    ASSIGNED = "assigned"
    FIXED = "fixed"
    CLOSED = "closed"
    # a corridor camera's hazard not seen for camera_hazard_end_after_s: the machine left (the
    # worker ends it; a reviewer may still confirm, reject or close it)
    ENDED = "ended"


class WarningStatus(StrEnum):
    """A hazard warning (预警): issued by the worker when a hazard is within its warning
    distance, then worked by people until closed; reopened (back to issued) by the worker
    when the hazard comes closer again after it was resolved or closed."""

    ISSUED = "issued"
    ACKNOWLEDGED = "acknowledged"  # someone has read it
    DISPATCHED = "dispatched"  # someone is on site
    RESOLVED = "resolved"  # the machine left, stopped, or works safely
    CLOSED = "closed"  # checked and filed


class WarningEventKind(StrEnum):
    """What happened to a warning (an event of its audit trail, and of the webhook)."""

    ISSUED = "issued"
    MOVED = "moved"  # a person's step along the lifecycle
    REOPENED = "reopened"  # the hazard came closer after the warning was resolved or closed


class DeliveryStatus(StrEnum):
    """An outbound webhook delivery."""

    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # every attempt failed


class BoxOrigin(StrEnum):
    """Where an evidence box came from (the ``origin`` of a stored evidence entry; absent:
    detected): the training export tells the reviewer's boxes from the machine's."""

    DETECTED = "detected"  # the detector's box, as it drew it
    CORRECTED = "corrected"  # the detector's box, moved or resized by a reviewer
    DRAWN = "drawn"  # a missed object, drawn by a reviewer
    # a component's box as the detector drew it (components are never items, so never
    # reviewed): exported on request so that a fine-tune on the export does not unlearn them
    COMPONENT = "component"


class ModelState(StrEnum):
    """A registered model version's place in the registry (at most one active, one shadow)."""

    REGISTERED = "registered"  # stored with its card; runs nowhere yet
    SHADOW = "shadow"  # runs beside the active model; its boxes are recorded, never queued
    ACTIVE = "active"  # its boxes become the queue's items
    RETIRED = "retired"  # was active; kept for the record and for a roll-back


class Worker(StrEnum):
    """The processing worker: moves that no user makes."""

    WORKER = "worker"


Actor = Permission | Worker
Status = FlightStatus | PhotoStatus | DefectStatus | ModelState | WarningStatus

ACTIVE_FLIGHT = frozenset({FlightStatus.QUEUED, FlightStatus.PROCESSING})
UNFINISHED_PHOTO = frozenset({PhotoStatus.PENDING, PhotoStatus.CLAIMED})
OPEN_DEFECT = frozenset({DefectStatus.NEW, DefectStatus.CONFIRMED, DefectStatus.ASSIGNED})
REPORTED_DEFECT = frozenset(DefectStatus) - {DefectStatus.REJECTED}
# A reviewer has looked at it: the labels a training export takes (a rejected one says "nothing
# here", the others are positives); "new" is the machine's untouched output.
REVIEWED_DEFECT = frozenset(DefectStatus) - {DefectStatus.NEW, DefectStatus.ENDED}
POSITIVE_DEFECT = REVIEWED_DEFECT - {DefectStatus.REJECTED}

OPEN_WARNING = frozenset(WarningStatus) - {WarningStatus.RESOLVED, WarningStatus.CLOSED}

_F, _P, _D, _M, _W = FlightStatus, PhotoStatus, DefectStatus, ModelState, WarningStatus
_WRITE, _REVIEW, _WORKER = Permission.FLIGHTS_WRITE, Permission.DEFECTS_WRITE, Worker.WORKER
_REVIEWED = (_D.CONFIRMED, _D.REJECTED, _D.ASSIGNED, _D.FIXED, _D.CLOSED)

# (from, to) -> who may make the move. A reviewer may move a defect between any two statuses
# (a review is corrected as often as it is made), but never back to "new", which marks the
# machine's untouched output (reprocessing replaces those).
TRANSITIONS: dict[tuple[Status, Status], Actor] = {
    # flights: the uploader submits and cancels, the worker processes
    (_F.DRAFT, _F.QUEUED): _WRITE,
    (_F.FAILED, _F.QUEUED): _WRITE,
    (_F.CANCELLED, _F.QUEUED): _WRITE,
    (_F.DRAFT, _F.CANCELLED): _WRITE,
    (_F.QUEUED, _F.CANCELLED): _WRITE,
    (_F.PROCESSING, _F.CANCELLED): _WRITE,
    (_F.QUEUED, _F.PROCESSING): _WORKER,
    (_F.PROCESSING, _F.DONE): _WORKER,
    (_F.QUEUED, _F.FAILED): _WORKER,
    (_F.PROCESSING, _F.FAILED): _WORKER,
    # photos: only workers touch them after upload
    (_P.PENDING, _P.CLAIMED): _WORKER,
    (_P.CLAIMED, _P.CLAIMED): _WORKER,  # a stale claim taken over
    (_P.CLAIMED, _P.PENDING): _WORKER,  # given back by a failing worker
    (_P.CLAIMED, _P.DONE): _WORKER,
    (_P.CLAIMED, _P.FAILED): _WORKER,
    # defects: the worker puts a rejected defect back in the queue when a later flight sees
    # it graded more severely (linepatrol_service.tracking)
    (_D.REJECTED, _D.NEW): _WORKER,
    # defects: the worker ends a corridor camera's hazard its camera no longer sees
    # (linepatrol_service.camera_hazards)
    (_D.NEW, _D.ENDED): _WORKER,
    (_D.CONFIRMED, _D.ENDED): _WORKER,
    (_D.ASSIGNED, _D.ENDED): _WORKER,
    # defects: reviewers
    **{(a, b): _REVIEW for a in (_D.NEW, _D.ENDED, *_REVIEWED) for b in _REVIEWED if a != b},
    # model versions: admins shadow, promote and roll back (a promotion retires the version
    # it replaces; retiring the active one hands the work back to the configured default)
    (_M.REGISTERED, _M.SHADOW): Permission.ADMIN,
    (_M.RETIRED, _M.SHADOW): Permission.ADMIN,
    (_M.SHADOW, _M.REGISTERED): Permission.ADMIN,
    (_M.REGISTERED, _M.ACTIVE): Permission.ADMIN,
    (_M.SHADOW, _M.ACTIVE): Permission.ADMIN,
    (_M.RETIRED, _M.ACTIVE): Permission.ADMIN,
    (_M.ACTIVE, _M.RETIRED): Permission.ADMIN,
    # warnings: people work them step by step (reviewers and admins: those who work the
    # defect queue); the worker reopens a resolved or closed one whose hazard came closer
    # (linepatrol_service.warnings). Issuing is the worker's too: a new row, no move.
    (_W.ISSUED, _W.ACKNOWLEDGED): _REVIEW,
    (_W.ACKNOWLEDGED, _W.DISPATCHED): _REVIEW,
    (_W.DISPATCHED, _W.RESOLVED): _REVIEW,
    (_W.RESOLVED, _W.CLOSED): _REVIEW,
    (_W.RESOLVED, _W.DISPATCHED): _REVIEW,  # not resolved after all: back on site
    (_W.RESOLVED, _W.ISSUED): _WORKER,
    (_W.CLOSED, _W.ISSUED): _WORKER,
}


class TransitionError(Exception):
    """A move the table does not allow (or not to this actor); the API answers 409."""

    def __init__(self, current: Status, wanted: Status, actor: Actor) -> None:
        super().__init__(f"cannot move from {current} to {wanted}")
        self.current, self.wanted, self.actor = current, wanted, actor


def may(current: Status, wanted: Status, actor: Actor) -> bool:
    return TRANSITIONS.get((current, wanted)) == actor


def check(current: Status, wanted: Status, actor: Actor) -> None:
    """Raise :class:`TransitionError` unless ``actor`` may move ``current`` to ``wanted``."""
    if not may(current, wanted, actor):
        raise TransitionError(current, wanted, actor)


def allowed_from(wanted: Status, actor: Actor) -> frozenset[Status]:
    """The statuses ``actor`` may move to ``wanted`` from (for queries and buttons)."""
    return frozenset(a for (a, b), who in TRANSITIONS.items() if b == wanted and who == actor)



# --- deadlines ------------------------------------------------------------------------------

OVERDUE_STATUSES = frozenset({DefectStatus.CONFIRMED, DefectStatus.ASSIGNED})


@dataclass(frozen=True)
class DueHours:
    """Hours from confirmation to the deadline, per grade (a deployment's settings)."""

    critical: float
    serious: float
    general: float

    def for_grade(self, severity: str | None) -> float:
        """An ungraded defect gets the general grade's time."""
        if severity == "critical":
            return self.critical
        if severity == "serious":
            return self.serious
        return self.general


def due_at(severity: str | None, confirmed_at: dt.datetime | None,
           hours: DueHours) -> dt.datetime | None:
    """When a confirmed defect must be dealt with; None before it is confirmed."""
    if confirmed_at is None:
        return None
    return confirmed_at + dt.timedelta(hours=hours.for_grade(severity))


def is_overdue(status: str, due: dt.datetime | None, now: dt.datetime) -> bool:
    """Past its deadline and still waiting for a fix (fixed, closed and rejected never are)."""
    return due is not None and status in OVERDUE_STATUSES and due < now
