"""The server's side of front end + back end recognition: the edge's boxes stored with a photo,
the edge devices' counts per flight and per corridor camera, and the agreement shown with a
flight, a camera and their photos.

Reusable by every upload route: :func:`parse_edge_field` reads the ``edge_detections`` form
field (a 422 for a bad one) and :func:`store_edge_detections` puts it on an :class:`Image` row
before it is committed — the flight upload calls both, and so can the camera upload.

The agreement is computed on read from the two stored box lists (a few boxes per photo, and
only photos an edge sent): nothing to keep in step when a photo is processed again or a model
is promoted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import HTTPException, status
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from linepatrol.detections import DetectionRecord
from linepatrol.edge.agreement import Agreement, compare
from linepatrol_service.domain import PhotoStatus
from linepatrol_service.models import (
    CameraEdgeSummary,
    EdgeCounts,
    EdgeSummary,
    Image,
    utcnow,
)
from linepatrol_service.schemas import (
    AgreementOut,
    DetectionOut,
    EdgeDetectionsIn,
    EdgeSummaryIn,
    FlightEdgeOut,
    ImageEdgeOut,
)

EDGE_FIELD = "edge_detections"  # the form field's name, as linepatrol.edge.client sends it
MAX_FIELD_CHARS = 200_000


def parse_edge_field(value: str | UploadFile | None) -> EdgeDetectionsIn | None:
    """The ``edge_detections`` form field of an upload, checked; None when absent or empty."""
    if value is None:
        return None
    if isinstance(value, UploadFile):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{EDGE_FIELD} is a text field (JSON), not a file")
    if not value.strip():
        return None
    if len(value) > MAX_FIELD_CHARS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{EDGE_FIELD} longer than {MAX_FIELD_CHARS} characters")
    try:
        return EdgeDetectionsIn.model_validate_json(value)
    except ValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"bad {EDGE_FIELD}: {exc.errors(include_url=False)}") from None


def edge_records(edge: EdgeDetectionsIn) -> list[DetectionRecord]:
    return [{"class": b.class_key, "confidence": b.confidence, "xyxy": list(b.xyxy)}
            for b in edge.detections]


def store_edge_detections(image: Image, edge: EdgeDetectionsIn | None) -> None:
    """Put the edge's boxes and model on a photo row (nothing for None). Call it on a new row:
    a duplicate keeps what it was first sent with, so a re-send changes nothing."""
    if edge is None:
        return
    image.edge_detections = edge_records(edge)
    image.edge_model = edge.model


def image_agreement(im: Image) -> Agreement | None:
    """The agreement on one photo; None when no edge sent it or the back end has not
    processed it."""
    if im.edge_model is None or im.status != PhotoStatus.DONE or im.detections is None:
        return None
    return compare(im.edge_detections or [], im.detections)


def image_edge_out(im: Image) -> ImageEdgeOut | None:
    if im.edge_model is None:
        return None
    agreement = image_agreement(im)
    return ImageEdgeOut(
        model=im.edge_model,
        detections=[DetectionOut.model_validate(r) for r in im.edge_detections or []],
        agreement=None if agreement is None else AgreementOut(
            agreed=agreement.agreed, matched=agreement.matched, edge_only=agreement.edge_only,
            back_only=agreement.back_only))


def record_edge_summary(session: Session, flight_id: int, body: EdgeSummaryIn) -> None:
    """Replace the device's counts for the flight (the caller commits)."""
    row = session.scalar(select(EdgeSummary).where(EdgeSummary.flight_id == flight_id,
                                                   EdgeSummary.device == body.device))
    if row is None:
        row = EdgeSummary(flight_id=flight_id, device=body.device)
        session.add(row)
    row.model, row.seen, row.uploaded, row.skipped = body.model, body.seen, body.uploaded, \
        body.skipped
    row.reported_at = utcnow()


def record_camera_edge_summary(session: Session, camera_id: str, body: EdgeSummaryIn) -> None:
    """Replace the device's counts for the camera (the caller commits)."""
    row = session.scalar(select(CameraEdgeSummary).where(
        CameraEdgeSummary.camera_id == camera_id, CameraEdgeSummary.device == body.device))
    if row is None:
        row = CameraEdgeSummary(camera_id=camera_id, device=body.device)
        session.add(row)
    row.model, row.seen, row.uploaded, row.skipped = body.model, body.seen, body.uploaded, \
        body.skipped
    row.reported_at = utcnow()


def _edge_block(photos: Sequence[Any], reports: Sequence[EdgeCounts]
                ) -> FlightEdgeOut:
    """The edge block of one flight or camera: its edge photos (rows with ``status``,
    ``detections``, ``edge_detections``, ``edge_model``) and its devices' reports."""
    done = [compare(p.edge_detections or [], p.detections) for p in photos
            if p.status == PhotoStatus.DONE and p.detections is not None]
    agreed = sum(a.agreed for a in done)
    return FlightEdgeOut(
        photos=len(photos), processed=len(done), agreed=agreed,
        agreement_rate=round(agreed / len(done), 4) if done else None,
        matched=sum(a.matched for a in done), edge_only=sum(a.edge_only for a in done),
        back_only=sum(a.back_only for a in done),
        seen_on_edge=sum(r.seen for r in reports),
        skipped_on_edge=sum(r.skipped for r in reports),
        devices=[r.device for r in reports],
        models=sorted({p.edge_model for p in photos if p.edge_model}
                      | {r.model for r in reports}))


K = TypeVar("K", int, str)


def _blocks(photos: Sequence[Any], reports: Sequence[EdgeCounts],
            photo_key: Callable[[Any], K], report_key: Callable[[Any], K]
            ) -> dict[K, FlightEdgeOut]:
    """The edge block per flight or camera, the photos and reports grouped in one pass."""
    mine: dict[K, list[Any]] = defaultdict(list)
    told: dict[K, list[EdgeCounts]] = defaultdict(list)
    for p in photos:
        mine[photo_key(p)].append(p)
    for r in reports:
        told[report_key(r)].append(r)
    return {key: _edge_block(mine[key], told[key]) for key in mine.keys() | told.keys()}


def flights_edge(session: Session, flight_ids: Sequence[int]) -> dict[int, FlightEdgeOut]:
    """The edge block of each flight that has edge photos or an edge report (absent: none)."""
    if not flight_ids:
        return {}
    photos = session.execute(
        select(Image.flight_id, Image.status, Image.detections, Image.edge_detections,
               Image.edge_model)
        .where(Image.flight_id.in_(flight_ids), Image.edge_model.is_not(None))).all()
    reports = session.scalars(select(EdgeSummary).where(EdgeSummary.flight_id.in_(flight_ids))
                              .order_by(EdgeSummary.device)).all()
    return _blocks(photos, reports, lambda p: p.flight_id, lambda r: r.flight_id)


def cameras_edge(session: Session, camera_ids: Sequence[str]) -> dict[str, FlightEdgeOut]:
    """The edge block of each camera that has edge photos or an edge report (absent: none):
    the flight's numbers, by the same rule, over the camera's photos."""
    if not camera_ids:
        return {}
    photos = session.execute(
        select(Image.camera_id, Image.status, Image.detections, Image.edge_detections,
               Image.edge_model)
        .where(Image.camera_id.in_(camera_ids), Image.edge_model.is_not(None))).all()
    reports = session.scalars(
        select(CameraEdgeSummary).where(CameraEdgeSummary.camera_id.in_(camera_ids))
        .order_by(CameraEdgeSummary.device)).all()
    return _blocks(photos, reports, lambda p: p.camera_id, lambda r: r.camera_id)
