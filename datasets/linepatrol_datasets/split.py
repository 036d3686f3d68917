"""Train/val split by near-duplicate group, with a fixed seed, stratified by the rarest class.

Whole groups go to one side (see :mod:`.dedup`). Groups are put into strata by the rarest
class they contain, so a rare defect class gets its share of validation images instead of
whatever the shuffle leaves; within a stratum the seeded shuffle decides, and a group joins
validation when that brings the stratum's validation count closer to its target.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from linepatrol_datasets.dedup import DuplicateGroups
from linepatrol_datasets.model import Sample

TRAIN, VAL = "train", "val"
BACKGROUND = "(background)"


@dataclass
class SplitReport:
    seed: int
    val_fraction: float  # negative when the source's own split was kept
    images: dict[str, int] = field(default_factory=dict)
    boxes: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> boxes
    groups: dict[str, int] = field(default_factory=dict)  # from DuplicateGroups.summary()
    dedup: dict[str, Any] = field(default_factory=dict)  # the hashing settings used

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "val_fraction": self.val_fraction, "images": self.images,
            "boxes": self.boxes, "groups": self.groups, "dedup": self.dedup,
        }

    def text(self) -> str:
        if self.val_fraction < 0:
            lines = ["split: kept from the source"]
        else:
            lines = [f"split (seed {self.seed}, val fraction {self.val_fraction:g}):"]
        for part in (TRAIN, VAL):
            per_class = ", ".join(f"{k} {v}" for k, v in sorted(self.boxes.get(part, {}).items()))
            lines.append(f"  {part:5s} {self.images.get(part, 0):5d} images; boxes: {per_class}")
        g = self.groups
        if g:
            lines.append(
                f"  near-duplicates: {g['duplicate_groups']} groups holding "
                f"{g['images_in_duplicate_groups']} images (largest {g['largest_group']}); "
                f"{g['groups']} groups in all; links: {g['crop_links']} by crop, "
                f"{g['image_links']} by whole image"
            )
        return "\n".join(lines)


def _stratum(members: Sequence[int], samples: Sequence[Sample], totals: Counter[str]) -> str:
    classes = {b.class_name for i in members for b in samples[i].boxes}
    if not classes:
        return BACKGROUND
    return min(classes, key=lambda c: (totals[c], c))


def split_groups(
    samples: Sequence[Sample], groups: DuplicateGroups, val_fraction: float, seed: int
) -> list[str]:
    """``train``/``val`` for each sample; same inputs and seed, same answer."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val fraction must be in [0, 1), got {val_fraction}")
    totals = Counter(b.class_name for s in samples for b in s.boxes)
    strata: dict[str, list[list[int]]] = {}
    for members in sorted(groups.groups().values()):
        strata.setdefault(_stratum(members, samples, totals), []).append(members)
    rng = random.Random(seed)
    assignment = [TRAIN] * len(samples)
    for name in sorted(strata):
        stratum = strata[name]
        rng.shuffle(stratum)
        target = val_fraction * sum(len(m) for m in stratum)
        in_val = 0
        for members in stratum:
            if abs(in_val + len(members) - target) < abs(in_val - target):
                in_val += len(members)
                for i in members:
                    assignment[i] = VAL
    return assignment


def report(
    samples: Sequence[Sample], assignment: Sequence[str], groups: DuplicateGroups | None,
    val_fraction: float, seed: int, dedup_settings: dict[str, Any] | None = None,
) -> SplitReport:
    rep = SplitReport(seed, val_fraction)
    for part in (TRAIN, VAL):
        chosen = [s for s, a in zip(samples, assignment, strict=True) if a == part]
        rep.images[part] = len(chosen)
        per_class = Counter(b.class_name for s in chosen for b in s.boxes)
        rep.boxes[part] = dict(sorted(per_class.items()))
    if groups is not None:
        rep.groups = groups.summary()
    rep.dedup = dedup_settings or {}
    return rep
