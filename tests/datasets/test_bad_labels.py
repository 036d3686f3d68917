"""Every kind of bad label is reported per file, counted, and the good labels go on."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import background, voc_xml, yolo_txt

from linepatrol_datasets.model import Box, Issue, IssueKind
from linepatrol_datasets.readers.common import ReadOptions
from linepatrol_datasets.readers.voc import read_voc
from linepatrol_datasets.readers.yolo import read_yolo
from linepatrol_datasets.validate import clean_boxes


def clean(raw: list[tuple[str, float, float, float, float]], tolerance: float = 0.01
          ) -> tuple[list[Box], list[Issue]]:
    issues: list[Issue] = []
    return clean_boxes(raw, 200, 100, Path("x.xml"), issues, tolerance), issues


def test_box_rule() -> None:
    boxes, issues = clean([
        ("a", 10, 10, 50, 50),      # fine
        ("b", -1.5, 5, 201.9, 60),  # within 2 px of the edges: clipped and kept
        ("c", 150, 20, 230, 60),    # 30 px past the right edge: dropped
        ("d", 40, 40, 40, 60),      # zero width
        ("e", 60, 50, 50, 70),      # inverted
        ("f", 198, 98, 201, 101.5),  # fully inside the tolerance band, area left: clipped
    ])
    assert [b.class_name for b in boxes] == ["a", "b", "f"]
    assert boxes[1] == Box("b", 0, 5, 200, 60)
    assert [i.kind for i in issues] == [
        IssueKind.BOX_CLIPPED, IssueKind.BOX_OUTSIDE, IssueKind.ZERO_AREA, IssueKind.ZERO_AREA,
        IssueKind.BOX_CLIPPED,
    ]
    assert all(i.file == Path("x.xml") for i in issues)


def test_tolerance_scales_with_the_image() -> None:
    boxes, issues = clean([("a", -8, 0, 50, 50)], tolerance=0.05)  # 5 % of 200 px = 10 px
    assert boxes == [Box("a", 0, 0, 50, 50)] and issues[0].kind is IssueKind.BOX_CLIPPED
    boxes, issues = clean([("a", -8, 0, 50, 50)], tolerance=0.01)
    assert boxes == [] and issues[0].kind is IssueKind.BOX_OUTSIDE


def test_box_entirely_outside_within_tolerance_has_no_area() -> None:
    boxes, issues = clean([("a", 200.5, 10, 201.5, 20)])
    assert boxes == [] and issues[0].kind is IssueKind.ZERO_AREA


def test_rounding_is_not_reported() -> None:
    boxes, issues = clean([("a", 0, 0, 200.0004, 100.0002)])
    assert boxes == [Box("a", 0, 0, 200, 100)] and issues == []


@pytest.fixture
def messy_voc(tmp_path: Path) -> Path:
    """Good, bad and missing files side by side."""
    for name in ("good", "outside", "zero", "broken", "nolabel", "sizewrong", "empty"):
        background(tmp_path / "images" / f"{name}.jpg", hash(name) % 1000, 100, 80)
    (tmp_path / "images/corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    labels = tmp_path / "labels"
    voc_xml(labels / "good.xml", "good", 100, 80, [("tower", 1, 1, 50, 50)])
    voc_xml(labels / "outside.xml", "outside", 100, 80,
            [("tower", 1, 1, 50, 50), ("tower", 60, 10, 150, 40)])
    voc_xml(labels / "zero.xml", "zero", 100, 80, [("tower", 10, 10, 10, 40)])
    (labels / "broken.xml").write_text("<annotation><object>", encoding="utf-8")
    voc_xml(labels / "orphan.xml", "orphan", 100, 80, [("tower", 1, 1, 5, 5)])
    voc_xml(labels / "sizewrong.xml", "sizewrong", 640, 480, [("tower", 1, 1, 5, 5)])
    voc_xml(labels / "empty.xml", "empty", 100, 80, [])
    voc_xml(labels / "corrupt.xml", "corrupt", 100, 80, [("tower", 1, 1, 5, 5)])
    return tmp_path


def test_each_bad_case_reported_per_file(messy_voc: Path) -> None:
    ds = read_voc(messy_voc)
    by_file = {(i.file.name, i.kind) for i in ds.issues}
    assert by_file == {
        ("outside.xml", IssueKind.BOX_OUTSIDE),
        ("zero.xml", IssueKind.ZERO_AREA),
        ("broken.xml", IssueKind.UNREADABLE_LABEL),
        ("orphan.xml", IssueKind.LABEL_WITHOUT_IMAGE),
        ("nolabel.jpg", IssueKind.IMAGE_WITHOUT_LABEL),
        ("sizewrong.xml", IssueKind.SIZE_MISMATCH),
        ("corrupt.jpg", IssueKind.UNREADABLE_IMAGE),
    }
    names = {s.image_path.stem: len(s.boxes) for s in ds.samples}
    # the good ones go on: the in-image box of outside.xml is kept; zero.xml and empty.xml are
    # images with no boxes left (kept: their label files exist and say "nothing valid here")
    assert names == {"good": 1, "outside": 1, "zero": 0, "sizewrong": 1, "empty": 0}


def test_unlabelled_images_can_be_kept_as_background(messy_voc: Path) -> None:
    ds = read_voc(messy_voc, ReadOptions(unlabelled_as_background=True))
    assert "nolabel" in {s.image_path.stem for s in ds.samples}
    assert ds.issue_counts()[IssueKind.IMAGE_WITHOUT_LABEL] == 1


def test_xml_entity_bomb_is_refused(tmp_path: Path) -> None:
    background(tmp_path / "a.jpg", 1, 50, 40)
    (tmp_path / "a.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxxxx">'
        '<!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]><annotation><filename>&y;</filename>'
        "</annotation>", encoding="utf-8")
    ds = read_voc(tmp_path)
    assert [(i.file.name, i.kind) for i in ds.issues] == [("a.xml", IssueKind.UNREADABLE_LABEL)]
    assert "EntitiesForbidden" in ds.issues[0].detail or "entit" in ds.issues[0].detail.lower()
    assert ds.samples == []


def test_yolo_bad_lines_and_orphans(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("tower\n", encoding="utf-8")
    background(tmp_path / "images/a.jpg", 1, 100, 100)
    background(tmp_path / "images/lonely.jpg", 2, 100, 100)
    yolo_txt(tmp_path / "labels/a.txt", [
        "0 0.5 0.5 0.2 0.2",   # good
        "3 0.5 0.5 0.2 0.2",   # class id out of range
        "0 0.5 0.5",           # too few numbers
        "zero 0.5 0.5 0.1 0.1",  # not a number
        "0 1.5 0.5 0.2 0.2",   # far outside
        "0 0.5 0.5 0 0.2",     # zero width
    ])
    yolo_txt(tmp_path / "labels/ghost.txt", ["0 0.5 0.5 0.1 0.1"])
    ds = read_yolo(tmp_path)
    counts = {k.value: n for k, n in ds.issue_counts().items()}
    assert counts == {"unknown_class": 1, "unreadable_label": 2, "box_outside": 1,
                      "zero_area": 1, "label_without_image": 1, "image_without_label": 1}
    [sample] = ds.samples
    assert len(sample.boxes) == 1
    assert {i.file.name for i in ds.issues} == {"a.txt", "ghost.txt", "lonely.jpg"}
