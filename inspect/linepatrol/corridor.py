"""A fixed corridor camera's hazards over time: which boxes are one machine, and when it counts.

A fixed camera photographs the same view every few minutes, so "the same machine" is decided in
the image, not on the map: two boxes of machines (any two hazard classes of machinery, whose
names a detector may swap between photos, or the same class) overlapping by at least
``min_iou`` are the same object — the camera does not move, and a parked excavator's box
barely does. (The ground position from a single low-angle view is far less certain than the
box.) The rules, pure and in one place:

- :func:`same_spot`: the box rule above;
- :func:`confirmed`: a box counts only when the camera saw it (a box at the same spot) in at
  least ``k`` of its last ``n`` photos, the new one included, so that one false detection raises
  nothing;
- :func:`match`: the tracked item a new box is another sighting of (the best overlap);
- :func:`ended`: an item not seen for ``end_after_s`` seconds of the camera's own time (its
  photos' capture times) has left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from linepatrol import taxonomy

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in photo pixels
DEFAULT_MIN_IOU = 0.3


@dataclass(frozen=True)
class Seen:
    """One hazard box in one photo of a camera."""

    class_key: str
    xyxy: Box


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _machine(class_key: str) -> bool:
    info = taxonomy.BY_KEY.get(class_key)
    return info is not None and info.machine


def same_spot(a: Seen, b: Seen, min_iou: float = DEFAULT_MIN_IOU) -> bool:
    """Same class, or two machines; boxes overlapping by ``min_iou`` or more."""
    kind = a.class_key == b.class_key or (_machine(a.class_key) and _machine(b.class_key))
    return kind and iou(a.xyxy, b.xyxy) >= min_iou


def confirmed(box: Seen, history: Sequence[Sequence[Seen]], k: int, n: int,
              min_iou: float = DEFAULT_MIN_IOU) -> bool:
    """Whether ``box`` (seen in the newest photo) was seen in at least ``k`` of the camera's
    last ``n`` photos; ``history``: each photo's hazard boxes, newest first, the photo of
    ``box`` included."""
    recent = history[:n]
    return sum(any(same_spot(box, other, min_iou) for other in photo) for photo in recent) >= k


def match(box: Seen, items: Sequence[tuple[int, Seen]],
          min_iou: float = DEFAULT_MIN_IOU) -> int | None:
    """The id of the tracked item (id, last box) that ``box`` is another sighting of: the one
    it overlaps most among those at the same spot; None: a new object."""
    best: tuple[float, int] | None = None
    for item_id, seen in items:
        if same_spot(box, seen, min_iou):
            overlap = iou(box.xyxy, seen.xyxy)
            if best is None or overlap > best[0]:
                best = (overlap, item_id)
    return best[1] if best else None


def ended(last_seen: dt.datetime, now: dt.datetime, end_after_s: float) -> bool:
    """An item not seen for longer than ``end_after_s`` (both times the camera's) has left."""
    return (now - last_seen).total_seconds() > end_after_s
