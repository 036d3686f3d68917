"""Corridor cameras: the registry (admins write, readers read) and the photos cameras push."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from linepatrol_service.auth import Principal
from linepatrol_service.cameras import (
    CameraExists,
    PushRefused,
    add_camera,
    camera_out,
    push_photo,
    remove_camera,
)
from linepatrol_service.deps import Admin, FlightReader, ServicesDep, SessionDep, require
from linepatrol_service.edge import (
    EDGE_FIELD,
    cameras_edge,
    parse_edge_field,
    record_camera_edge_summary,
)
from linepatrol_service.logs import REQUEST_ID
from linepatrol_service.models import Camera
from linepatrol_service.roles import Permission
from linepatrol_service.schemas import (
    CAMERA_ID_PATTERN,
    CameraCreate,
    CameraOut,
    CameraPushed,
    EdgeSummaryIn,
    FlightEdgeOut,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/cameras", tags=["cameras"])
CameraId = Annotated[str, Path(pattern=CAMERA_ID_PATTERN)]
Pusher = Annotated[Principal, Depends(require(Permission.CAMERA_PUSH))]

_PUSH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "One JPEG"},
                "captured_at": {"type": "string", "format": "date-time",
                                "description": "When the camera took it (ISO 8601; without "
                                "a zone: UTC)"},
                EDGE_FIELD: {"type": "string", "description": "The front end's own boxes "
                             "(linepatrol edge): JSON {\"model\": ..., \"detections\": "
                             "[{\"class\", \"confidence\", \"xyxy\"}]}; optional"},
            },
            "required": ["file", "captured_at"],
        }}},
    }
}


@router.post("", status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "A camera with this id is registered"}})
def create_camera(body: CameraCreate, session: SessionDep, who: Admin) -> CameraOut:
    try:
        row = add_camera(session, body, who.name)
    except CameraExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return camera_out(row)


@router.get("")
def list_cameras(session: SessionDep, who: FlightReader) -> list[CameraOut]:
    rows = list(session.scalars(select(Camera).order_by(Camera.id)))
    edge = cameras_edge(session, [c.id for c in rows])
    return [camera_out(c, edge.get(c.id)) for c in rows]


@router.get("/{camera_id}")
def get_camera(camera_id: CameraId, session: SessionDep, who: FlightReader) -> CameraOut:
    row = session.get(Camera, camera_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}")
    return camera_out(row, cameras_edge(session, [row.id]).get(row.id))


@router.delete("/{camera_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_camera(camera_id: CameraId, session: SessionDep, who: Admin) -> None:
    """Remove the camera with its photos, its hazard items and its device tokens."""
    if not remove_camera(session, camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}")
    session.commit()


@router.post("/{camera_id}/edge-summary",
             responses={404: {"description": "No such camera"}})
def camera_edge_summary(camera_id: CameraId, body: EdgeSummaryIn, session: SessionDep,
                 who: Pusher) -> FlightEdgeOut:
    """What an edge device (``linepatrol edge --camera``) saw of the camera, counted by its
    spool: photos seen, sent, and judged empty and kept on the device (a device token for its
    own camera, or an admin). Each report replaces the device's previous one (the counts are
    cumulative). Answers the camera's edge block."""
    if not who.may_push_to(camera_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this token pushes to camera {who.camera_id}, not {camera_id}")
    if session.get(Camera, camera_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}")
    record_camera_edge_summary(session, camera_id, body)
    session.commit()
    return cameras_edge(session, [camera_id])[camera_id]


def parse_captured_at(value: object) -> dt.datetime:
    """ISO 8601; a time without a zone is UTC."""
    if not isinstance(value, str) or not value.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "captured_at is required: when the camera took the photo, ISO 8601")
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"captured_at {value[:60]!r} is not an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


@router.post("/{camera_id}/images", status_code=status.HTTP_202_ACCEPTED,
             openapi_extra=_PUSH_BODY,
             responses={413: {"description": "Photo larger than the limit"}})
async def push_image(camera_id: CameraId, request: Request, services: ServicesDep,
                     who: Pusher) -> CameraPushed:
    """One photo of the camera (a device token pushes to its own camera only; admins to any):
    queued for detection ahead of flights (202). The same photo again is the same image."""
    if not who.may_push_to(camera_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this token pushes to camera {who.camera_id}, not {camera_id}")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            "send the photo as multipart/form-data (fields file, captured_at)")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except MultiPartException as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad multipart body: {exc}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                "no photo: send one JPEG in the 'file' field")
        captured_at = parse_captured_at(form.get("captured_at"))
        edge = parse_edge_field(form.get(EDGE_FIELD))  # a front end's own boxes, if it sent any
        try:
            pushed = await run_in_threadpool(push_photo, services, camera_id,
                                             upload.filename or "", upload.file, captured_at,
                                             edge)
        except PushRefused as exc:
            raise HTTPException(exc.status, str(exc)) from None
    finally:
        await form.close()
    if not pushed.duplicate and services.dispatcher is not None:
        try:
            services.dispatcher.dispatch_camera(request_id=REQUEST_ID.get())
        except Exception as exc:  # broker down: the photo stays pending for the next worker
            log.warning("camera %s: photo %s queued, but the task queue is unreachable: %s",
                        camera_id, pushed.image_id, exc)
    return CameraPushed(image_id=pushed.image_id, camera_id=camera_id, status=pushed.status,
                        duplicate=pushed.duplicate)
