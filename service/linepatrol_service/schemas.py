"""Request and response bodies of the API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linepatrol_service.domain import (
    BoxOrigin,
    DefectStatus,
    DeliveryStatus,
    FlightStatus,
    ModelState,
    PhotoStatus,
    WarningEventKind,
    WarningStatus,
)
from linepatrol_service.validation import TEXT_PATTERN

SeverityName = Literal["critical", "serious", "general"]
# x1, y1, x2, y2 in photo pixels (checked against the photo by linepatrol_service.review)
PixelBox = Annotated[list[Annotated[float, Field(allow_inf_nan=False, strict=True)]],
                     Field(min_length=4, max_length=4,
                           description="x1, y1, x2, y2 in photo pixels (x1 < x2, y1 < y2, "
                           "inside the photo)")]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class FlightCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"line": "500kV 江城线", "date": "2026-11-20", "team": "Patrol team 2",
         "drone": "M300 RTK + H20T", "notes": "N10-N20, morning light"}]})
    line: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN,
                      description="Line name, e.g. '500kV 某线'")
    date: dt.date
    team: str = Field(default="", max_length=200, pattern=TEXT_PATTERN)
    drone: str = Field(default="", max_length=200, pattern=TEXT_PATTERN)
    notes: str = Field(default="", max_length=10_000, pattern=TEXT_PATTERN)

    @field_validator("line")
    @classmethod
    def _strip(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("line must not be blank")
        return v.strip()


class Verdict(StrEnum):
    """What became of one uploaded file."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class UploadRefusalOut(BaseModel):
    """A file refused at upload."""

    filename: str
    reason: str
    at: dt.datetime


class Progress(BaseModel):
    total: int
    done: int
    failed: int
    pending: int


class Timings(BaseModel):
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    queued_s: float | None = Field(description="Seconds between submit and start")
    processing_s: float | None = Field(description="Seconds between start and finish")


class FlightOut(BaseModel):
    id: int
    line: str
    date: dt.date
    team: str
    drone: str
    notes: str
    status: FlightStatus
    error: str | None
    progress: Progress
    timings: Timings
    defects: int
    edge: FlightEdgeOut | None = Field(
        default=None, description="Front end + back end: what edge devices saw and sent of "
        "this flight and how far the back end agreed (null: no photo came from an edge)")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class UploadItem(BaseModel):
    filename: str
    status: Verdict
    reason: str | None = None
    image_id: int | None = None
    sha256: str | None = None
    warnings: list[str] = Field(default_factory=list)


class UploadResult(BaseModel):
    flight_id: int
    accepted: int
    duplicates: int
    rejected: int
    files: list[UploadItem]


class DetectionOut(BaseModel):
    """One box of a photo as the detector gave it (photo pixels)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    class_key: str = Field(alias="class", description="Taxonomy key of the class")
    confidence: float
    xyxy: list[float] = Field(description="x1, y1, x2, y2 in photo pixels")


class ImageOut(BaseModel):
    id: int
    flight_id: int | None
    camera_id: str | None = None
    captured_at: dt.datetime | None = None
    filename: str
    sha256: str
    size: int
    format: str
    width: int | None
    height: int | None
    status: PhotoStatus
    error: str | None
    pose: dict[str, Any] | None = Field(description="Camera pose read from EXIF/XMP at upload")
    pose_error: str | None
    detections: list[DetectionOut] | None
    processed_by: str | None
    edge: ImageEdgeOut | None = Field(
        default=None, description="The edge's boxes, when a device sent the photo, and the "
        "agreement with the back end's once processed")


class EdgeBoxIn(BaseModel):
    """One box of the edge's model, as ``linepatrol edge`` sends it (photo pixels)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    class_key: str = Field(alias="class", min_length=1, max_length=100, pattern=TEXT_PATTERN)
    confidence: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    xyxy: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(min_length=4,
                                                                     max_length=4)


class EdgeDetectionsIn(BaseModel):
    """The ``edge_detections`` form field of a photo upload (flights and cameras): the edge
    model's name and its boxes on that photo."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    detections: list[EdgeBoxIn] = Field(max_length=1000)


class EdgeSummaryIn(BaseModel):
    """What one edge device saw of a flight, counted by its spool (cumulative: each report
    replaces that device's previous one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"device": "rc-plus-07", "model": "linepatrol-cplid-v1-int8", "seen": 412,
         "uploaded": 23, "skipped": 389}]})

    device: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    model: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    seen: int = Field(ge=0, le=10_000_000)
    uploaded: int = Field(ge=0, le=10_000_000)
    skipped: int = Field(ge=0, le=10_000_000)


class AgreementOut(BaseModel):
    """Findings (defect and hazard boxes) of the two ends matched by class family at IoU >= 0.3
    (linepatrol.edge.agreement)."""

    agreed: bool = Field(description="Both ends found something, or both found nothing")
    matched: int
    edge_only: int
    back_only: int


class ImageEdgeOut(BaseModel):
    model: str
    detections: list[DetectionOut]
    agreement: AgreementOut | None = Field(
        description="Null until the back end has processed the photo")


class FlightEdgeOut(BaseModel):
    """Front end + back end on a flight's photos, or a corridor camera's (``GET
    /cameras/{id}``'s ``edge``): the same numbers by the same rule."""

    photos: int = Field(description="Photos of the flight that came from an edge device")
    processed: int = Field(description="Of those, processed by the back end")
    agreed: int = Field(description="Of those, where both ends found something or nothing")
    agreement_rate: float | None = Field(description="agreed / processed (null: none yet)")
    matched: int = Field(description="Findings boxed by both ends")
    edge_only: int = Field(description="Findings only the edge boxed")
    back_only: int = Field(description="Findings only the back end boxed")
    seen_on_edge: int = Field(description="Photos the edge devices saw (their reports)")
    skipped_on_edge: int = Field(description="Photos the edge judged empty and kept")
    devices: list[str]
    models: list[str]


FlightOut.model_rebuild()  # both refer to the edge bodies defined after them
ImageOut.model_rebuild()


class Evidence(BaseModel):
    image_id: int
    xyxy: list[float]
    confidence: float
    detected_class: str | None = Field(
        default=None,
        description="What the detector called the object in this photo; a machine seen under "
        "several names is one defect whose class is the views' vote (null: stored before "
        "per-view classes were kept)",
    )
    origin: BoxOrigin = Field(
        default=BoxOrigin.DETECTED,
        description="Whose box: the detector's, the detector's corrected by a reviewer, or "
        "drawn by a reviewer (a missed object)")
    detected_xyxy: list[float] | None = Field(
        default=None, description="The detector's box before a reviewer corrected it")


class DefectOut(BaseModel):
    id: int
    flight_id: int | None
    camera_id: str | None = None
    last_seen_at: dt.datetime | None = None
    class_key: str
    class_zh: str | None
    detected_class: str
    category: str
    severity: str | None
    status: DefectStatus
    assignee: str | None
    confidence: float
    lat: float | None
    lon: float | None
    alt: float | None
    alt_datum: str | None = Field(description="Vertical datum of alt (egm96, wgs84, takeoff)")
    placement: str | None = Field(description="How it was located: tower, span, ground, none")
    uncertainty_m: float | None = Field(description="Horizontal position uncertainty (1 sigma)")
    geo_reason: str | None
    line: str | None
    tower: str | None
    span: str | None
    distance_to_line_m: float | None
    image_id: int | None
    xyxy: list[float] | None
    detected_at: dt.datetime
    updated_at: dt.datetime
    first_seen: dt.date | None = Field(description="Date of the first flight that saw it")
    last_seen: dt.date | None = Field(description="Date of the latest flight that saw it")
    sightings: int = Field(description="Flights that saw it (one item per real-world object)")
    confirmed_at: dt.datetime | None
    due_at: dt.datetime | None = Field(
        description="Deadline: confirmation plus its grade's time (per deployment)")
    overdue: bool = Field(description="Past its deadline and not yet fixed")
    not_seen_on_flight: int | None = Field(
        description="A later flight covered its tower or span without seeing it: a candidate "
        "fix for the lead to close or keep (null once seen again)")
    model_version: str | None = Field(
        default=None, description="The registry's model version whose box started the item "
        "('default': the configured model; null: drawn by a reviewer or from before the "
        "registry)")


class SightingOut(BaseModel):
    """One flight's sighting of a tracked defect."""

    flight_id: int
    seen_on: dt.date
    class_key: str
    severity: str | None
    confidence: float
    lat: float | None
    lon: float | None
    placement: str | None
    uncertainty_m: float | None
    distance_to_line_m: float | None
    evidence: list[Evidence]


class DefectDetail(DefectOut):
    evidence: list[Evidence]
    flight_date: dt.date
    sightings_list: list[SightingOut] = Field(
        description="Every flight's sighting, oldest first")


class DefectPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "confirmed", "assignee": "王工", "note": "seen on site"},
        {"status": "rejected", "note": "a shadow, not a missing cap"},
        {"xyxy": [812, 440, 905, 530], "class": "insulator_broken", "note": "box fitted"}]})
    status: DefectStatus | None = None
    class_key: str | None = Field(default=None, alias="class", max_length=100,
                                  pattern=TEXT_PATTERN)
    severity: SeverityName | None = None
    assignee: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN)
    note: str | None = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN)
    xyxy: PixelBox | None = Field(
        default=None, description="The corrected box on the item's best photo (its first "
        "evidence), in that photo's pixels; a training label from then on")


class AnnotationCreate(BaseModel):
    """A missed object drawn on a photo: it becomes a confirmed item."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"class": "bird_nest", "xyxy": [1210, 388, 1402, 530], "note": "behind the arm"}]})
    class_key: str = Field(alias="class", min_length=1, max_length=100, pattern=TEXT_PATTERN,
                           description="Taxonomy key of a defect or hazard class")
    xyxy: PixelBox
    note: str | None = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN)


class DefectEventOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    changes: dict[str, Any]
    note: str | None


class UserTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["uploader", "reviewer", "admin"]
    name: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)

    @property
    def camera(self) -> str | None:
        return None


class DeviceTokenCreate(BaseModel):
    """A corridor camera's token: it pushes photos to this one camera (404 when unknown)."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["device"]
    name: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    camera: str = Field(max_length=64, pattern=TEXT_PATTERN)


TokenCreate = Annotated[UserTokenCreate | DeviceTokenCreate, Field(discriminator="role")]


class TokenOut(BaseModel):
    id: int
    name: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    camera_id: str | None = None


class Me(BaseModel):
    id: int
    name: str
    role: Literal["uploader", "reviewer", "admin", "device"]
    permissions: list[str]


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only this once")


class LedgerOut(BaseModel):
    line: str
    format: str
    towers: int
    updated_at: dt.datetime
    updated_by: str


class CoverageGap(BaseModel):
    """A tower or span of the ledger: ``id`` is the tower's number or the span's "12-13"."""

    kind: Literal["tower", "span"]
    id: str
    line: str


class CoverageItemOut(CoverageGap):
    covered: bool = Field(description="Shown in frame closely enough: a missing cap there "
                          "spans at least min_object_px pixels (for a span: enough of its "
                          "conductor)")
    photos: int = Field(description="Photos that showed it that closely")
    best_gsd_cm: float | None = Field(description="Finest ground sample distance (cm per "
                                      "pixel at the object) of any photo framing it, close "
                                      "enough or not; null when no photo framed it")


class FlightCoverageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "flight_id": 7, "line": "500kV 江城线", "min_object_px": 60.0, "ratio": 0.75,
        "photos": 120,
        "towers": [{"kind": "tower", "id": "N1", "line": "500kV 江城线", "covered": True,
                    "photos": 3, "best_gsd_cm": 0.3}],
        "spans": [{"kind": "span", "id": "N1-N2", "line": "500kV 江城线", "covered": False,
                   "photos": 1, "best_gsd_cm": 1.2}],
        "gaps": [{"kind": "span", "id": "N1-N2", "line": "500kV 江城线"}]}]})
    flight_id: int
    line: str
    min_object_px: float
    photos: int = Field(description="Photos with a camera pose that were counted")
    ratio: float = Field(description="Covered towers and spans over all of the ledger's")
    towers: list[CoverageItemOut]
    spans: list[CoverageItemOut]
    gaps: list[CoverageGap] = Field(description="Towers and spans not covered")


class LineCoverageItemOut(CoverageItemOut):
    flights: int = Field(description="Flights of the period that covered it")
    last_covered: dt.date | None = Field(description="Date of the last flight that covered "
                                         "it, within the period; null: none did")
    stale: bool = Field(description="Not covered for longer than stale_after_days")


class LineCoverageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "line": "500kV 江城线", "since": "2026-09-01", "as_of": "2026-12-02",
        "min_object_px": 60.0, "stale_after_days": 90, "flights": 2, "ratio": 0.5,
        "towers": [{"kind": "tower", "id": "N1", "line": "500kV 江城线", "covered": True,
                    "photos": 5, "best_gsd_cm": 0.3, "flights": 2,
                    "last_covered": "2026-11-20", "stale": False}],
        "spans": [{"kind": "span", "id": "N1-N2", "line": "500kV 江城线", "covered": False,
                   "photos": 0, "best_gsd_cm": None, "flights": 0, "last_covered": None,
                   "stale": True}],
        "gaps": [{"kind": "span", "id": "N1-N2", "line": "500kV 江城线"}],
        "stale": [{"kind": "span", "id": "N1-N2", "line": "500kV 江城线"}]}]})
    line: str
    since: dt.date | None = Field(description="Flights dated on or after this day were "
                                  "combined; null: all of the line's")
    as_of: dt.date = Field(description="The day staleness is counted to (today, UTC)")
    min_object_px: float
    stale_after_days: int
    flights: int = Field(description="Processed flights of the line in the period")
    ratio: float = Field(description="Towers and spans covered by any flight of the period "
                         "over all of the ledger's")
    towers: list[LineCoverageItemOut]
    spans: list[LineCoverageItemOut]
    gaps: list[CoverageGap] = Field(description="Not covered by any flight of the period")
    stale: list[CoverageGap] = Field(description="Not covered for longer than "
                                     "stale_after_days")


class Health(BaseModel):
    ok: bool
    database: dict[str, Any]
    queue: dict[str, Any]
    model: dict[str, Any]
    geo: dict[str, Any]
    version: str


class DistancePoint(BaseModel):
    flight_id: int
    seen_on: dt.date
    distance_to_line_m: float | None


class HazardTrend(BaseModel):
    """An open hazard on a line and its distance to the conductors per sighting."""

    id: int
    class_key: str
    severity: str | None
    status: DefectStatus
    distances: list[DistancePoint]
    closer_by_m: float | None = Field(
        description="How much closer the latest sighting is than the first (negative: farther)")


class WarningStats(BaseModel):
    """The execution rate of hazard warnings: closed within their deadline over issued."""

    line: str | None
    since: dt.datetime | None
    until: dt.datetime | None
    issued: int = Field(description="Warnings first issued in the period")
    closed_in_time: int = Field(description="Of those, closed by their close deadline")
    open: int = Field(description="Of those, not yet resolved or closed")
    overdue: int = Field(description="Of those, past the deadline of their current step")
    rate: float | None = Field(description="closed_in_time / issued; null: no warnings")


class LineSummary(BaseModel):
    """The line dashboard's figures ("centralised monitoring"): what is open, what is late,
    which machines are near the line, and the latest patrols."""

    line: str
    open_by_grade: dict[str, int] = Field(
        description="Open defects (new, confirmed, assigned) per grade; 'ungraded' for none")
    overdue: int
    candidate_fixes: int = Field(
        description="Confirmed defects a later flight covered without seeing them")
    hazards: list[HazardTrend]
    latest_flights: list[FlightOut]
    coverage_latest: float | None = Field(
        description="Share of the ledger's towers and spans the latest processed flight "
        "covered; null without a ledger or a flight")
    coverage_period: float | None = Field(
        description="Share covered by the flights of the last coverage_stale_after_days "
        "days; null without a ledger")
    stale: int | None = Field(
        description="Towers and spans not covered in that period; null without a ledger")
    warnings: WarningStats = Field(description="The line's hazard warnings, all time")


# --- the model registry ---------------------------------------------------------------------


class ModelTally(BaseModel):
    """A model's boxes against the reviewers' verdicts on the photos it ran on."""

    photos: int
    positives: int = Field(description="Objects the reviewers kept (confirmed, corrected, drawn)")
    found: int = Field(description="... of which the model has a box of the same class on")
    recall: float | None = Field(description="found / positives (null: nothing kept yet)")
    rejected: int = Field(description="False detections the reviewers rejected")
    repeated: int = Field(description="... of which the model detects again")


class UnreviewedOut(BaseModel):
    """Boxes of a class nobody reviews (a component), each model's, on the same photos."""

    class_key: str
    active: int
    version: int


class ModelComparison(BaseModel):
    """The version's shadow boxes and the active model's, on the same photos."""

    version: ModelTally
    active: ModelTally
    unreviewed: list[UnreviewedOut] = Field(
        default_factory=list, description="Components (never reviewed): boxes per class of "
        "each model; a candidate that forgot a class shows here")


class ModelEventOut(BaseModel):
    at: dt.datetime
    actor: str
    from_state: str | None
    to_state: str
    note: str | None


class ModelVersionOut(BaseModel):
    id: int
    name: str
    state: ModelState
    spec: str = Field(description="Stored files (by hash) and bundled names, '+' joined")
    sha256: str
    classes: list[str]
    registered_at: dt.datetime
    registered_by: str
    promoted_at: dt.datetime | None


class ModelVersionDetail(ModelVersionOut):
    card: str
    events: list[ModelEventOut]
    comparison: ModelComparison


class ModelMove(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"state": "shadow", "note": "fine-tuned on November's reviews"},
        {"state": "active", "note": "fewer false nests, same recall"}]})
    state: ModelState
    note: str | None = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN)


class DeploymentOut(BaseModel):
    """What runs now: the active version ('default': the configured model) and the shadow."""

    active: str
    active_id: int | None
    shadow: str | None
    shadow_id: int | None


class WarningOut(BaseModel):
    """A hazard warning (预警) and where it stands."""

    id: int
    defect_id: int
    line: str
    tower: str | None
    span: str | None
    class_key: str
    voltage_kv: float
    warning_distance_m: float = Field(description="Within this distance it is warned about")
    distance_m: float = Field(description="Distance to the conductor at the last (re)issue")
    lat: float | None
    lon: float | None
    status: WarningStatus
    issued_at: dt.datetime
    last_issued_at: dt.datetime
    acknowledged_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    due_at: dt.datetime | None = Field(description="Deadline of the step it waits for")
    close_by: dt.datetime
    overdue: bool
    reopened: int


class WarningEventOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    event: WarningEventKind
    from_status: WarningStatus | None
    to_status: WarningStatus
    distance_m: float | None
    note: str | None


class WarningDetail(WarningOut):
    events: list[WarningEventOut]
    evidence: list[Evidence] = Field(description="The hazard item's photos")


class WarningPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "acknowledged", "note": "called the site"}]})
    status: WarningStatus
    note: str | None = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN)


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    warning_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    response_code: int | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


# --- corridor cameras ------------------------------------------------------------------------

CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


class CameraCreate(BaseModel):
    """A corridor camera as installed: its pose (see :mod:`linepatrol.geo.fixed` for the
    conventions) and optics, ``hfov_deg`` or ``focal_px`` (a measured focal length wins when
    both are given)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "anyOf": [{"required": ["hfov_deg"], "properties": {"hfov_deg": {"type": "number"}}},
                  {"required": ["focal_px"], "properties": {"focal_px": {"type": "number"}}}],
        "examples": [{
        "id": "CAM-1", "name": "N2 east", "line": "500kV 江城线", "tower": "N2",
        "lat": 30.52, "lon": 114.31, "alt": 80.0, "heading": 45.0, "pitch": -10.0,
        "roll": 0.0, "hfov_deg": 60.0, "width": 2560, "height": 1440}]})
    id: str = Field(pattern=CAMERA_ID_PATTERN, description="e.g. CAM-1; letters, digits, . _ : -")
    name: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    line: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    tower: str | None = Field(default=None, max_length=100, pattern=TEXT_PATTERN)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt: float = Field(gt=0, le=1000, description="Metres above the ground around the camera")
    heading: float = Field(ge=-360, le=360, description="Degrees clockwise from true north")
    pitch: float = Field(ge=-90, le=90, description="Degrees; 0 horizon, -90 straight down")
    roll: float = Field(default=0.0, ge=-180, le=180)
    hfov_deg: float | None = Field(default=None, gt=0, lt=180)
    focal_px: float | None = Field(default=None, gt=0, le=1e6)
    width: int = Field(ge=16, le=20000)
    height: int = Field(ge=16, le=20000)
    max_range_m: float | None = Field(
        default=None, gt=0, le=100000,
        description="The hazard zone: machines placed farther than this from the camera are "
        "not its hazards (default: all it sees)")

    @model_validator(mode="after")
    def _optics(self) -> CameraCreate:
        if self.hfov_deg is None and self.focal_px is None:
            raise ValueError("give hfov_deg or focal_px")
        return self


class CameraOut(BaseModel):
    id: str
    name: str
    line: str
    tower: str | None
    lat: float
    lon: float
    alt: float
    heading: float
    pitch: float
    roll: float
    hfov_deg: float | None
    focal_px: float | None
    width: int
    height: int
    max_range_m: float | None
    created_at: dt.datetime
    created_by: str
    edge: FlightEdgeOut | None = Field(
        default=None, description="Front end + back end on the camera's photos: agreement "
        "and the edge devices' counts (null when no edge was involved)")


class CameraPushed(BaseModel):
    image_id: int
    camera_id: str
    status: PhotoStatus
    duplicate: bool = Field(description="The camera pushed this photo before: same image_id")
