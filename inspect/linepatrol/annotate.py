"""Drawing detections on photos: evidence images and crops for reports and the review queue.

OpenCV's built-in fonts have no CJK glyphs, so labels on pixels use the English class key; the
Chinese names appear in the reports and the interface, which render text properly.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol import taxonomy
from linepatrol.detections import Detections

# BGR colours by grade; components (not defects) in a neutral blue.
SEVERITY_BGR = {
    taxonomy.Severity.CRITICAL: (40, 40, 220),
    taxonomy.Severity.SERIOUS: (0, 140, 255),
    taxonomy.Severity.GENERAL: (0, 200, 230),
}
COMPONENT_BGR = (200, 140, 40)


def colour_for(key: str) -> tuple[int, int, int]:
    severity = taxonomy.severity_of(key)
    return SEVERITY_BGR[severity] if severity else COMPONENT_BGR


def draw_detections(
    image: npt.NDArray[np.uint8], detections: Detections, thickness: int | None = None
) -> npt.NDArray[np.uint8]:
    """A copy of ``image`` with each box and its ``class confidence`` label drawn on it.

    Line width and text size follow the photo's size, so a 20 MP photo stays readable when
    shown scaled down.
    """
    out = image.copy()
    h, w = out.shape[:2]
    t = thickness or max(2, round(max(h, w) / 600))
    scale = max(0.5, max(h, w) / 1600)
    order = np.argsort(detections.confidence, kind="stable")  # best drawn last, on top
    for i in order:
        x1, y1, x2, y2 = (round(float(v)) for v in detections.xyxy[i])
        key = detections.names[int(detections.class_id[i])]
        colour = colour_for(key)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, t, cv2.LINE_AA)
        label = f"{key} {float(detections.confidence[i]):.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, t // 2))
        ty = y1 - 4 if y1 - th - base - 4 >= 0 else y2 + th + base + 4
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw + 4, ty + base // 2), colour, -1)
        cv2.putText(out, label, (x1 + 2, ty - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, t // 2), cv2.LINE_AA)
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
