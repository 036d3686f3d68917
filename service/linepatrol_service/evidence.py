"""Evidence images: annotated full photos and thumbnails (JPEG bytes); crops come from
:func:`linepatrol.report.crops.crop_jpeg`, which the reports embed too.

Derived images are cached next to the photo store, keyed by the photo's hash and what was
drawn, so a review queue that pages back and forth does not decode 20 MP photos again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol.annotate import BoxLabel, draw_label, label_text
from linepatrol.fonts import cjk_font
from linepatrol.images import read_image
from linepatrol.report.crops import BOX_COLOUR, encode_jpeg


def _fit(pixels: npt.NDArray[np.uint8], max_side: int) -> npt.NDArray[np.uint8]:
    h, w = pixels.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return pixels
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def draw_boxes(pixels: npt.NDArray[np.uint8], boxes: Sequence[Mapping[str, Any]],
               scale: float) -> list[BoxLabel]:
    """Each box outlined and labelled with its class's Chinese short name (the core's
    :func:`~linepatrol.annotate.draw_label`: sized for the image, kept inside it)."""
    thick = max(2, round(max(pixels.shape[:2]) / 400))
    for b in boxes:
        x1, y1, x2, y2 = (round(v * scale) for v in b["xyxy"])
        cv2.rectangle(pixels, (x1, y1), (x2, y2), BOX_COLOUR, thick)
    return [draw_label(pixels, [round(v * scale) for v in b["xyxy"]],
                       label_text(str(b.get("class", "")), float(b.get("confidence", 0))),
                       BOX_COLOUR)
            for b in boxes]


def label_style() -> str:
    """What the box labels look like here, for the cache key of annotated images: a copy cached
    before a CJK font was installed (English keys) or before the labels changed is not served."""
    return "zh-2" if cjk_font() is not None else "en-2"


def thumbnail(photo: Path, max_side: int) -> bytes:
    img = read_image(photo, min_size=(max_side, max_side))
    return encode_jpeg(_fit(img.pixels, max_side))


def annotated(photo: Path, boxes: Sequence[Mapping[str, Any]], max_side: int = 2048) -> bytes:
    img = read_image(photo, min_size=(max_side, max_side))
    pixels = _fit(img.pixels, max_side).copy()
    draw_boxes(pixels, boxes, pixels.shape[1] / img.width)
    return encode_jpeg(pixels)


class DerivedCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def get(self, sha256: str, kind: str, params: Any, make: Callable[[], bytes]) -> bytes:
        key = hashlib.sha256(json.dumps([kind, params], sort_keys=True).encode()).hexdigest()
        path = self.root / sha256[:2] / f"{sha256}-{kind}-{key[:16]}.jpg"
        if path.is_file():
            return path.read_bytes()
        data = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return data
