"""The line dashboard ("centralised monitoring"): one line's figures, and every line's.

Composed from the same queries as the queue and the flights (:mod:`linepatrol_service.queries`)
and the same coverage as the coverage endpoints (:mod:`linepatrol_service.coverage`), so a
figure on the dashboard is the figure its own page or endpoint gives.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol_service.auth import Principal
from linepatrol_service.coverage import flight_coverage_of, line_coverage_out, line_ledger
from linepatrol_service.domain import OPEN_DEFECT, OVERDUE_STATUSES, DefectStatus, FlightStatus
from linepatrol_service.models import Defect, Flight, Ledger, Sighting, utcnow
from linepatrol_service.queries import FlightFilter, list_flights
from linepatrol_service.schemas import DistancePoint, HazardTrend, LineSummary
from linepatrol_service.settings import ServiceSettings
from linepatrol_service.warnings import stats as warning_stats

FLIGHTS_SHOWN = 5


def _grades(session: Session, line: str) -> dict[str, int]:
    grades: dict[str, int] = {}
    for severity, n in session.execute(
        select(Defect.severity, func.count()).where(Defect.line == line,
                                                    Defect.status.in_(OPEN_DEFECT))
        .group_by(Defect.severity)
    ):
        grades[severity or "ungraded"] = int(n)
    return grades


def _hazards(session: Session, line: str) -> list[HazardTrend]:
    """The line's open hazards, each with its distance to the conductors per sighting."""
    open_hazards = list(session.scalars(select(Defect).where(
        Defect.line == line, Defect.status.in_(OPEN_DEFECT),
        Defect.category == taxonomy.Category.HAZARD.value).order_by(Defect.id)))
    points: dict[int, list[DistancePoint]] = {d.id: [] for d in open_hazards}
    for s in session.scalars(select(Sighting).where(Sighting.defect_id.in_(points))
                             .order_by(Sighting.seen_on, Sighting.id)):
        points[s.defect_id].append(DistancePoint(flight_id=s.flight_id, seen_on=s.seen_on,
                                                 distance_to_line_m=s.distance_to_line_m))
    hazards = []
    for d in open_hazards:
        known = [p.distance_to_line_m for p in points[d.id] if p.distance_to_line_m is not None]
        hazards.append(HazardTrend(
            id=d.id, class_key=d.class_key, severity=d.severity, status=DefectStatus(d.status),
            distances=points[d.id],
            closer_by_m=round(known[0] - known[-1], 1) if known else None))
    return hazards


def line_summary(session: Session, settings: ServiceSettings, who: Principal,
                 line: str) -> LineSummary:
    """One line's figures: open defects by grade, overdue ones, candidate fixes, machines near
    the line with their distance trend, the latest flights, coverage — of the latest
    processed flight, and over the staleness period — and its warnings' execution rate."""
    now = utcnow()
    overdue = session.scalar(select(func.count()).select_from(Defect).where(
        Defect.line == line, Defect.status.in_(OVERDUE_STATUSES), Defect.due_at < now)) or 0
    candidates = session.scalar(select(func.count()).select_from(Defect).where(
        Defect.line == line, Defect.status.in_(OVERDUE_STATUSES),
        Defect.not_seen_flight_id.is_not(None))) or 0
    flights = list_flights(session, who, FlightFilter(line=line), 0, FLIGHTS_SHOWN).items
    latest, period, stale = None, None, None
    if line_ledger(session, line) is not None:
        today = now.date()
        since = today - dt.timedelta(days=settings.coverage_stale_after_days)
        over = line_coverage_out(session, settings, who, line, since, today)
        period, stale = over.ratio, len(over.stale)
        newest = next((f for f in flights if f.status == FlightStatus.DONE), None)
        row = session.get(Flight, newest.id) if newest is not None else None
        out = flight_coverage_of(session, settings, row) if row is not None else None
        latest = out.ratio if out is not None else None
    return LineSummary(line=line, open_by_grade=_grades(session, line), overdue=int(overdue),
                       candidate_fixes=int(candidates), hazards=_hazards(session, line),
                       latest_flights=flights, coverage_latest=latest,
                       coverage_period=period, stale=stale,
                       warnings=warning_stats(session, line, None, None))


def line_names(session: Session, who: Principal) -> list[str]:
    """Every line the service knows: from ledgers, flights and defects."""
    flights = select(Flight.line)
    if who.sees_only_own_flights:
        flights = flights.where(Flight.created_by == who.token_id)
    found: set[str] = set()
    for query in (select(Ledger.line), flights, select(Defect.line)):
        found.update(str(n) for n in session.scalars(query.distinct()) if n)
    return sorted(found)


def lines_overview(session: Session, settings: ServiceSettings,
                   who: Principal) -> list[LineSummary]:
    """Every line's summary, by name."""
    return [line_summary(session, settings, who, line) for line in line_names(session, who)]
