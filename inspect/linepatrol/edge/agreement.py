"""Did the front end (the device's small model) and the back end (the server's models) agree on
a photo? A pure function of the two sets of boxes.

What is compared are *findings*: boxes of defect and hazard classes (components — insulators,
towers, dampers — are on every tower photo and say nothing about whether a photo mattered;
unknown class names count as findings, the cautious reading). Two findings match when they
belong to the same *class family* and overlap at IoU >= :data:`MATCH_IOU`:

- the defects of one component are one family (``insulator_missing_cap``,
  ``insulator_broken``, ``insulator_flashover`` are "an insulator defect"): a small model that
  calls a broken disc a missing cap still sent the right photo to review;
- every construction machine is one family, for the same reason the geotagger lets the views of
  one machine vote on its class (a folded pump truck looks like a truck crane);
- any other class is a family of its own.

IoU 0.3 rather than the 0.5 of detection benchmarks: the two models see the photo at different
input sizes (the edge model is small) and box the same object looser or tighter; 0.3 still
keeps two neighbouring caps of one string apart.

The photo-level verdict, :attr:`Agreement.agreed`, is the edge's own decision re-checked:
both found some finding, or both found none. The edge decides per photo (send it or not), so
that is the number the coverage honesty rests on; the box counts say how close the boxes were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from linepatrol import taxonomy
from linepatrol.boxes import overlap_matrix
from linepatrol.detections import DetectionRecord

MATCH_IOU = 0.3
MACHINERY = "machinery"


def is_finding(class_key: str) -> bool:
    """A defect or hazard class, or one this taxonomy does not know; not a component."""
    info = taxonomy.BY_KEY.get(class_key)
    return info is None or info.category is not taxonomy.Category.COMPONENT


def family(class_key: str) -> str:
    """The class family findings are matched within (see the module's docstring)."""
    info = taxonomy.BY_KEY.get(class_key)
    if info is None:
        return class_key
    if info.machine:
        return MACHINERY
    stem = class_key.split("_", 1)[0]
    component = taxonomy.BY_KEY.get(stem)
    if stem != class_key and component is not None \
            and component.category is taxonomy.Category.COMPONENT:
        return stem
    return class_key


def findings(records: Sequence[DetectionRecord]) -> list[DetectionRecord]:
    return [r for r in records if is_finding(r["class"])]


@dataclass(frozen=True)
class Agreement:
    """Findings matched between the two ends, found by the edge only, by the back end only."""

    matched: int
    edge_only: int
    back_only: int

    @property
    def edge_found(self) -> bool:
        return self.matched + self.edge_only > 0

    @property
    def back_found(self) -> bool:
        return self.matched + self.back_only > 0

    @property
    def agreed(self) -> bool:
        """Both ends found something, or both found nothing."""
        return self.edge_found == self.back_found


def compare(edge: Sequence[DetectionRecord], back: Sequence[DetectionRecord],
            iou: float = MATCH_IOU) -> Agreement:
    """Match the edge's findings with the back end's: greedily, best overlap first, one to one,
    within a class family at IoU >= ``iou``."""
    a, b = findings(edge), findings(back)
    if not a or not b:
        return Agreement(0, len(a), len(b))
    overlap = overlap_matrix(np.array([r["xyxy"] for r in a], np.float64).reshape(-1, 4),
                             np.array([r["xyxy"] for r in b], np.float64).reshape(-1, 4))
    same = np.array([[family(x["class"]) == family(y["class"]) for y in b] for x in a])
    overlap = np.where(same & (overlap >= iou), overlap, -1.0)
    matched = 0
    used_a: set[int] = set()
    used_b: set[int] = set()
    for flat in np.argsort(-overlap, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(b))
        if overlap[i, j] < 0:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matched += 1
    return Agreement(matched, len(a) - matched, len(b) - matched)
