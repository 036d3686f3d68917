"""``Detections``: the value every stage passes on — parallel arrays, sliced and merged together.

Shaped after supervision's ``Detections``: one row per box, numpy arrays side by side, so a
boolean mask or a slice selects whole rows and nothing can get out of step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from linepatrol import boxes as box_ops

# One box as JSON carries it (the CLI's ``--json``, the service's photo rows); the functional
# form because "class" is a keyword.
DetectionRecord = TypedDict(
    "DetectionRecord", {"class": str, "confidence": float, "xyxy": list[float]}
)


@dataclass(frozen=True)
class Detections:
    """Boxes in original-image pixels with their confidences and classes.

    ``class_id`` indexes ``names``, the taxonomy keys of the model that produced the boxes.
    """

    xyxy: npt.NDArray[np.float32]
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int64]
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        conf = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        cls = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        if not (len(xyxy) == len(conf) == len(cls)):
            raise ValueError(
                f"parallel arrays differ in length: xyxy {len(xyxy)}, confidence {len(conf)}, "
                f"class_id {len(cls)}"
            )
        if len(cls) and self.names and (cls.min() < 0 or cls.max() >= len(self.names)):
            raise ValueError(f"class_id out of range for {len(self.names)} names")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", conf)
        object.__setattr__(self, "class_id", cls)
        object.__setattr__(self, "names", tuple(self.names))

    @classmethod
    def empty(cls, names: Sequence[str] = ()) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64),
            tuple(names),
        )

    def __len__(self) -> int:
        return len(self.confidence)

    def __getitem__(self, index: int | slice | Sequence[int] | npt.NDArray[Any]) -> Detections:
        if isinstance(index, int | np.integer):
            index = [int(index)]
        return Detections(
            self.xyxy[index], self.confidence[index], self.class_id[index], self.names
        )

    def __iter__(self) -> Any:
        raise TypeError("iterate over .records() or index rows explicitly")

    @property
    def class_keys(self) -> list[str]:
        return [self.names[i] for i in self.class_id]

    @classmethod
    def from_records(cls, records: Sequence[DetectionRecord]) -> Detections:
        """The boxes :meth:`records` wrote (class names sorted: the ids are this set's own)."""
        names = sorted({r["class"] for r in records})
        if not records:
            return cls.empty(names)
        return cls(
            np.array([r["xyxy"] for r in records], dtype=np.float32),
            np.array([r["confidence"] for r in records], dtype=np.float32),
            np.array([names.index(r["class"]) for r in records], dtype=np.int64),
            tuple(names),
        )

    def records(self) -> list[DetectionRecord]:
        """One record per box, as the CLI's JSON prints them."""
        return [
            {
                "class": self.names[int(c)],
                "confidence": round(float(s), 4),
                "xyxy": [round(float(v), 1) for v in box],
            }
            for box, s, c in zip(self.xyxy, self.confidence, self.class_id, strict=True)
        ]

    # --- transforms ---------------------------------------------------------------------------

    def shifted(self, dx: float, dy: float) -> Detections:
        offset = np.array([dx, dy, dx, dy], dtype=np.float32)
        return Detections(self.xyxy + offset, self.confidence, self.class_id, self.names)

    def scaled(self, sx: float, sy: float | None = None) -> Detections:
        sy = sx if sy is None else sy
        factor = np.array([sx, sy, sx, sy], dtype=np.float32)
        return Detections(self.xyxy * factor, self.confidence, self.class_id, self.names)

    def clipped(self, width: float, height: float) -> Detections:
        xyxy = self.xyxy.copy()
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
        return Detections(xyxy, self.confidence, self.class_id, self.names)

    def filter_confidence(self, default: float, per_class: dict[str, float] | None = None) -> (
        Detections
    ):
        """Keep boxes at or above their class's threshold (``per_class`` by key, else default)."""
        thresholds = np.full(len(self.names) or 1, default, dtype=np.float32)
        for i, key in enumerate(self.names):
            if per_class and key in per_class:
                thresholds[i] = per_class[key]
        if not len(self):
            return self
        return self[self.confidence >= thresholds[self.class_id]]

    def sorted_by_confidence(self) -> Detections:
        return self[np.argsort(-self.confidence, kind="stable")]

    # --- combining ----------------------------------------------------------------------------

    def relabelled(self, names: Sequence[str]) -> Detections:
        """The same boxes with ``class_id`` indexing ``names``, which must hold every name of
        this model (several models' detections on one class list)."""
        index = {name: i for i, name in enumerate(names)}
        missing = [n for n in self.names if n not in index]
        if missing:
            raise ValueError(f"names lack {missing}")
        lookup = np.array([index[n] for n in self.names], dtype=np.int64)
        return Detections(self.xyxy, self.confidence,
                          lookup[self.class_id] if len(self) else self.class_id, tuple(names))

    @classmethod
    def merge(cls, parts: Sequence[Detections]) -> Detections:
        """Concatenate detections of the same model (same ``names``)."""
        if not parts:
            return cls.empty()
        names = parts[0].names
        for p in parts[1:]:
            if p.names != names:
                raise ValueError("cannot merge detections made with different class lists")
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            names,
        )

    def with_nms(self, iou: float = 0.45, class_agnostic: bool = False) -> Detections:
        keep = box_ops.nms(
            self.xyxy, self.confidence, None if class_agnostic else self.class_id, iou
        )
        return self[keep]

    def with_nmm(
        self,
        threshold: float = 0.5,
        metric: box_ops.MatchMetric = box_ops.MatchMetric.IOS,
        merge: bool = True,
    ) -> Detections:
        """Same-class greedy merging (or suppression) by IoS/IoU; see :func:`boxes.greedy_merge`."""
        xyxy, conf, cls = box_ops.greedy_merge(
            self.xyxy, self.confidence, self.class_id, threshold, metric, merge
        )
        return Detections(xyxy, conf, cls, self.names)
