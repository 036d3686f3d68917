"""A reviewer's edits that make training labels: an item's box corrected, a missed object drawn
as a new item, and the deadline rule every review shares.

The routers (``PATCH /defects/{id}``, ``POST /images/{id}/annotations``) turn HTTP into these
calls and :class:`ReviewError` into a 422 (:class:`NotReady`: 409); the rows change here, so a
status review, a corrected box and a drawn box are audited and dated in one way. A corrected
or drawn box is marked in its evidence entry (``origin``, :class:`~.domain.BoxOrigin`), which is
how the training export (:mod:`linepatrol_service.export_plan`) tells the reviewer's boxes
from the machine's.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol.detections import Detections
from linepatrol.flight import detected_photo
from linepatrol_service.auth import Principal
from linepatrol_service.coverage import line_ledger
from linepatrol_service.domain import (
    OVERDUE_STATUSES,
    BoxOrigin,
    DefectStatus,
    DueHours,
    FlightStatus,
    PhotoStatus,
    due_at,
)
from linepatrol_service.geotag import defect_row, flight_photo, locate
from linepatrol_service.models import Defect, DefectEvent, Flight, Image, Sighting
from linepatrol_service.tracking import sighting_row
from linepatrol_service.views import _utc

Changes = dict[str, list[object]]


class ReviewError(ValueError):
    """An edit that cannot be made as asked (the API answers 422 with the message)."""


class NotReady(ReviewError):
    """An edit of a photo that is not processed yet (the API answers 409)."""


@dataclass(frozen=True)
class PhotoBox:
    """A box in a photo's pixels, checked against the photo: ``x1 < x2``, ``y1 < y2``, inside
    it; to a tenth of a pixel, as evidence is stored."""

    x1: float
    y1: float
    x2: float
    y2: float

    def as_list(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]


def photo_box(xyxy: Sequence[Any], width: int | None, height: int | None) -> PhotoBox:
    """``xyxy`` as a box of a ``width`` x ``height`` photo, or :class:`ReviewError` saying what
    is wrong with it."""
    if len(xyxy) != 4:
        raise ReviewError("xyxy must be 4 numbers: x1, y1, x2, y2 in photo pixels")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
               for v in xyxy):
        raise ReviewError("xyxy must be 4 finite numbers: x1, y1, x2, y2 in photo pixels")
    x1, y1, x2, y2 = (round(float(v), 1) for v in xyxy)
    if not (x1 < x2 and y1 < y2):
        raise ReviewError(f"xyxy {[x1, y1, x2, y2]} is empty: x1 < x2 and y1 < y2 are needed")
    if width is None or height is None:
        raise ReviewError("the photo's size is unknown, so a box on it cannot be checked")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise ReviewError(f"xyxy {[x1, y1, x2, y2]} is outside the photo "
                          f"(0..{width} x 0..{height} pixels)")
    return PhotoBox(x1, y1, x2, y2)


def actor_of(who: Principal) -> str:
    """How the audit trail names a reviewer."""
    return f"{who.name} ({who.role.value})"


def iso(value: dt.datetime | None) -> str | None:
    aware = _utc(value)
    return aware.isoformat() if aware else None


def refresh_deadline(d: Defect, hours: DueHours, now: dt.datetime) -> Changes:
    """The first confirmation starts the item's deadline (its grade's time after it); a change
    of grade moves it. Returns the change for the audit trail (empty: none)."""
    if d.confirmed_at is None and d.status in OVERDUE_STATUSES:
        d.confirmed_at = now
    due = due_at(d.severity, _utc(d.confirmed_at), hours)
    if due == _utc(d.due_at):
        return {}
    old, d.due_at = d.due_at, due
    return {"due_at": [iso(old), iso(due)]}


def _corrected(entry: dict[str, Any], box: list[float]) -> dict[str, Any]:
    """An evidence entry with the reviewer's box; the detector's first box is kept as
    ``detected_xyxy`` (what the model got wrong, for its evaluation)."""
    if entry.get("origin") == BoxOrigin.DRAWN:
        return {**entry, "xyxy": box}
    return {**entry, "xyxy": box, "origin": BoxOrigin.CORRECTED.value,
            "detected_xyxy": entry.get("detected_xyxy", entry["xyxy"])}


def correct_box(session: Session, d: Defect, xyxy: Sequence[Any]) -> Changes:
    """Move or resize the item's box on its best photo (its first evidence entry): the item's
    ``xyxy``, that entry and the same photo's entry in that flight's sighting. The item stays
    where the geotagger placed it (a corrected box is a label, not a new position)."""
    evidence = [dict(e) for e in d.evidence or []]
    if not evidence:
        raise ReviewError(f"defect {d.id} has no evidence photo whose box could be corrected")
    best = evidence[0]
    image = session.get(Image, best["image_id"])
    if image is None:
        raise ReviewError(f"the evidence photo of defect {d.id} is gone")
    box = photo_box(xyxy, image.width, image.height).as_list()
    old = [float(v) for v in best["xyxy"]]
    if box == old:
        return {}
    evidence[0] = _corrected(best, box)
    d.evidence = evidence  # a new list: SQLAlchemy sees a JSON column change on assignment
    d.xyxy = box
    sighting = session.scalar(select(Sighting).where(Sighting.defect_id == d.id,
                                                     Sighting.flight_id == d.flight_id))
    if sighting is not None:
        sighting.evidence = [_corrected(e, box) if e.get("image_id") == image.id else dict(e)
                             for e in sighting.evidence or []]
    return {"xyxy": [old, box]}


def _drawn(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**e, "origin": BoxOrigin.DRAWN.value} for e in evidence]


def draw_item(session: Session, image: Image, path: Path, class_key: str,
              xyxy: Sequence[Any], actor: str, hours: DueHours, now: dt.datetime,
              note: str | None = None) -> Defect:
    """A missed object drawn on a photo, as an item like a detected one: the core's flight use
    case places it (the photo as a perfect detector would have seen it: this one box at
    confidence 1), it enters the queue confirmed with its deadline, with a sighting by the
    photo's flight and an audit event. Components are refused: the queue holds defects and
    hazards."""
    info = taxonomy.BY_KEY.get(class_key)
    if info is None:
        raise ReviewError(f"unknown class {class_key!r}; known classes: "
                          f"{', '.join(c.key for c in taxonomy.CLASSES)}")
    if info.category is taxonomy.Category.COMPONENT:
        raise ReviewError(f"{class_key!r} is a component, not a defect or hazard; the queue "
                          "holds defects and hazards only")
    if image.flight_id is None:
        raise ReviewError(f"photo {image.id} is a corridor camera's: missed objects are drawn on "
                          "flight photos")
    flight = session.get(Flight, image.flight_id)
    assert flight is not None  # a photo's flight is deleted with it (ON DELETE CASCADE)
    if image.status != PhotoStatus.DONE or flight.status != FlightStatus.DONE:
        raise NotReady(f"photo {image.id} is {image.status} in a flight that is "
                       f"{flight.status}: draw on it once the flight is done")
    box = photo_box(xyxy, image.width, image.height)
    drawn = Detections(np.array([box.as_list()], np.float32), np.ones(1, np.float32),
                       np.zeros(1, np.int64), (class_key,))
    photo = detected_photo(flight_photo(image, path), image.width, image.height, drawn)
    located = locate([photo], flight.line, line_ledger(session, flight.line))
    if len(located) != 1:  # pragma: no cover - one box of a defect class is one defect
        raise ReviewError(f"the drawn box made {len(located)} defects, not one")
    geo = located[0]
    item = defect_row(geo, flight.id, now)
    item.status = DefectStatus.CONFIRMED
    item.first_seen = item.last_seen = flight.date
    item.sightings = 1
    item.evidence = _drawn(item.evidence)
    changes: Changes = {"status": [None, DefectStatus.CONFIRMED.value],
                        "class": [None, class_key], "xyxy": [None, box.as_list()]}
    changes.update(refresh_deadline(item, hours, now))
    session.add(item)
    session.flush()  # its id, for the sighting and the event
    sighting = sighting_row(item.id, flight, geo, now)
    sighting.evidence = _drawn(sighting.evidence)
    session.add(sighting)
    session.add(DefectEvent(defect_id=item.id, at=now, actor=actor, changes=changes,
                            note="; ".join(n for n in (f"drawn by {actor} on photo {image.id}",
                                                       note) if n)))
    return item
