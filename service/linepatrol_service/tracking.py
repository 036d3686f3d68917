"""The line over time in the database: a flight's defects become sightings of tracked items.

:mod:`linepatrol.tracking` decides whether a finding is an item already tracked on the line;
this module keeps the rows: a new item (a :class:`Defect` row, status new) for a finding never
seen before, or one more :class:`Sighting` of the item it matches, with the item's history
saying what changed — seen again while rejected (it stays out of the queue), reopened because
its class is now more severe, escalated because a machine came closer to the line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, select, text
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol.geo.locate import Defect as GeoDefect
from linepatrol.tracking import Finding, Tracked, assign, more_severe, not_seen, place_of
from linepatrol_service.domain import DefectStatus, Worker, check
from linepatrol_service.geotag import defect_row, stored_evidence
from linepatrol_service.models import Defect, DefectEvent, Flight, HazardWarning, Image, Sighting

# Items a new sighting may belong to. Fixed and closed ones are history: the object seen there
# again is a new defect (a cap that went missing again), reviewed afresh.
TRACKED = (DefectStatus.NEW, DefectStatus.CONFIRMED, DefectStatus.ASSIGNED, DefectStatus.REJECTED)
ACTOR = Worker.WORKER.value


def seen_on_flight(flight_id: int) -> ColumnElement[bool]:
    """Rows of the items a flight saw (the flight's defects, wherever first seen)."""
    return Defect.id.in_(select(Sighting.defect_id).where(Sighting.flight_id == flight_id))


def sighting_row(item_id: int, flight: Flight, d: GeoDefect, now: dt.datetime) -> Sighting:
    """The unsaved row of the flight's sighting ``d`` of item ``item_id``."""
    return Sighting(
        defect_id=item_id, flight_id=flight.id, seen_on=flight.date, class_key=d.class_key,
        severity=d.severity, confidence=round(float(d.confidence), 4), lat=d.lat, lon=d.lon,
        placement=d.placement, uncertainty_m=d.uncertainty_m,
        distance_to_line_m=d.distance_to_line_m, evidence=stored_evidence(d), created_at=now,
    )


def forget_flight(session: Session, flight_id: int) -> None:
    """Undo a flight's sightings before it is geotagged again: items it alone made and nobody
    reviewed go (unless a hazard warning was issued for one: the warning's item stays, to be
    matched again); other items lose its sighting (and their counts are recomputed)."""
    session.execute(delete(Defect).where(
        Defect.flight_id == flight_id, Defect.status == DefectStatus.NEW,
        ~Defect.id.in_(select(Sighting.defect_id).where(Sighting.flight_id != flight_id)),
        ~Defect.id.in_(select(HazardWarning.defect_id)),
    ))
    touched = list(session.scalars(
        select(Sighting.defect_id).where(Sighting.flight_id == flight_id)))
    session.execute(delete(Sighting).where(Sighting.flight_id == flight_id))
    left = {int(i): (int(n), last) for i, n, last in session.execute(
        select(Sighting.defect_id, func.count(), func.max(Sighting.seen_on))
        .where(Sighting.defect_id.in_(touched)).group_by(Sighting.defect_id))}
    for item in session.scalars(select(Defect).where(Defect.id.in_(touched))):
        count, last = left.get(item.id, (0, None))
        item.sightings, item.last_seen = count, last or item.first_seen


def lock_line(session: Session, line: str) -> None:
    """Hold the line until the transaction ends, so that two flights of one line finishing at
    once cannot both open an item for the same object. PostgreSQL: a transaction-scoped
    advisory lock on the line's name. SQLite needs none: it lets one writer in at a time, and
    :func:`linepatrol_service.processing.finalize` writes (the flight's status) before it
    reads the line's items, so the second flight reads what the first one wrote."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(line.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def attach_flight(session: Session, flight: Flight, located: Sequence[GeoDefect],
                  now: dt.datetime) -> set[int]:
    """Each of the flight's defects as a sighting of the item it matches on the flight's line
    (:func:`linepatrol.tracking.assign`), or as a new item; returns the ids of the items the
    flight saw. The caller holds :func:`lock_line`."""
    sighted: set[int] = set()
    rows = {d.id: d for d in session.scalars(
        select(Defect).where(Defect.line == flight.line, Defect.status.in_(TRACKED)))}
    candidates = [Tracked(d.id, d.class_key, d.category, place_of(d)) for d in rows.values()]
    findings = [Finding(d.class_key, d.category or "", place_of(d)) for d in located]
    for d, found in zip(located, assign(findings, candidates), strict=True):
        if found is None:
            item = defect_row(d, flight.id, now)
            item.model_version = _model_version(session, item.image_id)
            item.first_seen = item.last_seen = flight.date
            item.sightings = 1
            session.add(item)
            session.flush()  # its id, for the sighting
        else:
            item = rows[found.item_id]
            _seen_again(session, item, flight, d, now)
        session.add(sighting_row(item.id, flight, d, now))
        sighted.add(item.id)
    return sighted


def _model_version(session: Session, image_id: int | None) -> str | None:
    """The registry version whose boxes on this photo started an item."""
    if image_id is None:
        return None
    return session.scalar(select(Image.model_version).where(Image.id == image_id))


def mark_not_seen(session: Session, flight: Flight, covered: set[tuple[str, str, str]],
                  sighted: set[int], now: dt.datetime) -> list[int]:
    """Confirmed or assigned items of the flight's line whose tower or span the flight covered
    without seeing them become candidate fixes ("not seen on flight N"); returns their ids.
    Items first seen by a later flight are left alone (a flight reprocessed late says nothing
    of what came after it)."""
    rows = {d.id: d for d in session.scalars(select(Defect).where(
        Defect.line == flight.line,
        Defect.status.in_((DefectStatus.CONFIRMED, DefectStatus.ASSIGNED))))}
    tracked = [Tracked(d.id, d.class_key, d.category, place_of(d)) for d in rows.values()
               if d.first_seen is None or d.first_seen <= flight.date]
    missed = [rows[t.item_id] for t in not_seen(tracked, covered, sighted)]
    for item in missed:
        if item.not_seen_flight_id == flight.id:
            continue
        item.not_seen_flight_id = flight.id
        item.updated_at = now
        session.add(DefectEvent(
            defect_id=item.id, at=now, actor=ACTOR,
            changes={"not_seen_flight_id": [None, flight.id]},
            note=f"not seen on flight {flight.id} ({flight.date.isoformat()}), which covered "
                 f"its {item.placement}: a candidate fix"))
    return [i.id for i in missed]


def _seen_again(session: Session, item: Defect, flight: Flight, d: GeoDefect,
                now: dt.datetime) -> None:
    item.sightings = (item.sightings or 1) + 1
    item.not_seen_flight_id = None
    if item.last_seen is None or flight.date >= item.last_seen:
        item.last_seen = flight.date
        if d.category == taxonomy.Category.HAZARD.value:  # a machine is where it was seen last
            item.lat, item.lon, item.alt = d.lat, d.lon, d.alt
            item.uncertainty_m, item.distance_to_line_m = d.uncertainty_m, d.distance_to_line_m
    changes: dict[str, list[object]] = {}
    notes = [f"seen again on flight {flight.id} ({flight.date.isoformat()})"]
    if more_severe(d.severity, item.severity):
        changes["severity"] = [item.severity, d.severity]
        why = (f"{d.distance_to_line_m:.1f} m from the line"
               if d.distance_to_line_m is not None else f"seen as {d.class_key}")
        notes.append(f"graded {d.severity}: {why}")
        item.severity = d.severity
        if item.status == DefectStatus.REJECTED:
            check(DefectStatus.REJECTED, DefectStatus.NEW, Worker.WORKER)
            changes["status"] = [item.status, DefectStatus.NEW.value]
            item.status = DefectStatus.NEW
            notes.append("back in the queue: more severe than when it was rejected")
    elif item.status == DefectStatus.REJECTED:
        notes.append("still rejected")
    item.updated_at = now
    session.add(DefectEvent(defect_id=item.id, at=now, actor=ACTOR, changes=changes,
                            note="; ".join(notes)))
