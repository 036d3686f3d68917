"""Flights: create, upload photos, submit, cancel, follow progress, download the report, see
which towers and spans the photos covered."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from linepatrol_service import coverage, queries, reports
from linepatrol_service.auth import Principal
from linepatrol_service.deps import (
    FlightReader,
    FlightWriter,
    IdPath,
    Offset,
    ServicesDep,
    SessionDep,
    TextFilter,
)
from linepatrol_service.domain import (
    UNFINISHED_PHOTO,
    FlightStatus,
    TransitionError,
    check,
)
from linepatrol_service.edge import EDGE_FIELD, parse_edge_field, record_edge_summary
from linepatrol_service.logs import REQUEST_ID
from linepatrol_service.models import Flight, Image, utcnow
from linepatrol_service.queries import FlightFilter
from linepatrol_service.roles import Permission
from linepatrol_service.schemas import (
    EdgeSummaryIn,
    FlightCoverageOut,
    FlightCreate,
    FlightEdgeOut,
    FlightOut,
    ImageOut,
    Page,
    UploadResult,
    Verdict,
)
from linepatrol_service.services import Services
from linepatrol_service.uploads import ingest_upload
from linepatrol_service.views import flight_for, flights_out

log = logging.getLogger(__name__)
router = APIRouter(prefix="/flights", tags=["flights"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Photos (JPEG/PNG/TIFF) and zip archives of photos",
                        },
                        EDGE_FIELD: {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "From linepatrol edge: per photo, in the order of "
                            "'files', JSON {\"model\": ..., \"detections\": [{\"class\", "
                            "\"confidence\", \"xyxy\"}]} — the device's boxes, compared "
                            "with the back end's once processed",
                        },
                    },
                    "required": ["files"],
                }
            }
        },
    }
}


def _move(flight: Flight, wanted: FlightStatus) -> None:
    """Check the move against the domain's table; 409 when the flight is not where it may be
    moved from."""
    try:
        check(FlightStatus(flight.status), wanted, Permission.FLIGHTS_WRITE)
    except TransitionError:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"flight {flight.id} is {flight.status}") from None


@router.post("", status_code=status.HTTP_201_CREATED)
def create_flight(body: FlightCreate, session: SessionDep, who: FlightWriter) -> FlightOut:
    flight = Flight(line=body.line, date=body.date, team=body.team, drone=body.drone,
                    notes=body.notes, status=FlightStatus.DRAFT, created_by=who.token_id)
    session.add(flight)
    session.commit()
    return flights_out(session, [flight])[0]


@router.get("")
def list_flights(
    session: SessionDep,
    who: FlightReader,
    status_: Annotated[FlightStatus | None, Query(alias="status")] = None,
    line: TextFilter = None,
    team: TextFilter = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[FlightOut]:
    where = FlightFilter(status=status_, line=line, team=team, date_from=date_from,
                         date_to=date_to)
    return queries.list_flights(session, who, where, offset, limit)


@router.get("/{flight_id}")
def get_flight(flight_id: IdPath, session: SessionDep, who: FlightReader) -> FlightOut:
    return queries.get_flight(session, who, flight_id)


@router.get("/{flight_id}/images")
def list_flight_images(
    flight_id: IdPath,
    session: SessionDep,
    who: FlightReader,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Page[ImageOut]:
    return queries.flight_images(session, who, flight_id, offset, limit)


@router.post(
    "/{flight_id}/images",
    openapi_extra=_UPLOAD_BODY,
    responses={413: {"description": "Request larger than the upload limit"},
               409: {"description": "The flight is no longer a draft"}},
)
async def upload_images(
    flight_id: IdPath, request: Request, services: ServicesDep, who: FlightWriter,
) -> UploadResult:
    """Photos and zip archives, many per request; each file is answered on its own, and the
    request is all-or-nothing (a 409 when the flight was submitted meanwhile).

    Async to read the body on the event loop; every database call is in the thread pool and
    none holds a connection while the body streams in."""
    await run_in_threadpool(_draft_flight, services, who, flight_id)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            "send the files as multipart/form-data")
    try:
        form = await request.form(max_files=services.settings.max_files_per_request,
                                  max_fields=100)
    except MultiPartException as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad multipart body: {exc}") from None
    try:
        uploads = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
        if not uploads:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "no files: send them in the 'files' field")
        edge = [parse_edge_field(v) for v in form.getlist(EDGE_FIELD)]
        if edge and len(edge) != len(uploads):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"{len(edge)} {EDGE_FIELD} fields for {len(uploads)} files: "
                                "send one per file, in the same order")
        items = await run_in_threadpool(
            ingest_upload, services, who, flight_id,
            [(up.filename or "", up.file) for up in uploads], edge or None)
    finally:
        await form.close()
    return UploadResult(
        flight_id=flight_id, files=items,
        accepted=sum(i.status is Verdict.ACCEPTED for i in items),
        duplicates=sum(i.status is Verdict.DUPLICATE for i in items),
        rejected=sum(i.status is Verdict.REJECTED for i in items),
    )


def _draft_flight(services: Services, who: Principal, flight_id: int) -> None:
    """404 for no such flight (or another token's), 409 for one that is no longer a draft."""
    with services.sessions() as session:
        flight = flight_for(session, who, flight_id)
        if flight.status != FlightStatus.DRAFT:
            raise HTTPException(status.HTTP_409_CONFLICT,
                                f"flight {flight_id} is {flight.status}; photos go to draft "
                                "flights")


@router.post("/{flight_id}/edge-summary")
def flight_edge_summary(flight_id: IdPath, body: EdgeSummaryIn, session: SessionDep,
                 who: FlightWriter) -> FlightEdgeOut:
    """What an edge device (``linepatrol edge``) saw of the flight, counted by its spool:
    photos seen, sent, and judged empty and kept on the device. Each report replaces the
    device's previous one (the counts are cumulative); a flight in any state takes it, as the
    device may report after the flight was submitted. Answers the flight's edge block."""
    flight = flight_for(session, who, flight_id)
    record_edge_summary(session, flight.id, body)
    session.commit()
    edge = flights_out(session, [flight])[0].edge
    assert edge is not None  # the report just stored makes one
    return edge


@router.post("/{flight_id}/submit",
             responses={409: {"description": "Nothing to submit"},
                        503: {"description": "Queued, but the task queue is unreachable"}})
def submit_flight(flight_id: IdPath, services: ServicesDep, session: SessionDep,
                  who: FlightWriter) -> FlightOut:
    """Queue the flight for processing (a cancelled or failed flight may be submitted again:
    photos already processed are kept)."""
    flight = flight_for(session, who, flight_id, lock=True)
    _move(flight, FlightStatus.QUEUED)
    todo = session.scalar(
        select(func.count()).where(Image.flight_id == flight_id,
                                   Image.status.in_(UNFINISHED_PHOTO))
    ) or 0
    photos = session.scalar(select(func.count()).where(Image.flight_id == flight_id)) or 0
    if photos == 0:
        raise HTTPException(status.HTTP_409_CONFLICT, "the flight has no photos")
    flight.status = FlightStatus.QUEUED
    flight.submitted_at = utcnow()
    flight.started_at = flight.finished_at = None
    flight.error = None
    session.commit()
    log.info("flight %s submitted: %d of %d photos to process", flight_id, todo, photos)
    if services.dispatcher is not None:
        try:
            services.dispatcher.dispatch(flight_id, int(todo), request_id=REQUEST_ID.get())
        except Exception as exc:  # broker down: the flight stays queued for the next worker
            log.warning("flight %s queued, but the task queue is unreachable: %s", flight_id,
                        exc)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"flight {flight_id} is queued but the task queue is unreachable ({exc}); "
                "a worker picks it up when it starts",
            ) from None
    return flights_out(session, [flight])[0]


@router.post("/{flight_id}/cancel", responses={409: {"description": "Already finished"}})
def cancel_flight(flight_id: IdPath, session: SessionDep, who: FlightWriter) -> FlightOut:
    """Stop processing after the batch in hand; photos done so far keep their results."""
    flight = flight_for(session, who, flight_id, lock=True)
    _move(flight, FlightStatus.CANCELLED)
    flight.status = FlightStatus.CANCELLED
    flight.finished_at = utcnow()
    session.commit()
    return flights_out(session, [flight])[0]


@router.get(
    "/{flight_id}/report",
    response_class=Response,
    responses={200: {"content": {f.media_type: {} for f in reports.ReportFormat},
                     "description": "The report in the asked format"},
               409: {"description": "The flight is not processed yet"},
               501: {"description": "PDF asked for, and ReportLab (the pdf extra) is not "
                                    "installed"}},
)
def flight_report(
    flight_id: IdPath,
    services: ServicesDep,
    session: SessionDep,
    who: FlightReader,
    format: reports.ReportFormat = reports.ReportFormat.JSON,
    include_rejected: bool = False,
) -> Response:
    """The flight's defects as JSON, GeoJSON, KML, CSV, one self-contained HTML file or PDF
    (the same files ``linepatrol report`` writes), named ``flight-{id}.{format}``."""
    flight = flight_for(session, who, flight_id)
    if flight.status != FlightStatus.DONE:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"flight {flight_id} is {flight.status}; the report comes when done")
    return reports.report_response(
        session, services.store, services.settings.data_dir / "derived", format,
        reports.flight_subject(flights_out(session, [flight])[0]),
        reports.flight_defects(session, flight_id, include_rejected), f"flight-{flight_id}")


@router.get("/{flight_id}/coverage",
            responses={409: {"description": "The flight's line has no tower ledger"}})
def flight_coverage(flight_id: IdPath, services: ServicesDep, session: SessionDep,
                    who: FlightReader) -> FlightCoverageOut:
    """Which towers and spans of the line's ledger the flight's photos showed closely enough
    that a missing cap would span ``min_object_px`` pixels, with the number of photos and the
    finest ground sample distance; the ratio covered and the gaps. From the camera poses read
    at upload, so a draft flight already shows what its photos cover."""
    flight = flight_for(session, who, flight_id)
    return coverage.flight_coverage_out(session, services.settings, flight)
