"""Several models as one detector: each class comes from the first model that detects it.

Why: no one model covers every class well yet: each learned some classes from real photos and
others from rendered scenes or not at all. Run together, with each class owned by the first
model in the list that has it, a set takes every class from the model measured best at it, and
each member's accuracy on the classes it owns is its own, box for box
(``linepatrol.model_store.DEFAULT_MODELS`` says which model owns what in the default).

Each member keeps its own session and its own ``--tile auto`` rule (the corridor model runs on
the whole photo, the others on tiles of their own scale); all share one :class:`DetectorConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol.detect_config import DetectorConfig
from linepatrol.detections import Detections
from linepatrol.detector import Detector, PreparedPhoto, PreparingDetector


def class_owners(member_names: Sequence[Sequence[str]]) -> dict[str, int]:
    """Class -> index of the first member whose model detects it."""
    owners: dict[str, int] = {}
    for i, names in enumerate(member_names):
        for name in names:
            owners.setdefault(name, i)
    return owners


def _as_decoded_for(
    member: Detector, image: npt.NDArray[np.uint8], scale: float
) -> tuple[npt.NDArray[np.uint8], float]:
    """The photo as ``member`` alone would have had it decoded.

    The photo is decoded once, as large as the hungriest member needs (a tiling model: 1/2).
    A member that needs fewer pixels (a whole-photo model: 1/4 or 1/8) gets it reduced by the
    same power of two the JPEG decoder would have used, averaging pixels as DCT scaling does:
    letterboxing a 1/2-scale photo straight to the input would alias it (bilinear, 3x down),
    and the model would see another photo than it does alone.
    """
    h, w = image.shape[:2]
    want = member.decode_size(round(w * scale), round(h * scale))
    if want is None:
        return image, scale
    k = 1  # the further power of two; the decoder itself stops at 1/8 of the photo
    while (2 * k * scale <= 8.0 + 1e-6 and -(-w // (2 * k)) >= want[0]
           and -(-h // (2 * k)) >= want[1]):
        k *= 2
    if k == 1:
        return image, scale
    size = (-(-w // k), -(-h // k))
    reduced = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    return reduced, scale * w / size[0]


class DetectorEnsemble(PreparingDetector[tuple[PreparedPhoto, ...]]):
    """Detectors run on the same photos, their detections combined by class ownership."""

    def __init__(self, members: Sequence[Detector]) -> None:
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two models")
        self.members = list(members)
        self.owners = class_owners([m.names for m in self.members])
        self.names: tuple[str, ...] = tuple(self.owners)
        # per member, a mask over its own class ids: the classes it owns
        self._owned = [np.array([self.owners[n] == i for n in m.names], dtype=bool)
                       for i, m in enumerate(self.members)]

    @property
    def config(self) -> DetectorConfig:
        return self.members[0].config

    @config.setter
    def config(self, value: DetectorConfig) -> None:
        for m in self.members:
            m.config = value

    @property
    def model_class_conf(self) -> dict[str, float]:
        """Each owned class's operating threshold, from the model that owns it."""
        return {name: self.members[i].model_class_conf[name]
                for name, i in self.owners.items() if name in self.members[i].model_class_conf}

    @property
    def photos_per_call(self) -> int:
        return min(m.photos_per_call for m in self.members)

    def decode_size(self, width: int, height: int) -> tuple[int, int] | None:
        """The most pixels any member needs (None: the full photo)."""
        sizes = [m.decode_size(width, height) for m in self.members]
        if any(s is None for s in sizes):
            return None
        return (max(s[0] for s in sizes if s), max(s[1] for s in sizes if s))

    def prepare(self, image: npt.NDArray[np.uint8], scale: float = 1.0
                ) -> tuple[PreparedPhoto, ...]:
        """Each member's crops of the photo, from the photo as it alone would have decoded it."""
        return tuple(m.prepare(*_as_decoded_for(m, image, scale)) for m in self.members)

    def detect_prepared(self, photos: Sequence[tuple[PreparedPhoto, ...]]) -> list[Detections]:
        per_member = [m.detect_prepared([p[i] for p in photos])
                      for i, m in enumerate(self.members)]
        out = []
        for k in range(len(photos)):
            parts = []
            for i, results in enumerate(per_member):
                d = results[k]
                parts.append(d[self._owned[i][d.class_id]].relabelled(self.names))
            merged = Detections.merge(parts).sorted_by_confidence()
            out.append(merged[: self.config.max_det])
        return out

    def describe(self) -> dict[str, Any]:
        """What ``linepatrol info`` and the service show: each member and the classes it owns."""
        return describe_set([m.describe() for m in self.members])


def describe_set(members: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several models' descriptions (each with its ``classes``) as one set: the union of the
    classes, and for each member the classes taken from it (``owns``)."""
    owners = class_owners([m["classes"] for m in members])
    described = [{**m, "owns": [c for c in m["classes"] if owners[c] == i]}
                 for i, m in enumerate(members)]
    return {"classes": list(owners), "members": described}


# What ``open_detector`` gives and every consumer takes: one model or several.
AnyDetector = Detector | DetectorEnsemble
