"""Visual coverage in the service: a flight's, and a line's over a period, from the camera poses
stored at upload and the line's tower ledger, by the core's rule
(:mod:`linepatrol.geo.coverage`, :mod:`linepatrol.geo.visibility`) with the service's
settings (``coverage_min_object_px``, ``coverage_stale_after_days``).

Nothing is stored: coverage is computed when asked, so a new ledger or threshold applies to
every flight at once. Photos count by their stored pose alone (detection does not change what
a photo showed), except photos that failed processing (unreadable: they showed nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol.geo.coverage import DatedCoverage, line_coverage
from linepatrol.geo.ledger import Ledger as GeoLedger
from linepatrol.geo.ledger import LedgerError
from linepatrol.geo.locate import GeoConfig
from linepatrol.geo.pose import CameraPose
from linepatrol.geo.visibility import flight_coverage
from linepatrol_service.auth import Principal
from linepatrol_service.domain import FlightStatus, PhotoStatus
from linepatrol_service.models import Flight, Image, Ledger
from linepatrol_service.schemas import (
    CoverageGap,
    CoverageItemOut,
    FlightCoverageOut,
    LineCoverageItemOut,
    LineCoverageOut,
)
from linepatrol_service.settings import ServiceSettings


def line_ledger(session: Session, line: str) -> GeoLedger | None:
    """The line's parsed ledger; None when it has none (a stored ledger was checked when it
    was uploaded, so one that no longer parses is also treated as none)."""
    row = session.get(Ledger, line)
    if row is None:
        return None
    try:
        return GeoLedger.parse(row.text, row.format)
    except LedgerError:
        return None


def _poses(stored: Iterable[dict[str, Any] | None]) -> list[CameraPose]:
    """The stored poses that still parse (one stored by an older version may not)."""
    poses = []
    for data in stored:
        if not data:
            continue
        try:
            poses.append(CameraPose.from_json(data))
        except ValueError:
            continue
    return poses


def _flight_poses(session: Session, flight: Flight) -> list[CameraPose]:
    return _poses(session.scalars(
        select(Image.pose).where(Image.flight_id == flight.id,
                                 Image.status != PhotoStatus.FAILED,
                                 Image.pose.is_not(None)).order_by(Image.id)))


def covered_places(session: Session, settings: ServiceSettings, flight: Flight,
                   ledger: GeoLedger | None = None) -> set[tuple[str, str, str]]:
    """(kind, line, id) of the towers and spans the flight covered; none without a ledger.
    ``ledger``: the line's, where the caller has parsed it already (else read here)."""
    out = flight_coverage_of(session, settings, flight, ledger)
    if out is None:
        return set()
    return {(i.kind, i.line, i.id) for i in (*out.towers, *out.spans) if i.covered}


def flight_coverage_of(session: Session, settings: ServiceSettings, flight: Flight,
                       ledger: GeoLedger | None = None) -> FlightCoverageOut | None:
    """The flight's coverage of its line's ledger (``ledger``, or read here); None when the
    line has no ledger."""
    if ledger is None:
        ledger = line_ledger(session, flight.line)
    if ledger is None:
        return None
    poses = _flight_poses(session, flight)
    config = settings.coverage_config()
    body = flight_coverage(ledger, poses, config, GeoConfig()).to_json()
    return FlightCoverageOut(
        flight_id=flight.id, line=flight.line, min_object_px=config.min_object_px,
        photos=len(poses), ratio=body["ratio"],
        towers=[CoverageItemOut(**t) for t in body["towers"]],
        spans=[CoverageItemOut(**s) for s in body["spans"]],
        gaps=[CoverageGap(**g) for g in body["gaps"]],
    )


def flight_coverage_out(session: Session, settings: ServiceSettings,
                        flight: Flight) -> FlightCoverageOut:
    """The flight's coverage of its line's ledger; 409 when the line has no ledger."""
    out = flight_coverage_of(session, settings, flight)
    if out is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"line {flight.line!r} has no tower ledger, so there is nothing to cover: an admin "
            f"uploads one with PUT /api/v1/lines/{flight.line}/ledger",
        )
    return out


def _line_flights(session: Session, who: Principal, line: str,
                  since: dt.date | None) -> Sequence[Flight]:
    """The line's processed flights on or after ``since`` that ``who`` may read, oldest first."""
    query = select(Flight).where(Flight.line == line, Flight.status == FlightStatus.DONE)
    if since is not None:
        query = query.where(Flight.date >= since)
    if who.sees_only_own_flights:
        query = query.where(Flight.created_by == who.token_id)
    return session.scalars(query.order_by(Flight.date, Flight.id)).all()


def line_coverage_out(session: Session, settings: ServiceSettings, who: Principal, line: str,
                      since: dt.date | None, as_of: dt.date) -> LineCoverageOut:
    """The line's coverage over its processed flights since ``since``; 404 without a ledger."""
    ledger = line_ledger(session, line)
    if ledger is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ledger for line {line!r}")
    flights = _line_flights(session, who, line, since)
    stored: dict[int, list[dict[str, Any] | None]] = {f.id: [] for f in flights}
    if flights:
        rows = session.execute(
            select(Image.flight_id, Image.pose)
            .where(Image.flight_id.in_(list(stored)), Image.status == PhotoStatus.DONE,
                   Image.pose.is_not(None)).order_by(Image.id))
        for flight_id, pose in rows:
            stored[flight_id].append(pose)
    config = settings.coverage_config()
    geo = GeoConfig()
    dated = [DatedCoverage(f.date, flight_coverage(ledger, _poses(stored[f.id]), config, geo))
             for f in flights]
    body = line_coverage(ledger, dated, as_of, config.stale_after_days).to_json()
    return LineCoverageOut(
        line=line, since=since, as_of=as_of, min_object_px=config.min_object_px,
        stale_after_days=config.stale_after_days, flights=len(flights), ratio=body["ratio"],
        towers=[LineCoverageItemOut.model_validate(t) for t in body["towers"]],
        spans=[LineCoverageItemOut.model_validate(s) for s in body["spans"]],
        gaps=[CoverageGap(**g) for g in body["gaps"]],
        stale=[CoverageGap(**g) for g in body["stale"]],
    )
