"""The one in-memory form every reader produces and every writer consumes.

Readers differ only in how they find images and parse label files; everything after that
(mapping, validation, splitting, statistics, tiling, writing) works on these classes, so a rule
such as "how far outside the image may a box be" is decided once, in :mod:`.validate`.
Coordinates are absolute pixels, ``x1 < x2`` and ``y1 < y2``, inside ``[0, width] x [0, height]``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True)
class Box:
    class_name: str
    x1: float
    y1: float
    x2: float
    y2: float
    # The label file the box came from (several per image in CPLID), so a later problem with
    # the box is reported against the right file; not part of the box's identity.
    source: Path | None = field(default=None, compare=False, repr=False)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def renamed(self, class_name: str) -> Box:
        return replace(self, class_name=class_name)


@dataclass
class Sample:
    """One image and its boxes (possibly none: an explicit background image)."""

    image_path: Path
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    label_paths: tuple[Path, ...] = ()  # the label file(s) the boxes came from, for reports
    split: str | None = None  # set by a reader of an already split dataset, or by the splitter


class IssueKind(StrEnum):
    """Everything that can be wrong with a label; each is reported per file and counted."""

    BOX_OUTSIDE = "box_outside"  # beyond the clip tolerance: dropped
    BOX_CLIPPED = "box_clipped"  # slightly outside: clipped and kept (a notice, not an error)
    ZERO_AREA = "zero_area"  # xmax <= xmin or ymax <= ymin (after clipping): dropped
    UNKNOWN_CLASS = "unknown_class"  # no such class id / name not mapped: box dropped
    LABEL_WITHOUT_IMAGE = "label_without_image"  # label file whose image is missing: skipped
    IMAGE_WITHOUT_LABEL = "image_without_label"  # image with no label file: skipped by default
    UNREADABLE_LABEL = "unreadable_label"  # label file that does not parse: skipped
    UNREADABLE_IMAGE = "unreadable_image"  # image file whose header cannot be read: skipped
    SIZE_MISMATCH = "size_mismatch"  # label's stated size is not the image's: real size used
    UNSUPPORTED_SHAPE = "unsupported_shape"  # e.g. a LabelMe point or line: ignored

    @property
    def is_error(self) -> bool:
        """Notices change nothing the user must fix; errors lost a box or an image."""
        return self not in (IssueKind.BOX_CLIPPED, IssueKind.SIZE_MISMATCH)


@dataclass(frozen=True)
class Issue:
    file: Path
    kind: IssueKind
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind.value}: {self.detail}"


@dataclass
class Dataset:
    """Samples plus everything that went wrong while reading them."""

    samples: list[Sample]
    issues: list[Issue] = field(default_factory=list)
    root: Path | None = None
    # Class names in the source's own order (YOLO ids, COCO categories); empty when the format
    # has no class table (VOC, LabelMe).
    source_names: list[str] = field(default_factory=list)

    def class_counts(self) -> Counter[str]:
        return Counter(b.class_name for s in self.samples for b in s.boxes)

    def issue_counts(self) -> Counter[IssueKind]:
        return Counter(i.kind for i in self.issues)

    @property
    def box_count(self) -> int:
        return sum(len(s.boxes) for s in self.samples)
