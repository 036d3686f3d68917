"""GeoJSON for the maps: the ledger's lines and towers as vectors, and the defects on them.

The maps draw these vectors themselves, so they work offline with no tile server at all; a tile
layer is only drawn underneath when one is configured (``LINEPATROL_UI_TILE_URL``).

The warnings page's map: the listed warnings (the page's filter and offset) coloured by their
status, over their lines.

Coverage layer: on a flight's map, and on one line's map, the line's towers carry ``covered``
and each of its spans is a ``span`` feature with ``covered`` (the flight's coverage; for a line,
covered by a processed flight within ``coverage_stale_after_days``, i.e. not stale).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol_service import coverage, warnings
from linepatrol_service.auth import Principal
from linepatrol_service.domain import OPEN_DEFECT, REPORTED_DEFECT
from linepatrol_service.models import Defect, Flight, HazardWarning, Image, Ledger
from linepatrol_service.roles import Permission
from linepatrol_service.schemas import WarningOut
from linepatrol_service.settings import ServiceSettings
from linepatrol_service.tracking import seen_on_flight
from linepatrol_service.ui import labels
from linepatrol_service.ui.pages import (
    UI_PREFIX,
    WARNINGS_PER_PAGE,
    SessionDep,
    ViewerDep,
    needs,
)
from linepatrol_service.views import flight_for

log = logging.getLogger(__name__)
router = APIRouter(prefix=f"{UI_PREFIX}/data", include_in_schema=False)
MAX_DEFECTS = 5000
MAX_PHOTOS = 5000


def ledger_features(session: Session, lines: list[str] | None,
                    highlight_span: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Each ledger line as a LineString through its towers in ledger order, and each tower as
    a Point; the span ``(line, "12-13")`` given as ``highlight_span`` as its own feature."""
    from linepatrol.geo.ledger import Ledger as ParsedLedger
    from linepatrol.geo.ledger import LedgerError

    query = select(Ledger)
    if lines is not None:
        query = query.where(Ledger.line.in_(lines))
    features: list[dict[str, Any]] = []
    for row in session.scalars(query.order_by(Ledger.line)):
        try:
            parsed = ParsedLedger.parse(row.text, row.format)
        except LedgerError as exc:  # stored ledgers were checked on upload; be safe anyway
            log.warning("ledger of %s unreadable: %s", row.line, exc)
            continue
        by_line: dict[str, list[Any]] = {}
        for t in parsed.towers:
            by_line.setdefault(t.line, []).append(t)
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [t.lon, t.lat]},
                "properties": {"kind": "tower", "line": t.line, "tower": t.tower},
            })
        for line, towers in by_line.items():
            if len(towers) >= 2:
                features.append({
                    "type": "Feature",
                    "geometry": {"type": "LineString",
                                 "coordinates": [[t.lon, t.lat] for t in towers]},
                    "properties": {"kind": "line", "line": line},
                })
        if highlight_span is not None:
            for span in parsed.spans:
                if (span.line, span.name) == highlight_span:
                    features.append({
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": [
                            [span.a.lon, span.a.lat], [span.b.lon, span.b.lat]]},
                        "properties": {"kind": "span", "line": span.line, "span": span.name},
                    })
    return features


def photo_features(session: Session, image_ids: list[int] | None = None,
                   flight_id: int | None = None) -> list[dict[str, Any]]:
    """Where the camera was for each photo (from its EXIF/XMP pose): shows the flight path and
    which photo saw what."""
    query = select(Image.id, Image.filename, Image.pose).where(Image.pose.is_not(None))
    if image_ids is not None:
        query = query.where(Image.id.in_(image_ids))
    elif flight_id is not None:
        query = query.where(Image.flight_id == flight_id)
    else:
        return []
    out = []
    for image_id, filename, pose in session.execute(query.order_by(Image.id).limit(MAX_PHOTOS)):
        lat, lon = (pose or {}).get("lat"), (pose or {}).get("lon")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            out.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"kind": "photo", "id": image_id, "filename": filename,
                               "yaw": pose.get("yaw")},
            })
    return out


CoverageKey = tuple[str, str, str]  # (kind, line, id) of a tower or span


def coverage_marks(session: Session, settings: ServiceSettings, principal: Principal,
                   flight: Flight | None, line: str) -> dict[CoverageKey, bool]:
    """Covered or not per tower and span: the flight's coverage, or (no flight) the line's
    over its processed flights of the last ``coverage_stale_after_days``; empty without a
    ledger."""
    ledger_line = flight.line if flight is not None else line
    if not ledger_line or coverage.line_ledger(session, ledger_line) is None:
        return {}
    if flight is not None:
        out = coverage.flight_coverage_out(session, settings, flight)
        return {(i.kind, i.line, i.id): i.covered for i in out.towers + out.spans}
    today = dt.datetime.now(dt.UTC).date()
    since = today - dt.timedelta(days=settings.coverage_stale_after_days)
    period = coverage.line_coverage_out(session, settings, principal, line, since, today)
    return {(i.kind, i.line, i.id): not i.stale for i in period.towers + period.spans}


def coverage_features(session: Session, line: str, features: list[dict[str, Any]],
                      marks: dict[CoverageKey, bool]) -> list[dict[str, Any]]:
    """``covered`` set on the line's tower features (in place), and its spans as features."""
    if not marks:
        return []
    for f in features:
        p = f["properties"]
        if p["kind"] == "tower" and ("tower", p["line"], p["tower"]) in marks:
            p["covered"] = marks[("tower", p["line"], p["tower"])]
    parsed = coverage.line_ledger(session, line)
    spans = [] if parsed is None else parsed.spans
    return [{
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [
            [span.a.lon, span.a.lat], [span.b.lon, span.b.lat]]},
        "properties": {"kind": "span", "line": span.line, "span": span.name,
                       "covered": marks[("span", span.line, span.name)]},
    } for span in spans if ("span", span.line, span.name) in marks]


def defect_feature(d: Defect, linked: bool = True) -> dict[str, Any]:
    """One defect as a map point; ``linked`` is False for a viewer who may not open the defect
    page (an uploader), so the popup names the defect without a link that would only 403."""
    cls = labels.class_label(d.class_key)
    properties: dict[str, Any] = {
        "kind": "defect", "id": d.id, "class": d.class_key, "zh": cls.zh, "en": cls.en,
        "category": d.category, "severity": d.severity, "status": d.status,
        "line": d.line, "tower": d.tower, "span": d.span,
        "confidence": round(d.confidence, 3),
    }
    if linked:
        properties["url"] = f"{UI_PREFIX}/defects/{d.id}"
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [d.lon, d.lat]},
        "properties": properties,
    }


@router.get("/map.geojson")
def map_geojson(
    request: Request, viewer: ViewerDep, session: SessionDep,
    line: str = "",
    flight: Annotated[int | None, Query(ge=1)] = None,
    defect: Annotated[int | None, Query(ge=1)] = None,
) -> JSONResponse:
    """Open defects and hazards (or one flight's, or one defect) over the ledger's lines.

    One flight's map needs only what its flight page needs (flights:read, and the flight visible
    to the viewer: an uploader its own), since the flight's reports already list these defects;
    every other view is the review side's and needs defects:read."""
    if flight is not None and defect is None:
        needs(viewer, Permission.FLIGHTS_READ)
        flight_for(session, viewer.principal, flight)  # 404 for a flight the viewer can't see
    else:
        needs(viewer, Permission.DEFECTS_READ)
    query = select(Defect).where(Defect.lat.is_not(None), Defect.lon.is_not(None))
    if defect is not None:
        query = query.where(Defect.id == defect)
    elif flight is not None:
        query = query.where(seen_on_flight(flight), Defect.status.in_(REPORTED_DEFECT))
    else:
        query = query.where(Defect.status.in_(OPEN_DEFECT))
    if line:
        query = query.where(Defect.line == line)
    rows = list(session.scalars(query.order_by(Defect.id).limit(MAX_DEFECTS)))

    wanted_lines: list[str] | None = [line] if line else None  # None: every ledger
    span: tuple[str, str] | None = None
    cameras: list[dict[str, Any]] = []
    if defect is not None:  # the defect even without a position: its line, span, cameras
        one = session.get(Defect, defect)
        wanted_lines = [one.line] if one is not None and one.line else []
        if one is not None and one.line and one.span:
            span = (one.line, one.span)
        if one is not None:
            cameras = photo_features(session, image_ids=[
                int(e["image_id"]) for e in (one.evidence or [])])
    elif flight is not None:
        f = session.get(Flight, flight)
        wanted_lines = sorted({d.line for d in rows if d.line} | ({f.line} if f else set()))
        cameras = photo_features(session, flight_id=flight)
    features = ledger_features(session, wanted_lines, span) + cameras
    if defect is None and (flight is not None or line):
        settings: ServiceSettings = request.app.state.settings
        shown = session.get(Flight, flight) if flight is not None else None
        marks = coverage_marks(session, settings, viewer.principal, shown, line)
        features += coverage_features(session, shown.line if shown else line, features, marks)
    linked = viewer.can(Permission.DEFECTS_READ)
    features += [defect_feature(d, linked) for d in rows]
    return JSONResponse({"type": "FeatureCollection", "features": features},
                        headers={"Cache-Control": "no-store"})


def warning_feature(w: WarningOut) -> dict[str, Any]:
    """One warning as a map point (a warning without a position has none)."""
    cls = labels.class_label(w.class_key)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [w.lon, w.lat]},
        "properties": {
            "kind": "warning", "id": w.id, "class": w.class_key, "zh": cls.zh, "en": cls.en,
            "status": w.status, "status_zh": labels.WARNING_LABELS[w.status][0],
            "status_en": labels.WARNING_LABELS[w.status][1],
            "distance_m": round(w.distance_m, 1),
            "warning_distance_m": round(w.warning_distance_m, 1), "overdue": w.overdue,
            "line": w.line, "tower": w.tower, "span": w.span,
            "url": f"{UI_PREFIX}/warnings/{w.id}",
        },
    }


@router.get("/warnings.geojson")
def warnings_geojson(
    viewer: ViewerDep, session: SessionDep,
    line: str = "",
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    warning: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> JSONResponse:
    """The warnings the warnings page lists (its line filter and offset, the same order and
    page size), or one warning, each a point coloured by status on the map, over the ledger's
    lines they are on."""
    needs(viewer, Permission.DEFECTS_READ)
    if warning is not None:
        row = session.get(HazardWarning, warning)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such warning")
        items: list[WarningOut] = [warnings.get_warning(session, row)]
    else:
        items = warnings.list_warnings(session, warnings.WarningFilter(line=line or None),
                                       offset, WARNINGS_PER_PAGE).items
    placed = [w for w in items if w.lat is not None and w.lon is not None]
    features = ledger_features(session, sorted({w.line for w in items}))
    features += [warning_feature(w) for w in placed]
    return JSONResponse({"type": "FeatureCollection", "features": features},
                        headers={"Cache-Control": "no-store"})
