"""Which photos a training export holds and which boxes each gets: the review turned into labels.

An item's boxes are its evidence entries, one per photo that showed it, in each flight's
sighting (and in the item's own evidence, which a corrected box updates first). A photo goes
into the export when an item whose status the caller asked for (by default every reviewed
status) has a box on it; on that photo

- every box of a confirmed, assigned, fixed or closed item is a **positive**, of the item's
  class (the reviewer's, whatever the detector said), in its corrected box where corrected;
- a rejected item's box is a false positive: no label; a photo whose items were all rejected
  is a **negative** (a background image);
- an unreviewed (new) item's box is **pending**: left out of YOLO and COCO, a pre-annotation
  in Label Studio. A photo with pending boxes and no positive is not a negative (nobody said
  nothing is there), so YOLO and COCO leave it out.

The plan is typed records only; :mod:`linepatrol_service.export_zip` writes them in a format.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol_service.domain import (
    POSITIVE_DEFECT,
    REVIEWED_DEFECT,
    BoxOrigin,
    DefectStatus,
    PhotoStatus,
)
from linepatrol_service.models import Defect, Flight, Image, Sighting

# A file name suffix per stored format, added where the uploaded name has none of its own.
_SUFFIXES = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "TIFF": (".tif", ".tiff")}
_UNSAFE = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class ExportFilter:
    """What to export: photos of the line's flights dated ``since`` or later (any line, any
    date: None) that show an item of one of ``statuses``."""

    line: str | None = None
    since: dt.date | None = None
    statuses: frozenset[DefectStatus] = REVIEWED_DEFECT
    flights: frozenset[int] | None = None  # these flights only (None: any)
    # each exported photo's component boxes (insulators, towers, dampers) as the detector
    # drew them: nobody reviews components, and a fine-tune on an export without them learns
    # that they are background
    components: bool = False


@dataclass(frozen=True)
class LabelBox:
    """One object on one photo: the item, its class and its box in photo pixels."""

    defect_id: int | None  # None: a component's box (no item)
    class_key: str
    xyxy: tuple[float, float, float, float]
    confidence: float
    origin: BoxOrigin


@dataclass(frozen=True)
class ExportPhoto:
    """A photo of the export: where its original is, its name in the archive, its labels."""

    image_id: int
    flight_id: int
    sha256: str
    file_name: str  # unique and stable: f{flight}_{image}_{uploaded name}
    width: int
    height: int
    positives: tuple[LabelBox, ...]
    pending: tuple[LabelBox, ...]  # unreviewed items: Label Studio's pre-annotations
    false_positives: tuple[LabelBox, ...]  # rejected items' boxes (no labels)

    @property
    def rejected(self) -> int:
        return len(self.false_positives)

    @property
    def labelled(self) -> bool:
        """Reviewed enough to be a training image: it has a positive, or every item on it
        was rejected (a negative)."""
        return bool(self.reviewed) or (self.rejected > 0 and not self.pending)

    @property
    def reviewed(self) -> tuple[LabelBox, ...]:
        """The positives a reviewer stands behind (components' detected boxes left out)."""
        return tuple(b for b in self.positives if b.defect_id is not None)

    @property
    def stem(self) -> str:
        return self.file_name.rsplit(".", 1)[0]


def file_name(image: Image) -> str:
    """The photo's name in the archive: its flight and row id (unique, stable across exports)
    and its uploaded file name (readable), with the suffix of its format."""
    base = _UNSAFE.sub("_", image.filename.replace("\\", "/").rsplit("/", 1)[-1])[-100:]
    suffixes = _SUFFIXES.get(image.format, ())
    if suffixes and not base.lower().endswith(suffixes):
        base += suffixes[0]
    return f"f{image.flight_id}_{image.id}_{base}"


def _box(entry: dict[str, Any]) -> tuple[float, float, float, float] | None:
    try:
        x1, y1, x2, y2 = (float(v) for v in entry["xyxy"])
    except (KeyError, TypeError, ValueError):
        return None
    return x1, y1, x2, y2


def _flights(where: ExportFilter, flight_id: Any) -> ColumnElement[bool]:
    """The join to the filter's flights."""
    conditions: list[ColumnElement[bool]] = [Flight.id == flight_id]
    if where.line is not None:
        conditions.append(Flight.line == where.line)
    if where.since is not None:
        conditions.append(Flight.date >= where.since)
    if where.flights is not None:
        conditions.append(Flight.id.in_(sorted(where.flights)))
    return and_(*conditions)


def _images(session: Session, ids: list[int]) -> list[Image]:
    """The processed photos among ``ids``, a thousand ids per query (the databases' limits
    on bound parameters)."""
    rows: list[Image] = []
    for start in range(0, len(ids), 1000):
        rows += session.scalars(select(Image).where(
            Image.id.in_(ids[start:start + 1000]), Image.status == PhotoStatus.DONE))
    return rows


def _entries(session: Session, where: ExportFilter) -> Iterable[tuple[Defect, dict[str, Any]]]:
    """Every evidence entry of the matching flights with its item: the sightings' first, then
    the items' own (the first flight's, where a correction lands first), which win."""
    sighted = select(Defect, Sighting.evidence).join(
        Sighting, Sighting.defect_id == Defect.id).join(
        Flight, _flights(where, Sighting.flight_id))
    for item, evidence in session.execute(sighted):
        for entry in evidence or []:
            yield item, entry
    own = select(Defect).join(Flight, _flights(where, Defect.flight_id))
    for item in session.scalars(own):
        for entry in item.evidence or []:
            yield item, entry


def component_boxes(image: Image) -> tuple[LabelBox, ...]:
    """The photo's component detections (taxonomy category ``component``) as labels."""
    out = []
    for record in image.detections or []:
        cls = taxonomy.BY_KEY.get(record["class"])
        if cls is None or cls.category is not taxonomy.Category.COMPONENT:
            continue
        x1, y1, x2, y2 = (float(v) for v in record["xyxy"])
        out.append(LabelBox(None, cls.key, (x1, y1, x2, y2), float(record["confidence"]),
                            BoxOrigin.COMPONENT))
    return tuple(out)


def plan(session: Session, where: ExportFilter) -> list[ExportPhoto]:
    """The export's photos in flight and upload order, each with its labels."""
    boxes: dict[int, dict[int, tuple[Defect, LabelBox]]] = {}
    for item, entry in _entries(session, where):
        xyxy = _box(entry)
        if xyxy is None or not isinstance(entry.get("image_id"), int):
            continue
        origin = BoxOrigin(entry.get("origin", BoxOrigin.DETECTED))
        label = LabelBox(item.id, item.class_key, xyxy,
                         float(entry.get("confidence") or 0.0), origin)
        boxes.setdefault(entry["image_id"], {})[item.id] = (item, label)
    wanted = [image_id for image_id, found in boxes.items()
              if any(item.status in where.statuses for item, _ in found.values())]
    images = _images(session, sorted(wanted))
    photos = []
    for image in sorted(images, key=lambda im: (im.flight_id or 0, im.id)):
        if image.flight_id is None:  # a corridor camera's photo: not in the export (yet)
            continue
        found = sorted(boxes[image.id].values(), key=lambda pair: pair[0].id)
        if image.width is None or image.height is None:  # pragma: no cover - done photos have
            continue
        components = component_boxes(image) if where.components else ()
        photos.append(ExportPhoto(
            image_id=image.id, flight_id=image.flight_id, sha256=image.sha256,
            file_name=file_name(image), width=image.width, height=image.height,
            positives=tuple(b for item, b in found if item.status in POSITIVE_DEFECT)
            + components,
            pending=tuple(b for item, b in found if item.status == DefectStatus.NEW),
            false_positives=tuple(b for item, b in found if item.status == DefectStatus.REJECTED),
        ))
    return photos
