"""A corridor camera's hazards in the database: its photos' machines become tracked items.

The rules are :mod:`linepatrol.corridor`'s (pure): a machine is the same one when its box sits
at the same spot of the camera's fixed view; it counts — becomes an item in the queue, a
:class:`Defect` row with ``camera_id`` and no flight — only once seen in ``camera_confirm_k``
of the camera's last ``camera_confirm_n`` photos, so one false detection raises nothing; it
ends (status ended, through the domain's transition table) when the camera has not seen it for
``camera_hazard_end_after_s`` of its photos' capture times.

Unconfirmed sightings are not stored as rows: the camera's photos keep their detections, and
the window is read back from them. A camera that stops sending photos ends nothing: silence
is not evidence that a machine left. Seeing an item again updates it in place (last box,
photo, position, ``last_seen_at``, ``sightings``) without an event per photo; raising,
regrading and ending it are events of its history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol.corridor import Box, Seen, confirmed, ended, match
from linepatrol.geo.geodesy import distance_m
from linepatrol.geo.locate import Defect as GeoDefect
from linepatrol.tracking import more_severe
from linepatrol_service.coverage import line_ledger
from linepatrol_service.domain import DefectStatus, PhotoStatus, Worker, check
from linepatrol_service.edge import cameras_edge
from linepatrol_service.geotag import defect_row, locate, stored_evidence, stored_photo
from linepatrol_service.models import Camera, Defect, DefectEvent, Image
from linepatrol_service.schemas import FlightEdgeOut
from linepatrol_service.services import Services
from linepatrol_service.tracking import lock_line

ACTOR = Worker.WORKER.value
COUNTED = (DefectStatus.NEW, DefectStatus.CONFIRMED, DefectStatus.ASSIGNED)
_HAZARD = taxonomy.Category.HAZARD.value


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _box(xyxy: Sequence[float]) -> Box:
    return (float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]))


def hazard_boxes(image: Image) -> list[Seen]:
    """The hazard-class boxes a processed photo's detector found."""
    out = []
    for r in image.detections or []:
        info = taxonomy.BY_KEY.get(r["class"])
        if info is not None and info.category is taxonomy.Category.HAZARD:
            out.append(Seen(r["class"], _box(r["xyxy"])))
    return out


def recent_boxes(session: Session, camera_id: str, until: dt.datetime, n: int,
                 within_s: float) -> list[list[Seen]]:
    """The hazard boxes of the camera's last ``n`` processed photos captured at or before
    ``until`` and less than ``within_s`` earlier (photos from before a gap that long would end
    an item: they do not confirm one), newest first."""
    since = until - dt.timedelta(seconds=within_s)
    rows = session.scalars(
        select(Image).where(Image.camera_id == camera_id, Image.status == PhotoStatus.DONE,
                            Image.captured_at <= until, Image.captured_at >= since)
        .order_by(Image.captured_at.desc(), Image.id.desc()).limit(n))
    return [hazard_boxes(im) for im in rows]


def _in_zone(camera: Camera, d: GeoDefect) -> bool:
    """Inside the camera's hazard zone (a machine placed nowhere may be anywhere: it counts)."""
    if camera.max_range_m is None or d.lat is None or d.lon is None:
        return True
    return distance_m(camera.lat, camera.lon, d.lat, d.lon) <= camera.max_range_m


def located_hazards(session: Session, services: Services, camera: Camera,
                    image: Image) -> list[GeoDefect]:
    """The photo's hazards, geotagged from its registry pose like a flight photo's, inside the
    camera's zone, most confident first."""
    photo = stored_photo(image, services.store.path_for(image.sha256))
    located = locate([photo], camera.line, line_ledger(session, camera.line))
    hazards = [d for d in located if d.category == _HAZARD and d.evidence and _in_zone(camera, d)]
    return sorted(hazards, key=lambda d: -float(d.confidence))


def update_camera_hazards(session: Session, services: Services, camera: Camera,
                          image: Image) -> list[Defect]:
    """Take one processed photo of ``camera`` into its hazard items; returns the camera's items
    counted now (new, confirmed or assigned). Runs inside the caller's transaction, holding the
    camera (a PostgreSQL advisory lock) so that two workers never raise one machine twice."""
    settings = services.settings
    if image.captured_at is None or image.status != PhotoStatus.DONE:
        return _counted(session, camera.id)
    lock_line(session, f"camera:{camera.id}")
    at = _aware(image.captured_at)
    now = dt.datetime.now(dt.UTC)
    end_after = settings.camera_hazard_end_after_s
    recent_rejected = at - dt.timedelta(seconds=end_after)
    items = {d.id: d for d in session.scalars(select(Defect).where(
        Defect.camera_id == camera.id,
        Defect.status.in_(COUNTED)
        | ((Defect.status == DefectStatus.REJECTED) & (Defect.last_seen_at >= recent_rejected))))}
    free = [(d.id, Seen(d.class_key, _box(d.xyxy))) for d in items.values() if d.xyxy]
    history: list[list[Seen]] | None = None
    seen_now: set[int] = set()
    for d in located_hazards(session, services, camera, image):
        evidence = stored_evidence(d)
        box = Seen(d.class_key, _box(evidence[0]["xyxy"]))
        found = match(box, free, settings.camera_min_iou)
        if found is not None:
            free = [f for f in free if f[0] != found]
            _seen_again(session, items[found], image, at, d, now)
            seen_now.add(found)
            continue
        if history is None:
            history = recent_boxes(session, camera.id, at, settings.camera_confirm_n, end_after)
        if not confirmed(box, history, settings.camera_confirm_k, settings.camera_confirm_n,
                         settings.camera_min_iou):
            continue
        window = (settings.camera_confirm_k, settings.camera_confirm_n)
        seen_now.add(_raise(session, camera, image, at, d, now, window).id)
    for item in items.values():
        if (item.id not in seen_now and item.status in COUNTED and item.last_seen_at is not None
                and ended(_aware(item.last_seen_at), at, end_after)):
            _end(session, camera, item, at, now)
    session.flush()
    return _counted(session, camera.id)


def _counted(session: Session, camera_id: str) -> list[Defect]:
    return list(session.scalars(select(Defect).where(
        Defect.camera_id == camera_id, Defect.status.in_(COUNTED)).order_by(Defect.id)))


def _raise(session: Session, camera: Camera, image: Image, at: dt.datetime, d: GeoDefect,
           now: dt.datetime, window: tuple[int, int]) -> Defect:
    k, n = window
    item = defect_row(d, None, now)
    item.camera_id = camera.id
    item.model_version = image.model_version  # the registry's version that saw it
    item.first_seen = item.last_seen = at.date()
    item.last_seen_at = at
    item.sightings = 1
    session.add(item)
    session.flush()
    session.add(DefectEvent(defect_id=item.id, at=now, actor=ACTOR, changes={},
                            note=f"raised by camera {camera.id}: seen in {k} of its last {n} "
                                 f"photos (photo {image.id}, {at.isoformat()})"))
    return item


def _seen_again(session: Session, item: Defect, image: Image, at: dt.datetime, d: GeoDefect,
                now: dt.datetime) -> None:
    item.sightings = (item.sightings or 1) + 1
    if item.last_seen_at is None or at >= _aware(item.last_seen_at):
        evidence = stored_evidence(d)
        item.last_seen_at, item.last_seen = at, at.date()
        item.image_id, item.xyxy, item.evidence = image.id, evidence[0]["xyxy"], evidence
        item.lat, item.lon, item.alt = d.lat, d.lon, d.alt
        item.uncertainty_m, item.distance_to_line_m = d.uncertainty_m, d.distance_to_line_m
    item.updated_at = now
    if more_severe(d.severity, item.severity):
        why = (f"{d.distance_to_line_m:.1f} m from the line"
               if d.distance_to_line_m is not None else f"seen as {d.class_key}")
        session.add(DefectEvent(defect_id=item.id, at=now, actor=ACTOR,
                                changes={"severity": [item.severity, d.severity]},
                                note=f"graded {d.severity} on photo {image.id}: {why}"))
        item.severity = d.severity


def _end(session: Session, camera: Camera, item: Defect, at: dt.datetime,
         now: dt.datetime) -> None:
    check(DefectStatus(item.status), DefectStatus.ENDED, Worker.WORKER)
    session.add(DefectEvent(
        defect_id=item.id, at=now, actor=ACTOR, changes={"status": [item.status, "ended"]},
        note=f"camera {camera.id} has not seen it since "
             f"{_aware(item.last_seen_at or at).isoformat()}: ended"))
    item.status = DefectStatus.ENDED
    item.updated_at = now


@dataclass(frozen=True)
class CameraRow:
    """A camera on the cameras page: its registry entry, open hazards, latest photo's time,
    and front end + back end on its photos."""

    camera: Camera
    open_hazards: int
    latest_at: dt.datetime | None
    edge: FlightEdgeOut | None = None  # front end + back end on its photos (None: no edge)


def camera_overview(session: Session) -> list[CameraRow]:
    cameras = list(session.scalars(select(Camera).order_by(Camera.id)))
    open_by: dict[str | None, int] = {cid: int(n) for cid, n in session.execute(
        select(Defect.camera_id, func.count()).where(
            Defect.camera_id.is_not(None), Defect.status.in_(COUNTED))
        .group_by(Defect.camera_id))}
    latest: dict[str | None, dt.datetime | None] = {cid: at for cid, at in session.execute(
        select(Image.camera_id, func.max(Image.captured_at)).where(Image.camera_id.is_not(None))
        .group_by(Image.camera_id))}
    edge = cameras_edge(session, [c.id for c in cameras])
    rows = []
    for c in cameras:
        at = latest.get(c.id)
        rows.append(CameraRow(c, int(open_by.get(c.id, 0)), _aware(at) if at else None,
                              edge.get(c.id)))
    return rows
