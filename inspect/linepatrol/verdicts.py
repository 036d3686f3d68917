"""How a model's boxes fare against what reviewers decided: the registry's shadow comparison.

A candidate model earns promotion on the utility's own photos, judged by its own reviewers:
every box a reviewer confirmed, corrected or drew is an object the model should find; every
box a reviewer rejected is a false detection it should not repeat. Both the active model and a
shadow candidate ran on the same photos, so scoring both against the same verdicts compares
them on equal terms, without a labelled test set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from linepatrol.boxes import overlap_matrix
from linepatrol.detections import DetectionRecord

# A box "is" a reviewed object at the usual detection-benchmark overlap (PASCAL VOC's AP50).
MATCH_IOU = 0.5


@dataclass(frozen=True)
class Verdict:
    """One reviewed box on a photo: ``positive`` (confirmed, corrected or drawn) or not
    (rejected as a false detection)."""

    class_key: str
    xyxy: tuple[float, float, float, float]
    positive: bool


@dataclass(frozen=True)
class Tally:
    """A model's boxes against the verdicts on the photos it ran on."""

    photos: int = 0
    positives: int = 0  # objects the reviewers kept
    found: int = 0  # ... of which the model has a box of the same class on
    rejected: int = 0  # false detections the reviewers rejected
    repeated: int = 0  # ... of which the model detects again (same class, same place)

    @property
    def recall(self) -> float | None:
        return self.found / self.positives if self.positives else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.photos + other.photos, self.positives + other.positives,
                     self.found + other.found, self.rejected + other.rejected,
                     self.repeated + other.repeated)


def _hits(boxes: Sequence[DetectionRecord], verdicts: Sequence[Verdict],
          iou: float) -> list[bool]:
    """Per verdict: does some box of its class overlap it by at least ``iou``? Each box counts
    for one verdict at most (greedy on overlap), so one big box cannot find two objects."""
    if not verdicts:
        return []
    if not boxes:
        return [False] * len(verdicts)
    a = np.asarray([v.xyxy for v in verdicts], dtype=np.float64)
    b = np.asarray([d["xyxy"] for d in boxes], dtype=np.float64)
    overlap = overlap_matrix(a, b)
    same = np.asarray([[v.class_key == d["class"] for d in boxes] for v in verdicts])
    overlap = np.where(same & (overlap >= iou), overlap, 0.0)
    hit = [False] * len(verdicts)
    spent: set[int] = set()
    for flat in np.argsort(-overlap, axis=None):
        i, j = divmod(int(flat), overlap.shape[1])
        if overlap[i, j] <= 0:
            break
        if not hit[i] and j not in spent:
            hit[i] = True
            spent.add(j)
    return hit


def tally_photo(boxes: Sequence[DetectionRecord], verdicts: Sequence[Verdict],
                iou: float = MATCH_IOU) -> Tally:
    """One photo: the model's ``boxes`` against the reviewers' ``verdicts`` on it. Positives
    and rejections are matched separately: a box on a rejected spot is a repeat of the false
    detection whether or not it also sits on a kept object."""
    kept = [v for v in verdicts if v.positive]
    false = [v for v in verdicts if not v.positive]
    return Tally(photos=1, positives=len(kept), found=sum(_hits(boxes, kept, iou)),
                 rejected=len(false), repeated=sum(_hits(boxes, false, iou)))


def tally(photos: Iterable[tuple[Sequence[DetectionRecord], Sequence[Verdict]]],
          iou: float = MATCH_IOU) -> Tally:
    """Photos' tallies summed."""
    total = Tally()
    for boxes, verdicts in photos:
        total = total + tally_photo(boxes, verdicts, iou)
    return total
