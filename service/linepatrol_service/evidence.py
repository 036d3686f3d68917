"""Evidence images: crops around a defect, annotated full photos, thumbnails (JPEG bytes).

Derived images are cached next to the photo store, keyed by the photo's hash and what was
drawn, so a review queue that pages back and forth does not decode 20 MP photos again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol.images import read_image

BOX_COLOUR = (0, 0, 255)  # BGR red
JPEG_QUALITY = 88


def _encode(pixels: npt.NDArray[np.uint8]) -> bytes:
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf)


def _fit(pixels: npt.NDArray[np.uint8], max_side: int) -> npt.NDArray[np.uint8]:
    h, w = pixels.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return pixels
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _draw(pixels: npt.NDArray[np.uint8], boxes: Sequence[dict[str, Any]], scale: float) -> None:
    thick = max(2, round(max(pixels.shape[:2]) / 400))
    for b in boxes:
        x1, y1, x2, y2 = (round(v * scale) for v in b["xyxy"])
        cv2.rectangle(pixels, (x1, y1), (x2, y2), BOX_COLOUR, thick)
        label = f"{b.get('class', '')} {b.get('confidence', 0):.2f}".strip()
        cv2.putText(pixels, label, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thick, BOX_COLOUR, max(1, thick // 2), cv2.LINE_AA)


def thumbnail(photo: Path, max_side: int) -> bytes:
    img = read_image(photo, min_size=(max_side, max_side))
    return _encode(_fit(img.pixels, max_side))


def annotated(photo: Path, boxes: Sequence[dict[str, Any]], max_side: int = 2048) -> bytes:
    img = read_image(photo, min_size=(max_side, max_side))
    pixels = _fit(img.pixels, max_side).copy()
    _draw(pixels, boxes, pixels.shape[1] / img.width)
    return _encode(pixels)


def crop(photo: Path, xyxy: Sequence[float], margin: float = 0.5, min_side: int = 96) -> bytes:
    """The box with ``margin`` of its size around it (context helps the reviewer), outlined."""
    img = read_image(photo)
    px = img.pixels
    scale = px.shape[1] / img.width
    x1, y1, x2, y2 = (v * scale for v in xyxy)
    bw, bh = max(x2 - x1, min_side / 2), max(y2 - y1, min_side / 2)
    cx1 = int(max(0, x1 - bw * margin))
    cy1 = int(max(0, y1 - bh * margin))
    cx2 = int(min(px.shape[1], x2 + bw * margin))
    cy2 = int(min(px.shape[0], y2 + bh * margin))
    out = px[cy1:cy2, cx1:cx2].copy()
    if out.size == 0:
        raise ValueError("the box lies outside the photo")
    thick = max(1, round(max(out.shape[:2]) / 300))
    cv2.rectangle(out, (round(x1 - cx1), round(y1 - cy1)), (round(x2 - cx1), round(y2 - cy1)),
                  BOX_COLOUR, thick)
    return _encode(out)


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
