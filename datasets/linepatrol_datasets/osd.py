"""On-screen-display text as tower cameras burn it into their frames.

Corridor cameras print the date and time, their battery voltage, their name and coordinates
over every frame. A detector must never report such text (one read "8.4V" as an excavator),
so the text is both a hard negative stamped on training photos and a check of trained models
(:mod:`linepatrol_models.suite`). Hershey fonts: OpenCV's own, nothing to download, ASCII only,
as many cameras print.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol.boxes import MatchMetric, overlap_matrix

TextBox = tuple[int, int, int, int]  # xyxy pixels

_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN,
          cv2.FONT_HERSHEY_COMPLEX)
# The check's layout: date and time top left, voltage under it, name bottom right,
# coordinates bottom left (fractions of width and height of each text's baseline start).
_CHECK_LAYOUT = ((0.02, 0.06), (0.02, 0.12), (0.70, 0.94), (0.02, 0.94))


def osd_lines(rng: np.random.Generator) -> list[str]:
    """Date and time, battery voltage, camera name and tower, coordinates."""
    day = f"2026-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
    clock = f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:{rng.integers(0, 60):02d}"
    return [f"{day} {clock}", f"{rng.uniform(6.0, 13.0):.1f}V",
            f"CAM-{rng.integers(1, 999)} N{rng.integers(1, 300)}",
            f"E{rng.uniform(100, 122):.5f} N{rng.uniform(20, 45):.5f}"]


def stamp_osd(image: npt.NDArray[np.uint8], rng: np.random.Generator, varied: bool = False
              ) -> tuple[npt.NDArray[np.uint8], list[TextBox]]:
    """The photo with OSD text, and each text's box. The fixed layout is the check's;
    ``varied`` (for training photos) draws place, font and size at random, so a model learns
    text in general rather than four positions."""
    out = image.copy()
    h, w = out.shape[:2]
    base_scale = max(h, w) / 1400.0
    boxes: list[TextBox] = []
    for i, text in enumerate(osd_lines(rng)):
        if varied:
            font = int(_FONTS[rng.integers(len(_FONTS))])
            scale = base_scale * float(rng.uniform(0.6, 1.8))
            fx, fy = float(rng.uniform(0.0, 0.8)), float(rng.uniform(0.05, 0.98))
        else:
            font, scale = cv2.FONT_HERSHEY_SIMPLEX, base_scale
            fx, fy = _CHECK_LAYOUT[i]
        thick = max(1, round(2 * scale))
        (tw, th), base = cv2.getTextSize(text, font, scale, thick)
        x = min(int(fx * w), max(w - tw - 2, 0))
        y = max(int(fy * h), th + 2)
        cv2.putText(out, text, (x, y), font, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(out, text, (x, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
        boxes.append((x, max(y - th - 2, 0), min(x + tw, w), min(y + base + 2, h)))
    return out, boxes


def on_text(boxes: npt.NDArray[np.floating], texts: list[TextBox],
            threshold: float = 0.5) -> npt.NDArray[np.bool_]:
    """Per box (xyxy rows): whether it lies mostly on a text or holds one mostly, by the
    core's intersection over the smaller box."""
    if len(boxes) == 0 or not texts:
        return np.zeros(len(boxes), dtype=bool)
    ios = overlap_matrix(boxes, np.asarray(texts, dtype=np.float64), MatchMetric.IOS)
    return np.asarray((ios >= threshold).any(axis=1), dtype=bool)
