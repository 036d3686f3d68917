"""The service's tables (SQLAlchemy 2 declarative); Alembic migrations mirror them.

Statuses are stored as their strings; their values and moves are :mod:`linepatrol_service.domain`'s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from linepatrol.detections import DetectionRecord
from linepatrol_service.domain import (
    DefectStatus,
    DeliveryStatus,
    FlightStatus,
    ModelState,
    PhotoStatus,
    WarningStatus,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # a device token's camera: the one camera it may push photos to (None for other roles)
    camera_id: Mapped[str | None] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), index=True)


class Camera(Base):
    """A fixed corridor camera: where it is and where it looks (its photos' pose,
    :func:`linepatrol.geo.fixed.fixed_camera_pose`), and the hazard zone it watches."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. CAM-1
    name: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(String(200), index=True)
    tower: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    alt: Mapped[float] = mapped_column(Float)  # metres above the ground around it
    heading: Mapped[float] = mapped_column(Float)
    pitch: Mapped[float] = mapped_column(Float)
    roll: Mapped[float] = mapped_column(Float)
    hfov_deg: Mapped[float | None] = mapped_column(Float)
    focal_px: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # the hazard zone: machines placed farther than this from the camera are not its hazards
    # (None: everything it sees)
    max_range_m: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class Flight(Base):
    __tablename__ = "flights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line: Mapped[str] = mapped_column(String(200), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    team: Mapped[str] = mapped_column(String(200), default="")
    drone: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=FlightStatus.DRAFT, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Image(Base):
    """One photo of one flight, or of one corridor camera (``flight_id`` or ``camera_id``, never
    both); the bytes live in the content-addressed store under ``sha256``."""

    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("flight_id", "sha256", name="uq_images_flight_sha256"),
        UniqueConstraint("camera_id", "sha256", name="uq_images_camera_sha256"),
        Index("ix_images_flight_status", "flight_id", "status"),
        Index("ix_images_camera_status", "camera_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flight_id: Mapped[int | None] = mapped_column(ForeignKey("flights.id", ondelete="CASCADE"))
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    captured_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # cameras
    # a camera photo's hazard step (k of n, warnings) ran: a worker that dies between the
    # photo's commit and this step leaves it NULL, and the next camera run takes it up
    hazards_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(10))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    pose: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pose_error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=PhotoStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    detections: Mapped[list[DetectionRecord] | None] = mapped_column(JSON)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    processed_count: Mapped[int] = mapped_column(Integer, default=0)
    processed_by: Mapped[str | None] = mapped_column(String(200))
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the registry's version that made ``detections`` (None: the configured default), and a
    # shadow candidate's boxes on the same photo (recorded for the comparison, never queued)
    model_version: Mapped[str | None] = mapped_column(String(200))
    shadow_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), index=True)
    shadow_detections: Mapped[list[DetectionRecord] | None] = mapped_column(JSON)
    # the front end's boxes, when a device running ``linepatrol edge`` sent the photo, and its
    # model; the agreement with ``detections`` is computed on read (linepatrol.edge.agreement)
    edge_detections: Mapped[list[DetectionRecord] | None] = mapped_column(JSON)
    edge_model: Mapped[str | None] = mapped_column(String(200))


class EdgeCounts:
    """An edge device's report (its spool's cumulative counts): the columns a flight's and a
    camera's summaries share."""

    device: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    seen: Mapped[int] = mapped_column(Integer)
    uploaded: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EdgeSummary(EdgeCounts, Base):
    """What one edge device saw of a flight, as its spool counts it: the photos it sent are
    rows of ``images``; these counts add the ones it judged empty and kept, so the flight's
    coverage is told honestly. One row per (flight, device), replaced by each report (the
    counts are cumulative)."""

    __tablename__ = "edge_summaries"
    __table_args__ = (
        UniqueConstraint("flight_id", "device", name="uq_edge_summaries_flight_device"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flight_id: Mapped[int] = mapped_column(ForeignKey("flights.id", ondelete="CASCADE"))


class CameraEdgeSummary(EdgeCounts, Base):
    """What one edge device saw of a corridor camera's photos, as its spool counts it (the
    cameras' counterpart of :class:`EdgeSummary`): the photos it sent are rows of ``images``;
    these counts add the ones it judged empty and kept. One row per (camera, device),
    replaced by each report (the counts are cumulative)."""

    __tablename__ = "camera_edge_summaries"
    __table_args__ = (
        UniqueConstraint("camera_id", "device", name="uq_camera_edge_summaries_camera_device"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))


class UploadRefusal(Base):
    """A file refused at upload, and why: the flight page keeps the verdicts the upload page
    showed only for a moment (a refused file never becomes an Image)."""

    __tablename__ = "upload_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flight_id: Mapped[int] = mapped_column(
        ForeignKey("flights.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Defect(Base):
    """One real-world object: first found by a flight (``flight_id``) or, for a hazard, by a
    corridor camera (``camera_id``; :mod:`linepatrol_service.camera_hazards`)."""

    __tablename__ = "defects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flight_id: Mapped[int | None] = mapped_column(
        ForeignKey("flights.id", ondelete="CASCADE"), index=True
    )
    camera_id: Mapped[str | None] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), index=True
    )
    # a camera's hazard: the capture time of the last photo that showed it (its end is
    # decided on it, linepatrol.corridor.ended)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    class_key: Mapped[str] = mapped_column(String(100), index=True)
    detected_class: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(30), index=True)
    severity: Mapped[str | None] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DefectStatus.NEW, index=True)
    assignee: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    alt: Mapped[float | None] = mapped_column(Float)
    alt_datum: Mapped[str | None] = mapped_column(String(20))
    placement: Mapped[str | None] = mapped_column(String(20))  # tower, span, ground, none
    uncertainty_m: Mapped[float | None] = mapped_column(Float)
    geo_reason: Mapped[str | None] = mapped_column(Text)
    line: Mapped[str | None] = mapped_column(String(200), index=True)
    tower: Mapped[str | None] = mapped_column(String(100), index=True)
    span: Mapped[str | None] = mapped_column(String(200))
    distance_to_line_m: Mapped[float | None] = mapped_column(Float)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    xyxy: Mapped[list[float] | None] = mapped_column(JSON)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the line over time: one row per real-world object, however many flights saw it
    # (linepatrol.tracking decides; linepatrol_service.tracking keeps the rows)
    first_seen: Mapped[dt.date | None] = mapped_column(Date)  # flight dates
    last_seen: Mapped[dt.date | None] = mapped_column(Date, index=True)
    sightings: Mapped[int] = mapped_column(Integer, default=1)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # a later flight covered its tower or span and did not see it: a candidate fix for the
    # lead (cleared when a flight sees it again; never closed by the machine)
    not_seen_flight_id: Mapped[int | None] = mapped_column(Integer)
    # the model version whose box started this item (its first photo's ``model_version``)
    model_version: Mapped[str | None] = mapped_column(String(200))


class Sighting(Base):
    """One flight's sighting of a tracked defect: what that flight's photos showed of it."""

    __tablename__ = "sightings"
    __table_args__ = (
        UniqueConstraint("defect_id", "flight_id", name="uq_sightings_defect_flight"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    defect_id: Mapped[int] = mapped_column(
        ForeignKey("defects.id", ondelete="CASCADE"), index=True
    )
    flight_id: Mapped[int] = mapped_column(
        ForeignKey("flights.id", ondelete="CASCADE"), index=True
    )
    seen_on: Mapped[dt.date] = mapped_column(Date)  # the flight's date
    class_key: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    placement: Mapped[str | None] = mapped_column(String(20))
    uncertainty_m: Mapped[float | None] = mapped_column(Float)
    distance_to_line_m: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DefectEvent(Base):
    """One change to a defect: who, when, which fields from what to what, and a note."""

    __tablename__ = "defect_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    defect_id: Mapped[int] = mapped_column(
        ForeignKey("defects.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)


class Ledger(Base):
    """A line's tower ledger as uploaded (CSV or GeoJSON); parsed by linepatrol.geo when used."""

    __tablename__ = "ledgers"

    line: Mapped[str] = mapped_column(String(200), primary_key=True)
    format: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    towers: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))


class ModelVersion(Base):
    """A model registered with the service: its files (stored under the data directory, or
    bundled names), its card, and its place in the registry (:class:`ModelState`)."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # what the detector opens: stored files and bundled names joined by "+" (run together)
    spec: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))  # of the first file
    classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    card: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default=ModelState.REGISTERED, index=True)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    registered_by: Mapped[str] = mapped_column(String(200))
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ModelEvent(Base):
    """One move of a model version (registered, shadowed, promoted, retired): the audit."""

    __tablename__ = "model_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
class HazardWarning(Base):
    """A hazard warning (预警): a hazard item (a defect of the hazard category) within its
    warning distance of the line. One row per hazard item, ever (the unique ``defect_id``):
    a hazard that comes closer again reopens its warning rather than adding one, so two
    workers raising at once cannot make two."""

    __tablename__ = "warnings"
    __table_args__ = (UniqueConstraint("defect_id", name="uq_warnings_defect"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    defect_id: Mapped[int] = mapped_column(ForeignKey("defects.id", ondelete="CASCADE"))
    line: Mapped[str] = mapped_column(String(200), index=True)
    tower: Mapped[str | None] = mapped_column(String(100))
    span: Mapped[str | None] = mapped_column(String(200))
    class_key: Mapped[str] = mapped_column(String(100))
    voltage_kv: Mapped[float] = mapped_column(Float)
    warning_distance_m: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)  # to the conductor, at the last (re)issue
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default=WarningStatus.ISSUED, index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    close_by: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WarningEvent(Base):
    """One step of a warning: issued, each move, reopened — who, when, from what to what."""

    __tablename__ = "warning_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(
        ForeignKey("warnings.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(20))  # issued, moved, reopened
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    distance_m: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One warning event on its way to the deployment's webhook: the exact body signed and
    sent, and how its attempts went (kept so that a restart loses nothing)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("warning_events.id", ondelete="CASCADE"), index=True
    )
    warning_id: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    response_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
