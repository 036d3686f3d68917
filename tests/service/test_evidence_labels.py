"""Box labels on the evidence images (the flight page's thumbnails, the annotated photo): the
class's Chinese short name, legible at the thumbnail's size, and wholly inside the image."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from linepatrol import annotate, fonts
from linepatrol.report.crops import BOX_COLOUR
from linepatrol_service import evidence

W, H = 480, 360  # the flight page's thumbnails: size=480, shown at half that


def needs_cjk_font() -> None:
    if fonts.cjk_font() is None:
        message = "no CJK font (fontconfig :lang=zh); scripts/setup-browser.sh installs one"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI=true forbids skipping", pytrace=False)
        pytest.skip(message)


def blank() -> np.ndarray:
    return np.full((H, W, 3), 90, np.uint8)


def test_label_is_the_chinese_short_name_inside_the_image() -> None:
    needs_cjk_font()
    # Boxes against every edge: the label can go neither above the first nor past the right.
    boxes = [{"class": "bird_nest", "confidence": 0.874, "xyxy": [0, 0, 60, 40]},
             {"class": "insulator_missing_cap", "confidence": 0.5, "xyxy": [440, 300, 480, 360]},
             {"class": "truck_crane", "confidence": 0.9, "xyxy": [200, 150, 300, 220]}]
    pixels = blank()
    labels = evidence.draw_boxes(pixels, boxes, 1.0)
    assert [lab.text for lab in labels] == ["鸟巢 0.87", "绝缘子自爆/缺片 0.50", "吊车 0.90"]
    for lab in labels:
        x1, y1, x2, y2 = lab.rect
        assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H, lab
        # readable when the thumbnail is shown at half size: 11 CSS px or more
        assert (y2 - y1) / 2 >= 11, lab
        plate = pixels[y1:y2, x1:x2].reshape(-1, 3)
        assert (plate == BOX_COLOUR).all(axis=1).mean() > 0.5  # the label's plate
        assert (plate == (255, 255, 255)).all(axis=1).any()  # and its text
    # the middle box has room above it: its label sits on the box's top edge, not inside it
    assert labels[2].rect[3] == 150 and labels[2].rect[0] == 200


def test_chinese_glyphs_are_drawn_not_blank_boxes() -> None:
    needs_cjk_font()
    # A font without the glyphs draws the same empty box for every character: two names of
    # two characters each would then look alike.
    a, b = blank(), blank()
    la = annotate.draw_label(a, (100, 100, 200, 200), "鸟巢 0.90", BOX_COLOUR)
    lb = annotate.draw_label(b, (100, 100, 200, 200), "锈蚀 0.90", BOX_COLOUR)
    assert la.rect == lb.rect and not np.array_equal(a, b)


def test_label_too_wide_for_the_image_shrinks_to_fit() -> None:
    pixels = np.zeros((40, 60, 3), np.uint8)
    lab = annotate.draw_label(pixels, (50, 30, 60, 40), "insulator_missing_cap 0.50", BOX_COLOUR)
    x1, y1, x2, y2 = lab.rect
    assert 0 <= x1 < x2 <= 60 and 0 <= y1 < y2 <= 40


def test_without_a_cjk_font_the_label_is_the_english_key(monkeypatch) -> None:
    monkeypatch.setattr(annotate, "cjk_font", lambda truetype=False: None)
    monkeypatch.setattr(evidence, "cjk_font", lambda truetype=False: None)
    annotate._font.cache_clear()
    try:
        pixels = blank()
        labels = evidence.draw_boxes(pixels, [{"class": "bird_nest", "confidence": 0.9,
                                               "xyxy": [400, 0, 480, 50]}], 1.0)
        assert labels[0].text == "bird_nest 0.90"
        x1, y1, x2, y2 = labels[0].rect
        assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
        assert evidence.label_style().startswith("en")
    finally:
        annotate._font.cache_clear()


def test_annotated_thumbnail_carries_the_label(tmp_path) -> None:
    needs_cjk_font()
    photo = tmp_path / "p.jpg"
    cv2.imwrite(str(photo), np.full((720, 960, 3), 90, np.uint8))
    data = evidence.annotated(photo, [{"class": "bird_nest", "confidence": 0.9,
                                       "xyxy": [400, 300, 600, 500]}], W)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (H, W)
    # the plate above the box (scaled by a half): red, up to the box's top edge
    top = 150
    patch = img[top - 8:top - 2, 205:215].reshape(-1, 3).astype(int)
    assert (np.abs(patch - BOX_COLOUR) < 60).all(axis=1).mean() > 0.5
