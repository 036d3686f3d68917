"""Drawing detections on photos: evidence images and crops for reports and the review queue.

Box labels name the class in Chinese (the taxonomy's short name), drawn with a CJK font that
fontconfig finds (:mod:`linepatrol.fonts`); OpenCV's own fonts have no CJK glyphs. Where no such
font is installed the label is the English class key, in Pillow's built-in font.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from linepatrol import taxonomy
from linepatrol.detections import Detections
from linepatrol.fonts import cjk_font

# BGR colours by grade; components (not defects) in a neutral blue.
SEVERITY_BGR = {
    taxonomy.Severity.CRITICAL: (40, 40, 220),
    taxonomy.Severity.SERIOUS: (0, 140, 255),
    taxonomy.Severity.GENERAL: (0, 200, 230),
}
COMPONENT_BGR = (200, 140, 40)
# Label text height in pixels per square root of the image's long side. A thumbnail is shown
# near its own size and a 20 MP photo scaled down several times, so a fixed fraction of the side
# would be unreadable on the one or cover the other; the square root reads alike on both.
LABEL_SCALE = 1.1
MIN_LABEL_PX = 12

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
# One FreeType face is shared by every thread (the service draws in a thread pool), and FreeType
# faces are not safe to use from two threads at once.
_FONT_LOCK = threading.Lock()


@dataclass(frozen=True)
class BoxLabel:
    """A label as drawn: its text and its rectangle (x1, y1, x2, y2, exclusive), inside the
    image."""

    text: str
    rect: tuple[int, int, int, int]


def label_px(width: int, height: int) -> int:
    """The label text height for an image of this size (:data:`LABEL_SCALE`)."""
    return max(MIN_LABEL_PX, round(LABEL_SCALE * math.sqrt(max(width, height))))


@functools.lru_cache(maxsize=32)
def _font(size: int) -> Font:
    face = cjk_font()
    if face is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(face.path), size, index=face.index)


def label_text(key: str, confidence: float) -> str:
    """``鸟巢 0.87``: the class's Chinese short name and the confidence; the English key where
    no CJK font is installed, or for a class the taxonomy does not know."""
    info = taxonomy.BY_KEY.get(key)
    name = info.zh if info is not None and cjk_font() is not None else key
    return f"{name} {confidence:.2f}"


def _measure(text: str, size: int) -> tuple[Font, tuple[int, int, int, int], int]:
    font = _font(size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    return font, (left, top, right, bottom), max(1, size // 6)


def draw_label(pixels: npt.NDArray[np.uint8], box: Sequence[int], text: str,
               colour: tuple[int, int, int], size: int | None = None) -> BoxLabel:
    """``text`` on a ``colour`` plate above the box (inside its top where the image ends above
    it), moved left, and shrunk where it is wider than the image, so that the whole plate lies
    inside the image.

    ``pixels`` (height x width x 3) is drawn on in place, in its own channel order, which
    ``colour`` is given in (BGR for OpenCV's arrays)."""
    h, w = pixels.shape[:2]
    size = size or label_px(w, h)
    luminance = 0.114 * colour[0] + 0.587 * colour[1] + 0.299 * colour[2]  # BGR
    ink = (0, 0, 0) if luminance > 150 else (255, 255, 255)
    with _FONT_LOCK:
        font, (left, top, right, bottom), pad = _measure(text, size)
        if right - left + 2 * pad > w:  # wider than the image: the size that fits
            size = max(6, math.floor(size * w / (right - left + 2 * pad)))
            font, (left, top, right, bottom), pad = _measure(text, size)
        tw, th = min(w, right - left + 2 * pad), min(h, bottom - top + 2 * pad)
        plate = Image.new("RGB", (tw, th), colour)
        ImageDraw.Draw(plate).text((pad - left, pad - top), text, fill=ink, font=font)
    x1, y1 = int(box[0]), int(box[1])
    lx = min(max(0, x1), w - tw)
    ly = min(y1 - th if y1 - th >= 0 else max(0, y1), h - th)
    pixels[ly:ly + th, lx:lx + tw] = np.asarray(plate, dtype=np.uint8)
    return BoxLabel(text, (lx, ly, lx + tw, ly + th))


def colour_for(key: str) -> tuple[int, int, int]:
    severity = taxonomy.severity_of(key)
    return SEVERITY_BGR[severity] if severity else COMPONENT_BGR


def draw_detections(
    image: npt.NDArray[np.uint8], detections: Detections, thickness: int | None = None
) -> npt.NDArray[np.uint8]:
    """A copy of ``image`` with each box and its ``name confidence`` label drawn on it.

    Line width and text size follow the photo's size, so a 20 MP photo stays readable when
    shown scaled down.
    """
    out = image.copy()
    h, w = out.shape[:2]
    t = thickness or max(2, round(max(h, w) / 600))
    order = np.argsort(detections.confidence, kind="stable")  # best drawn last, on top
    for i in order:
        x1, y1, x2, y2 = (round(float(v)) for v in detections.xyxy[i])
        key = detections.names[int(detections.class_id[i])]
        colour = colour_for(key)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, t, cv2.LINE_AA)
        draw_label(out, (x1, y1, x2, y2), label_text(key, float(detections.confidence[i])),
                   colour)
    return out


def crop_box(
    image: npt.NDArray[np.uint8],
    xyxy: tuple[float, float, float, float],
    context: float = 0.5,
    min_side: int = 96,
) -> npt.NDArray[np.uint8]:
    """The box with ``context`` (fraction of its size) around it, at least ``min_side`` px.

    A reviewer needs to see what surrounds a missing cap to judge it, not the cap alone.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = xyxy
    bw, bh = max(1.0, x2 - x1), max(1.0, y2 - y1)
    half_w = max(bw * (1 + 2 * context), min_side) / 2
    half_h = max(bh * (1 + 2 * context), min_side) / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a = max(0, int(cx - half_w))
    b = max(0, int(cy - half_h))
    c = min(w, int(np.ceil(cx + half_w)))
    d = min(h, int(np.ceil(cy + half_h)))
    return np.ascontiguousarray(image[b:d, a:c])
