from __future__ import annotations

import numpy as np

from linepatrol.annotate import colour_for, crop_box, draw_detections
from linepatrol.detections import Detections


def test_draw_marks_the_box_in_its_severity_colour() -> None:
    img = np.zeros((200, 300, 3), np.uint8)
    d = Detections(np.array([[50, 60, 150, 160]]), np.array([0.9]), np.array([0]),
                   ("foreign_object",))
    out = draw_detections(img, d)
    assert img.sum() == 0  # the input is not modified
    assert tuple(out[110, 50]) == colour_for("foreign_object")  # left edge of the box
    assert out[110, 100].sum() == 0  # inside stays untouched


def test_crop_keeps_context_and_stays_inside() -> None:
    img = np.zeros((100, 200, 3), np.uint8)
    crop = crop_box(img, (10, 10, 30, 20), context=0.5, min_side=8)
    assert crop.shape[:2] == (20, 40)
    edge = crop_box(img, (190, 90, 200, 100), min_side=64)
    assert edge.shape[0] <= 100 and edge.shape[1] <= 200 and edge.size > 0
