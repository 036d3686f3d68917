"""The web pages: server-rendered with Jinja2, reading through the API's own functions.

Each page calls the function behind the matching ``/api/v1`` endpoint (same filters, same
access rules) with the principal of the session cookie; changes are made by the pages' scripts
through ``/api/v1`` itself (see :mod:`linepatrol_service.ui.session`). Permissions come from
:data:`linepatrol_service.roles.GRANTS` through ``Principal.can``: nothing here decides who may do
what, it only hides the buttons a role could not use anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol_service import coverage, dashboard, queries, registry, warnings
from linepatrol_service.auth import Principal, authenticate
from linepatrol_service.camera_hazards import camera_overview
from linepatrol_service.domain import (
    DefectStatus,
    FlightStatus,
    ModelState,
    PhotoStatus,
    WarningStatus,
    may,
)
from linepatrol_service.model_views import model_detail
from linepatrol_service.models import (
    Defect,
    Flight,
    HazardWarning,
    Image,
    Ledger,
    ModelVersion,
    Sighting,
)
from linepatrol_service.queries import DefectFilter, DefectSort, FlightFilter
from linepatrol_service.roles import Permission
from linepatrol_service.routers.webhooks import deliveries as list_deliveries
from linepatrol_service.schemas import Evidence, ImageOut
from linepatrol_service.services import Services
from linepatrol_service.ui import labels
from linepatrol_service.ui.config import UISettings
from linepatrol_service.ui.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_kwargs,
    csrf_ok,
    csrf_token,
    new_login_nonce,
)
from linepatrol_service.views import image_for, image_out

UI_PREFIX = "/ui"
MAX_PHOTOS_SHOWN = 200  # a flight page lists this many photos; the API pages the rest
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    class_label=labels.class_label,
    severity_label=labels.severity_label,
    STATUS_LABELS=labels.STATUS_LABELS,
    FLIGHT_STATUS_LABELS=labels.FLIGHT_STATUS_LABELS,
    CATEGORY_LABELS=labels.CATEGORY_LABELS,
    SEVERITIES=labels.SEVERITIES,
    Permission=Permission,
    FlightStatus=FlightStatus,
    DefectStatus=DefectStatus,
    PhotoStatus=PhotoStatus,
    WarningStatus=WarningStatus,
    WARNING_LABELS=labels.WARNING_LABELS,
    may=may,
)

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)


# --- the viewer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: the principal, and the CSRF token their scripts must send."""

    principal: Principal
    csrf: str

    def can(self, permission: Permission) -> bool:
        return self.principal.can(permission)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _session(request: Request) -> Iterator[Session]:
    with _services(request).sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def _sign_in_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status.HTTP_303_SEE_OTHER, "sign in first",
        headers={"Location": f"{UI_PREFIX}/login?next={quote(target)}"},
    )


def get_viewer(request: Request) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _sign_in_redirect(request)
    with _services(request).sessions.begin() as session:
        principal = authenticate(session, token)
    if principal is None:  # revoked since sign-in
        raise _sign_in_redirect(request)
    return Viewer(principal, csrf_token(token))


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


class Forbidden(Exception):
    def __init__(self, viewer: Viewer, permission: Permission) -> None:
        self.viewer = viewer
        self.permission = permission


def needs(viewer: Viewer, permission: Permission) -> None:
    if not viewer.can(permission):
        raise Forbidden(viewer, permission)


def security_headers(tile_url: str = "") -> dict[str, str]:
    """Headers for every page: scripts and styles only from this site (the pages have no inline
    script or style), no framing, no referrer leaving the site. Images may also come from the
    configured tile server."""
    img = "'self' data: blob:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme and parts.netloc:
            host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
            img += f" {parts.scheme}://{host}"
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; img-src {img}; script-src 'self'; style-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def render(request: Request, name: str, viewer: Viewer | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    ui_settings: UISettings = getattr(request.app.state, "ui_settings", None) or UISettings()
    return templates.TemplateResponse(
        request, name,
        {"viewer": viewer, "ui": UI_PREFIX, "map_config": ui_settings.map_config(), **context},
        status_code=status_code, headers=security_headers(ui_settings.tile_url),
    )


def forbidden_page(request: Request, exc: Forbidden) -> HTMLResponse:
    return render(request, "error.html", exc.viewer, status_code=403,
                  title="Not allowed · 无权限",
                  message=f"The {exc.viewer.principal.role.value} role may not do this "
                  f"(needs {exc.permission.value}).")


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //evil.example)."""
    if target and target.startswith(f"{UI_PREFIX}/") and not target.startswith("//"):
        return target
    return f"{UI_PREFIX}/"


# --- sign in / out -------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    nonce = new_login_nonce()
    response = render(request, "login.html", None, next=_safe_next(next), nonce=nonce,
                      error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce,
                        **cookie_kwargs(request.url.scheme == "https", max_age=3600))
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    secure = request.url.scheme == "https"
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    error: str | None = None
    principal = None
    if not expected or not csrf or expected != csrf:
        error = "The sign-in form expired; please try again. 表单已过期，请重试。"
    else:
        with _services(request).sessions.begin() as session:
            principal = authenticate(session, token.strip())
        if principal is None:
            error = "Unknown or revoked token. 令牌无效或已吊销。"
    if error or principal is None:
        nonce = new_login_nonce()
        response = render(request, "login.html", None, status_code=401, next=_safe_next(next),
                          nonce=nonce, error=error)
        response.set_cookie(LOGIN_CSRF_COOKIE, nonce, **cookie_kwargs(secure, max_age=3600))
        return response
    redirect = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    redirect.set_cookie(SESSION_COOKIE, token.strip(), **cookie_kwargs(secure))
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return redirect


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token and not csrf_ok(token, csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF check failed")
    response = RedirectResponse(f"{UI_PREFIX}/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


@router.get("/")
def home(viewer: ViewerDep) -> Response:
    target = "defects" if viewer.can(Permission.DEFECTS_READ) else "flights"
    return RedirectResponse(f"{UI_PREFIX}/{target}", status_code=status.HTTP_303_SEE_OTHER)


# --- flights -------------------------------------------------------------------------------


def _ledger_lines(session: Session) -> list[str]:
    return list(session.scalars(select(Ledger.line).order_by(Ledger.line)))


@router.get("/flights", response_class=HTMLResponse)
def flights_page(
    request: Request, viewer: ViewerDep, session: SessionDep,
    flight_status: Annotated[str | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    needs(viewer, Permission.FLIGHTS_READ)
    wanted = FlightStatus(flight_status) if flight_status in set(FlightStatus) else None
    page = queries.list_flights(session, viewer.principal, FlightFilter(status=wanted),
                                offset=offset, limit=50)
    return render(request, "flights.html", viewer, page=page, status=wanted or "")


@router.get("/flights/new", response_class=HTMLResponse)
def new_flight_page(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    needs(viewer, Permission.FLIGHTS_WRITE)
    return render(request, "flight_new.html", viewer, lines=_ledger_lines(session),
                  today=dt.date.today().isoformat(),
                  limits=_services(request).settings)


def report_formats() -> list[str]:
    """The report downloads the flight page links to; PDF only where ReportLab is installed,
    so no link ends in the API's 501."""
    from linepatrol.report.pdf import available

    return ["html", *(["pdf"] if available() else []), "geojson", "kml", "csv", "json"]


@router.get("/flights/{flight_id}", response_class=HTMLResponse)
def flight_page(request: Request, flight_id: int, viewer: ViewerDep,
                session: SessionDep) -> Response:
    needs(viewer, Permission.FLIGHTS_READ)
    flight = queries.get_flight(session, viewer.principal, flight_id)
    failed = session.scalars(
        select(Image).where(Image.flight_id == flight_id, Image.status == PhotoStatus.FAILED)
        .order_by(Image.id).limit(200)
    ).all()
    no_pose = session.scalars(
        select(Image).where(Image.flight_id == flight_id, Image.pose_error.is_not(None))
        .order_by(Image.id).limit(200)
    ).all()
    photos = queries.flight_images(session, viewer.principal, flight_id, offset=0,
                                   limit=MAX_PHOTOS_SHOWN).items
    # Whoever may see the flight sees what it found (its reports list the same defects): a
    # patrol team checks its own flight. Only the links into the review side need defects:read.
    defects = queries.list_defects(session, DefectFilter(flight=flight_id), offset=0,
                                   limit=500).items
    refused = queries.upload_refusals(session, viewer.principal, flight_id)
    row = session.get(Flight, flight_id)
    assert row is not None  # get_flight above found it
    covered = coverage.flight_coverage_of(session, _services(request).settings, row)
    return render(request, "flight.html", viewer, flight=flight, defects=defects, photos=photos,
                  refused=refused, coverage=covered,
                  failed=[image_out(i) for i in failed], no_pose=[image_out(i) for i in no_pose],
                  formats=report_formats())


# --- defects -------------------------------------------------------------------------------


QUEUE_SORTS = {
    "severity": "Most urgent first 按等级",
    "-detected_at": "Newest first 最新",
    "detected_at": "Oldest first 最早",
    "-confidence": "Most confident first 置信度",
    "tower": "By tower 按杆塔",
    "due_at": "Earliest deadline first 按期限",
    "-last_seen": "Most recently seen first 最近发现",
}


@dataclass(frozen=True)
class QueueFilters:
    """The queue page's form, as it round-trips through the URL."""

    status: list[DefectStatus]
    severity: list[str]
    classes: list[str]
    line: str
    tower: str
    flight: int | None
    date_from: dt.date | None
    date_to: dt.date | None
    sort: str = "severity"
    category: str = ""
    overdue: bool = False
    not_seen: bool = False

    def where(self) -> DefectFilter:
        """The domain's filter for this form."""
        return DefectFilter(
            statuses=tuple(self.status),
            severities=tuple(taxonomy.Severity(s) for s in self.severity),
            classes=tuple(self.classes), line=self.line or None, tower=self.tower or None,
            flight=self.flight, date_from=self.date_from, date_to=self.date_to,
            categories=(taxonomy.Category(self.category),) if self.category else (),
            overdue=True if self.overdue else None,
            not_seen=True if self.not_seen else None, sort=DefectSort(self.sort),
        )

    def query(self, **override: Any) -> str:
        values: dict[str, Any] = {
            "status": self.status, "severity": self.severity, "class": self.classes,
            "line": self.line, "tower": self.tower, "flight": self.flight,
            "date_from": self.date_from, "date_to": self.date_to,
            "sort": self.sort if self.sort != "severity" else None,
            "category": self.category, "overdue": "1" if self.overdue else None,
            "not_seen": "1" if self.not_seen else None,
        }
        values.update(override)
        pairs = []
        for key, value in values.items():
            for v in value if isinstance(value, list) else [value]:
                if v not in (None, ""):
                    pairs.append((key, str(v)))
        return urlencode(pairs)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/defects", response_class=HTMLResponse)
def queue_page(
    request: Request, viewer: ViewerDep, session: SessionDep,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    severity: Annotated[list[str] | None, Query()] = None,
    class_: Annotated[list[str] | None, Query(alias="class")] = None,
    line: str = "", tower: str = "",
    flight: Annotated[str | None, Query()] = None,
    date_from: str | None = None, date_to: str | None = None,
    sort: str = "severity",
    category: str = "",
    overdue: str = "",
    not_seen: str = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The review queue; with no filter at all it shows what awaits review (status new)."""
    needs(viewer, Permission.DEFECTS_READ)
    any_filter = any(k in request.query_params for k in ("status", "severity", "class", "line",
                                                         "tower", "flight", "date_from",
                                                         "date_to", "category", "overdue",
                                                         "not_seen"))
    statuses = [DefectStatus(s) for s in (status_ or []) if s in set(DefectStatus)]
    if not any_filter:
        statuses = [DefectStatus.NEW]
    filters = QueueFilters(
        status=statuses,
        severity=[s for s in (severity or []) if s in dict(labels.SEVERITIES)],
        classes=[c for c in (class_ or []) if c],
        line=line.strip(), tower=tower.strip(),
        flight=int(flight) if flight and flight.isdigit() else None,
        date_from=_date(date_from), date_to=_date(date_to),
        sort=sort if sort in QUEUE_SORTS else "severity",
        category=category if category in ("line_defect", "hazard") else "",
        overdue=overdue in ("1", "on", "true"),
        not_seen=not_seen in ("1", "on", "true"),
    )
    page = queries.list_defects(session, filters.where(), offset=offset, limit=100)
    lines = list(session.scalars(select(Defect.line).distinct().where(Defect.line.is_not(None))
                                 .order_by(Defect.line)))
    present = list(session.scalars(select(Defect.class_key).distinct().order_by(Defect.class_key)))
    return render(request, "defects.html", viewer, page=page, filters=filters, lines=lines,
                  sorts=QUEUE_SORTS,
                  classes=[labels.class_label(k) for k in present],
                  all_classes=labels.reviewable_classes())


@dataclass(frozen=True)
class EvidencePhoto:
    """One sighting of a defect with its photo, as the defect page shows it."""

    index: int
    evidence: Evidence
    image: ImageOut


@router.get("/defects/{defect_id}", response_class=HTMLResponse)
def defect_page(request: Request, defect_id: int, viewer: ViewerDep,
                session: SessionDep) -> Response:
    needs(viewer, Permission.DEFECTS_READ)
    defect = queries.get_defect(session, defect_id)
    history = queries.defect_history(session, defect_id)
    photos = []
    for index, ev in enumerate(defect.evidence):
        image = session.get(Image, ev.image_id)
        if image is not None and image.width and image.height:  # gone, or never decoded
            photos.append(EvidencePhoto(index, ev, image_out(image)))
    # The next defect still awaiting review, so a reviewer can go on without the queue.
    newer = select(Defect.id).where(Defect.status == DefectStatus.NEW, Defect.id != defect_id)
    next_id = session.scalar(newer.where(Defect.id > defect_id).order_by(Defect.id).limit(1)) \
        or session.scalar(newer.order_by(Defect.id).limit(1))
    photo_data = [
        {"imageId": p.image.id, "filename": p.image.filename, "width": p.image.width,
         "height": p.image.height, "box": list(p.evidence.xyxy),
         "confidence": p.evidence.confidence}
        for p in photos
    ]
    return render(request, "defect.html", viewer, d=defect, history=history, photos=photos,
                  photo_data=photo_data, next_id=next_id,
                  all_classes=labels.reviewable_classes(),
                  statuses=[s for s in DefectStatus if s == defect.status
                            or may(defect.status, s, Permission.DEFECTS_WRITE)])


# --- one photo: every item's box on it ------------------------------------------------------


MAX_PHOTO_ITEMS = 500  # items considered for one photo (a photo holds a few dozen at most)


def photo_boxes(session: Session, image: Image) -> list[dict[str, Any]]:
    """Every item with a box on ``image``, one entry each, by item id: the item's own evidence
    entry for the photo when it has one (what a correction changes), else the one of the
    photo's flight's sighting (an item first found by an earlier flight). ``correctable``: the
    photo is the item's first evidence, where ``PATCH /defects/{id}`` with ``xyxy`` applies."""
    if image.flight_id is not None:
        seen = select(Sighting.defect_id).where(Sighting.flight_id == image.flight_id)
        query = select(Defect).where((Defect.flight_id == image.flight_id) | Defect.id.in_(seen))
    elif image.camera_id is not None:
        query = select(Defect).where(Defect.camera_id == image.camera_id)
    else:
        return []
    items = session.scalars(query.order_by(Defect.id).limit(MAX_PHOTO_ITEMS)).all()
    on_flight: dict[int, dict[str, Any]] = {}
    if image.flight_id is not None:
        for sighting in session.scalars(select(Sighting).where(
                Sighting.flight_id == image.flight_id,
                Sighting.defect_id.in_([d.id for d in items]))):
            for view in sighting.evidence or []:
                if view.get("image_id") == image.id:
                    on_flight.setdefault(sighting.defect_id, view)
    boxes = []
    for d in items:
        evidence = d.evidence or []
        own = [e for e in evidence if e.get("image_id") == image.id]
        entry = own[0] if own else on_flight.get(d.id)
        if entry is None:
            continue
        label = labels.class_label(d.class_key)
        status_zh, status_en = labels.STATUS_LABELS.get(DefectStatus(d.status),
                                                        (d.status, d.status))
        first = evidence[0].get("image_id") if evidence else None
        boxes.append({
            "id": d.id, "class": d.class_key, "zh": label.zh, "en": label.en,
            "status": d.status, "statusText": f"{status_zh} {status_en}",
            "severity": d.severity, "confidence": entry.get("confidence", d.confidence),
            "xyxy": [float(v) for v in entry["xyxy"]],
            "origin": entry.get("origin", "detected"),
            "correctable": first == image.id, "firstImage": first,
        })
    return boxes


def _photo(session: Session, viewer: Viewer, image_id: int) -> Image:
    """The photo for the review side: defects:read (an uploader gets the 403 page), and the
    photo visible to the viewer as ``GET /api/v1/images/{id}`` decides (404 otherwise)."""
    needs(viewer, Permission.DEFECTS_READ)
    return image_for(session, viewer.principal, image_id)


@router.get("/images/{image_id}", response_class=HTMLResponse)
def photo_page(request: Request, image_id: int, viewer: ViewerDep,
               session: SessionDep) -> Response:
    """One photo with every item's box on it; reviewers correct, reclassify, reject or confirm
    a box and draw a missed object, all through ``/api/v1``."""
    image = _photo(session, viewer, image_id)
    photo = {"imageId": image.id, "filename": image.filename, "width": image.width,
             "height": image.height}
    return render(request, "photo.html", viewer, image=image_out(image), photo=photo,
                  boxes=photo_boxes(session, image), all_classes=labels.reviewable_classes())


@router.get("/images/{image_id}/boxes.json")
def photo_boxes_json(image_id: int, viewer: ViewerDep, session: SessionDep) -> JSONResponse:
    """The photo page's boxes again, after an edit (no reload: the zoom and selection stay)."""
    image = _photo(session, viewer, image_id)
    return JSONResponse(photo_boxes(session, image), headers={"Cache-Control": "no-store"})


# --- lines (the dashboard) ------------------------------------------------------------------


@router.get("/lines", response_class=HTMLResponse)
def lines_page(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    """Every line at a glance: what is open, late, near the line, and how well covered."""
    needs(viewer, Permission.DEFECTS_READ)
    summaries = dashboard.lines_overview(session, _services(request).settings, viewer.principal)
    return render(request, "lines.html", viewer, summaries=summaries)


@router.get("/lines/{line}", response_class=HTMLResponse)
def line_page(request: Request, viewer: ViewerDep, session: SessionDep, line: str) -> Response:
    """One line's dashboard: the figures of ``GET /api/v1/lines/{line}/summary``, its map with
    the coverage layer, its machines' distance trend and its latest flights."""
    needs(viewer, Permission.DEFECTS_READ)
    summary = dashboard.line_summary(session, _services(request).settings, viewer.principal,
                                     line)
    return render(request, "line.html", viewer, s=summary)


# --- hazard warnings ------------------------------------------------------------------------


WARNINGS_PER_PAGE = 50  # the list, and its map (mapdata.warnings_geojson)


@router.get("/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, viewer: ViewerDep, session: SessionDep, line: str = "",
                  offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> Response:
    """The warnings (``GET /api/v1/warnings``): open first, then by deadline, with each one's
    photo and the lifecycle buttons the viewer's role may use; admins also see the webhook's
    latest deliveries."""
    needs(viewer, Permission.DEFECTS_READ)
    page = warnings.list_warnings(session, warnings.WarningFilter(line=line or None), offset,
                                  WARNINGS_PER_PAGE)
    deliveries = None
    if viewer.can(Permission.ADMIN):
        deliveries = list_deliveries(session, (), 0, 20)
    source = f"{UI_PREFIX}/data/warnings.geojson?" + urlencode({"line": line, "offset": offset})
    return render(request, "warnings.html", viewer, page=page, line=line, one=None,
                  deliveries=deliveries, stats=warnings.stats(session, line or None, None, None),
                  map_source=source)


@router.get("/warnings/{warning_id}", response_class=HTMLResponse)
def warning_page(request: Request, warning_id: int, viewer: ViewerDep,
                 session: SessionDep) -> Response:
    """One warning with its events (the page a webhook message links to)."""
    needs(viewer, Permission.DEFECTS_READ)
    row = session.get(HazardWarning, warning_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such warning")
    one = warnings.get_warning(session, row)
    return render(request, "warnings.html", viewer, page=None, line="", one=one,
                  deliveries=None, stats=None,
                  map_source=f"{UI_PREFIX}/data/warnings.geojson?warning={one.id}")


# --- corridor cameras ----------------------------------------------------------------------


@router.get("/cameras", response_class=HTMLResponse)
def cameras_page(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    """The registered corridor cameras, each with its open hazard items and latest photo."""
    needs(viewer, Permission.FLIGHTS_READ)
    return render(request, "cameras.html", viewer, cameras=camera_overview(session))


# --- map -----------------------------------------------------------------------------------


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, viewer: ViewerDep, session: SessionDep,
             line: str = "") -> Response:
    needs(viewer, Permission.DEFECTS_READ)
    return render(request, "map.html", viewer, lines=_ledger_lines(session), line=line)


# --- the model registry ----------------------------------------------------------------------

_MOVE_LABELS = {ModelState.SHADOW: "Run in shadow 影子运行",
                ModelState.ACTIVE: "Promote 启用",
                ModelState.REGISTERED: "Stop the shadow 停止影子",
                ModelState.RETIRED: "Retire 停用"}


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    """The registry (admins): what runs, each version's comparison against the reviews, and
    the moves the transition table allows from its state."""
    needs(viewer, Permission.ADMIN)
    rows = session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())).all()
    versions = [model_detail(session, row) for row in rows]
    moves = {v.id: [(to.value, label) for to, label in _MOVE_LABELS.items()
                    if may(v.state, to, Permission.ADMIN)] for v in versions}
    settings = _services(request).settings
    now = registry.deployment(session, settings.model_dir, settings.model)
    return render(request, "models.html", viewer, versions=versions, moves=moves,
                  deployment=now)
