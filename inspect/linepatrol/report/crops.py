"""Evidence crops: the defect's box with context around it, outlined, as JPEG bytes.

One function for the service's review queue and the reports of both sides, so a crop e-mailed
in an HTML report is the crop the reviewer judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol.images import read_image

BOX_COLOUR = (0, 0, 255)  # BGR red
JPEG_QUALITY = 88


def encode_jpeg(pixels: npt.NDArray[np.uint8]) -> bytes:
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf)


def crop_jpeg(photo: Path, xyxy: Sequence[float], margin: float = 0.5,
              min_side: int = 96) -> bytes:
    """The box with ``margin`` of its size around it (context helps the reviewer), outlined.

    Raises :class:`linepatrol.images.ImageError` for an unreadable photo and ``ValueError``
    for a box outside it.
    """
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
    return encode_jpeg(out)
