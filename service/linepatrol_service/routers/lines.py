"""Tower ledgers per line (CSV or GeoJSON), used to name the tower and span of a defect, and
the line's visual coverage over its flights."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select

from linepatrol.geo.ledger import Ledger as GeoLedger
from linepatrol.geo.ledger import LedgerError
from linepatrol_service import coverage, dashboard, reports
from linepatrol_service.deps import Admin, DefectReader, FlightReader, ServicesDep, SessionDep
from linepatrol_service.domain import FlightStatus
from linepatrol_service.models import Flight, Ledger, utcnow
from linepatrol_service.schemas import LedgerOut, LineCoverageOut, LineSummary
from linepatrol_service.validation import TEXT_PATTERN, InputError, check_json, check_texts
from linepatrol_service.views import _utc

router = APIRouter(prefix="/lines", tags=["lines"])
LineName = Annotated[str, Path(min_length=1, max_length=200, pattern=TEXT_PATTERN)]

_LEDGER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The tower ledger: CSV with a header row, or a GeoJSON FeatureCollection",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/geo+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _format(content_type: str, text: str) -> str:
    ct = content_type.split(";")[0].strip().lower()
    if ct in ("application/geo+json", "application/json"):
        return "geojson"
    if ct in ("text/csv", "text/plain", "application/csv"):
        return "csv"
    return "geojson" if text.lstrip().startswith("{") else "csv"


def _parse_ledger(text: str, fmt: str) -> int:
    """Tower count of a valid ledger; ValueError with the reason otherwise."""
    try:
        ledger = GeoLedger.parse(text, fmt)
    except LedgerError as exc:
        raise ValueError(str(exc)) from None
    return len(ledger.towers)


@router.put(
    "/{line}/ledger",
    openapi_extra=_LEDGER_BODY,
    responses={413: {"description": "Ledger too large"}, 422: {"description": "Invalid ledger"}},
)
async def put_ledger(line: LineName, request: Request, session: SessionDep,
                     who: Admin) -> LedgerOut:
    raw = await request.body()  # within the body limit of validation.InputGuard (413)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "the ledger must be UTF-8 text") from None
    fmt = _format(request.headers.get("content-type", ""), text)
    try:  # whatever its content type said: a GeoJSON ledger is JSON, checked as all JSON is
        if fmt == "geojson":
            check_json(raw)
        else:
            check_texts([(("body",), text)])
    except InputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"invalid {fmt} ledger: {exc.message}") from None
    try:
        towers = await run_in_threadpool(_parse_ledger, text, fmt)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"invalid {fmt} ledger: {exc}") from None
    row = session.get(Ledger, line)
    if row is None:
        row = Ledger(line=line)
        session.add(row)
    row.format, row.text, row.towers = fmt, text, towers
    row.updated_at, row.updated_by = utcnow(), who.name
    session.commit()
    return LedgerOut(line=row.line, format=row.format, towers=row.towers,
                     updated_at=_utc(row.updated_at),
                     updated_by=row.updated_by)


@router.get("/{line}/ledger")
def get_ledger(line: LineName, session: SessionDep, who: DefectReader) -> LedgerOut:
    row = session.get(Ledger, line)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ledger for line {line!r}")
    return LedgerOut(line=row.line, format=row.format, towers=row.towers,
                     updated_at=_utc(row.updated_at),
                     updated_by=row.updated_by)


@router.get("/{line}/summary")
def line_summary(line: LineName, services: ServicesDep, session: SessionDep,
                 who: DefectReader) -> LineSummary:
    """The line dashboard's figures: open defects by grade, overdue ones, candidate fixes,
    machines near the line with their distance per sighting, the latest flights, coverage of
    the latest flight and over the staleness period."""
    return dashboard.line_summary(session, services.settings, who, line)


@router.get("")
def lines_overview(services: ServicesDep, session: SessionDep,
                   who: DefectReader) -> list[LineSummary]:
    """Every line's dashboard figures (the overview of all lines)."""
    return dashboard.lines_overview(session, services.settings, who)


@router.get("/{line}/coverage")
def line_coverage(line: LineName, services: ServicesDep, session: SessionDep,
                  who: FlightReader, since: dt.date | None = None) -> LineCoverageOut:
    """The line's towers and spans over its processed flights dated ``since`` or later (all
    of them without it): covered by any, by how many, the last date each was covered, and
    ``stale`` for those not covered for longer than ``stale_after_days`` (counted to today,
    UTC). An uploader's answer counts its own flights only."""
    today = dt.datetime.now(dt.UTC).date()
    return coverage.line_coverage_out(session, services.settings, who, line, since, today)


@router.get(
    "/{line}/report",
    response_class=Response,
    responses={200: {"content": {f.media_type: {} for f in reports.ReportFormat},
                     "description": "The report in the asked format"},
               501: {"description": "PDF asked for, and ReportLab (the pdf extra) is not "
                                    "installed"}},
)
def line_report(line: LineName, services: ServicesDep, session: SessionDep, who: DefectReader,
                format: reports.ReportFormat = reports.ReportFormat.JSON) -> Response:
    """Every open defect of the line (new, confirmed, assigned), with its latest sighting's
    evidence, in every format a flight's report has, named ``line-{line}.{format}``."""
    flights = session.scalar(select(func.count()).select_from(Flight).where(
        Flight.line == line, Flight.status == FlightStatus.DONE)) or 0
    subject = reports.line_subject(line, utcnow().date(), int(flights))
    return reports.report_response(
        session, services.store, services.settings.data_dir / "derived", format, subject,
        reports.line_defects(session, line), f"line-{line}")
