"""The corridor camera registry and the photos cameras push.

A camera's photos carry no usable EXIF pose (a camera on a tower writes no gimbal angles); their
pose is the registry's (:func:`linepatrol.geo.fixed.fixed_camera_pose`), stored on the photo's
row at push time exactly where a flight photo's EXIF pose is stored at upload, so detection and
geotagging run the same code for both. A camera photo is an :class:`Image` without a flight:
``camera_id`` and ``captured_at`` instead. The same content pushed again for the same camera is
the same photo (the same row, processed once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linepatrol.geo.fixed import FixedCamera, fixed_camera_pose
from linepatrol.geo.pose import CameraPose
from linepatrol.images import ImageError
from linepatrol_service.domain import PhotoStatus
from linepatrol_service.edge import store_edge_detections
from linepatrol_service.intake import check_photo
from linepatrol_service.models import Camera, CameraEdgeSummary, Defect, Image, Token
from linepatrol_service.schemas import CameraCreate, CameraOut, EdgeDetectionsIn, FlightEdgeOut
from linepatrol_service.services import Services
from linepatrol_service.storage import TooLarge
from linepatrol_service.validation import short


class CameraExists(ValueError):
    """A camera id that is registered already (the API answers 409)."""


class PushRefused(ValueError):
    """A pushed file that is not a usable photo; ``status`` is the HTTP answer (413, 422)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Pushed:
    image_id: int
    status: PhotoStatus
    duplicate: bool


def add_camera(session: Session, body: CameraCreate, by: str) -> Camera:
    if session.get(Camera, body.id) is not None:
        raise CameraExists(f"camera {body.id} is registered already")
    row = Camera(**body.model_dump(), created_by=by)
    session.add(row)
    session.flush()
    return row


def remove_camera(session: Session, camera_id: str) -> bool:
    """Remove a camera with its photos, its hazard items and its device tokens (explicitly,
    not left to ON DELETE: the items' photos are referenced by the items)."""
    if session.get(Camera, camera_id) is None:
        return False
    session.execute(delete(Defect).where(Defect.camera_id == camera_id))
    session.execute(delete(Image).where(Image.camera_id == camera_id))
    session.execute(delete(Token).where(Token.camera_id == camera_id))
    session.execute(delete(CameraEdgeSummary).where(CameraEdgeSummary.camera_id == camera_id))
    session.execute(delete(Camera).where(Camera.id == camera_id))
    return True


def camera_out(c: Camera, edge: FlightEdgeOut | None = None) -> CameraOut:
    return CameraOut(id=c.id, name=c.name, line=c.line, tower=c.tower, lat=c.lat, lon=c.lon,
                     alt=c.alt, heading=c.heading, pitch=c.pitch, roll=c.roll,
                     hfov_deg=c.hfov_deg, focal_px=c.focal_px, width=c.width, height=c.height,
                     max_range_m=c.max_range_m, created_at=_aware(c.created_at),
                     created_by=c.created_by, edge=edge)


def camera_pose(c: Camera, width: int | None = None, height: int | None = None) -> CameraPose:
    """The pose of the camera's photos (of ``width`` x ``height`` when not the registered
    size)."""
    return fixed_camera_pose(FixedCamera(
        lat=c.lat, lon=c.lon, alt=c.alt, heading=c.heading, pitch=c.pitch, roll=c.roll,
        width=c.width, height=c.height, hfov_deg=c.hfov_deg, focal_px=c.focal_px),
        width, height)


def push_photo(services: Services, camera_id: str, filename: str, stream: BinaryIO,
               captured_at: dt.datetime, edge: EdgeDetectionsIn | None = None) -> Pushed:
    """Check and store one JPEG the camera pushed, as the flight upload checks its photos
    (size limit, JPEG decoding, decompression-bomb guard); the same content again for the same
    camera is the photo already there (``duplicate``)."""
    store = services.store
    try:
        spooled = store.spool_file(stream, services.settings.max_file_bytes)
    except TooLarge as exc:
        raise PushRefused(413, f"file too large: {exc}") from None
    try:
        header = check_photo(str(spooled.path), spooled.head, spooled.size,
                             services.settings.max_pixels)
        if header.format != "JPEG":
            raise ImageError(f"a camera pushes JPEG photos, not {header.format}")
    except ImageError as exc:
        store.discard(spooled)
        raise PushRefused(422, exc.reason) from None
    for _ in range(2):  # a concurrent push of the same photo wins the unique key: read it back
        try:
            with services.sessions.begin() as s:
                camera = s.get(Camera, camera_id)
                if camera is None:
                    store.discard(spooled)
                    raise PushRefused(404, f"no camera {camera_id}")
                present = s.scalar(select(Image).where(Image.camera_id == camera_id,
                                                       Image.sha256 == spooled.sha256))
                if present is not None:
                    store.discard(spooled)
                    return Pushed(present.id, PhotoStatus(present.status), True)
                store.commit(spooled)  # before the row: a row never points at a missing file
                pose = camera_pose(camera, header.width, header.height)
                image = Image(camera_id=camera_id, flight_id=None,
                              filename=short(filename or "camera.jpg", 500), sha256=spooled.sha256,
                              size=spooled.size, format=header.format, width=header.width,
                              height=header.height, pose=pose.to_json(), captured_at=captured_at,
                              status=PhotoStatus.PENDING)
                store_edge_detections(image, edge)  # the front end's boxes, kept on a new row
                s.add(image)
                s.flush()
                return Pushed(image.id, PhotoStatus.PENDING, False)
        except IntegrityError:
            continue
    raise PushRefused(409, "the same photo is being pushed concurrently; push it again")


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
