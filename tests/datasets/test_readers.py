"""Each reader turns its format into the same Samples, with exact pixel coordinates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_builders import (
    background,
    labelme_json,
    make_cplid_like,
    voc_xml,
    yolo_txt,
)

from linepatrol_datasets.model import Box, IssueKind
from linepatrol_datasets.readers import read_dataset
from linepatrol_datasets.readers.coco import read_coco
from linepatrol_datasets.readers.labelme import read_labelme
from linepatrol_datasets.readers.voc import read_voc
from linepatrol_datasets.readers.yolo import read_yolo


def kinds(dataset) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {k.value: n for k, n in dataset.issue_counts().items()}


def test_voc_devkit_layout(tmp_path: Path) -> None:
    background(tmp_path / "JPEGImages/a.jpg", 1, 100, 80)
    voc_xml(tmp_path / "Annotations/a.xml", "a.jpg", 100, 80,
            [("bird_nest", 10, 12, 40, 50), ("tower", 50, 0, 99, 80)])
    ds = read_voc(tmp_path)
    assert kinds(ds) == {}
    [sample] = ds.samples
    assert sample.image_path == tmp_path / "JPEGImages/a.jpg"
    assert (sample.width, sample.height) == (100, 80)
    assert sample.boxes == [Box("bird_nest", 10, 12, 40, 50), Box("tower", 50, 0, 99, 80)]


def test_voc_cplid_split_xml_is_merged_per_image(tmp_path: Path) -> None:
    root = make_cplid_like(tmp_path, normal=3)
    ds = read_voc(root)
    assert kinds(ds) == {}
    assert len(ds.samples) == 3 + 6
    assert ds.class_counts() == {"insulator": 9, "defect": 6}
    sample = next(s for s in ds.samples if s.image_path.name == "000.jpg")
    assert sorted(b.class_name for b in sample.boxes) == ["defect", "insulator"]
    assert sorted(p.parent.name for p in sample.label_paths) == ["defect", "insulator"]
    defect = next(b for b in sample.boxes if b.class_name == "defect")
    assert (defect.x1, defect.y1, defect.x2, defect.y2) == (20, 30, 60, 54)


def test_coco(tmp_path: Path) -> None:
    background(tmp_path / "img/a.jpg", 1, 100, 80)
    background(tmp_path / "img/empty.jpg", 2, 100, 80)
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
                   {"id": 2, "file_name": "empty.jpg", "width": 100, "height": 80},
                   {"id": 3, "file_name": "missing.jpg", "width": 100, "height": 80}],
        "categories": [{"id": 7, "name": "excavator"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 20, 30, 40]},
            {"id": 2, "image_id": 99, "category_id": 7, "bbox": [1, 1, 5, 5]},
            {"id": 3, "image_id": 1, "category_id": 8, "bbox": [1, 1, 5, 5]},
            {"id": 4, "image_id": 1, "category_id": 7, "bbox": "oops"},
            {"id": 5, "image_id": 1, "category_id": 7, "bbox": [0, 0, 90, 70], "iscrowd": 1},
        ],
    }
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    ds = read_coco(path, tmp_path / "img")
    assert [s.image_path.name for s in ds.samples] == ["a.jpg", "empty.jpg"]
    assert ds.samples[0].boxes == [Box("excavator", 10, 20, 40, 60)]
    assert ds.samples[1].boxes == []  # listed without annotations: a real background image
    assert kinds(ds) == {"label_without_image": 2, "unknown_class": 1, "unreadable_label": 1,
                         "unsupported_shape": 1}
    assert ds.source_names == ["excavator"]


def test_coco_not_coco_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a COCO file"):
        read_coco(path)


@pytest.mark.parametrize("names_file", ["list", "dict", "classes.txt", "none"])
def test_yolo_names_and_split(tmp_path: Path, names_file: str) -> None:
    if names_file == "list":
        (tmp_path / "data.yaml").write_text("names: [insulator, bird_nest]\n", encoding="utf-8")
    elif names_file == "dict":
        (tmp_path / "data.yaml").write_text("names:\n  0: insulator\n  1: bird_nest\n",
                                            encoding="utf-8")
    elif names_file == "classes.txt":
        (tmp_path / "classes.txt").write_text("insulator\nbird_nest\n", encoding="utf-8")
    background(tmp_path / "images/train/a.jpg", 1, 200, 100)
    background(tmp_path / "images/val/b.jpg", 2, 200, 100)
    yolo_txt(tmp_path / "labels/train/a.txt", ["1 0.5 0.5 0.2 0.4", "0 0.25 0.25 0.1 0.1"])
    yolo_txt(tmp_path / "labels/val/b.txt", [])  # empty: a background image
    ds = read_yolo(tmp_path)
    assert kinds(ds) == {}
    a, b = ds.samples
    assert (a.split, b.split) == ("train", "val")
    first = "1" if names_file == "none" else "bird_nest"
    assert a.boxes[0] == Box(first, 80, 30, 120, 70)
    assert a.boxes[1].x1 == pytest.approx(40) and a.boxes[1].y2 == pytest.approx(30)
    assert b.boxes == []


def test_yolo_segment_line_becomes_its_bounding_box(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("corrosion\n", encoding="utf-8")
    background(tmp_path / "images/a.jpg", 1, 100, 100)
    yolo_txt(tmp_path / "labels/a.txt", ["0 0.1 0.2 0.5 0.1 0.3 0.6"])
    [sample] = read_yolo(tmp_path).samples
    assert sample.boxes[0].x1 == pytest.approx(10) and sample.boxes[0].x2 == pytest.approx(50)
    assert sample.boxes[0].y1 == pytest.approx(10) and sample.boxes[0].y2 == pytest.approx(60)


def test_labelme_shapes(tmp_path: Path) -> None:
    background(tmp_path / "a.jpg", 1, 100, 80)
    shapes = [
        {"label": "bird_nest", "shape_type": "rectangle", "points": [[40, 30], [10, 5]]},
        {"label": "foreign_object", "shape_type": "polygon",
         "points": [[50, 10], [70, 20], [60, 40]]},
        {"label": "damper", "shape_type": "circle", "points": [[80, 40], [85, 40]]},
        {"label": "pin_missing", "shape_type": "point", "points": [[5, 5]]},
    ]
    labelme_json(tmp_path / "a.json", "a.jpg", 100, 80, shapes)
    ds = read_labelme(tmp_path)
    [sample] = ds.samples
    assert sample.boxes == [Box("bird_nest", 10, 5, 40, 30), Box("foreign_object", 50, 10, 70, 40),
                            Box("damper", 75, 35, 85, 45)]
    assert kinds(ds) == {"unsupported_shape": 1}


def test_labelme_windows_image_path_and_fallback(tmp_path: Path) -> None:
    background(tmp_path / "photos/a.jpg", 1, 50, 40)
    labelme_json(tmp_path / "photos/a.json", "C:\\labelling\\a.jpg", 50, 40,
                 [{"label": "tower", "shape_type": "rectangle", "points": [[1, 1], [9, 9]]}])
    [sample] = read_labelme(tmp_path).samples
    assert sample.image_path.name == "a.jpg"


def test_read_dataset_dispatch_and_unknown_format(tmp_path: Path) -> None:
    background(tmp_path / "a.jpg", 1, 50, 40)
    voc_xml(tmp_path / "a.xml", "a", 50, 40, [("tower", 1, 1, 9, 9)])
    assert len(read_dataset("voc", tmp_path).samples) == 1
    with pytest.raises(ValueError, match="unknown format"):
        read_dataset("pascal", tmp_path)


def test_exif_rotated_image_uses_displayed_size(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "images/r.jpg"
    path.parent.mkdir(parents=True)
    img = Image.new("RGB", (120, 60), (90, 120, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when displayed: the labeller saw 60x120
    img.save(path, exif=exif)
    voc_xml(tmp_path / "r.xml", "r", 60, 120, [("tower", 5, 5, 55, 115)])
    ds = read_voc(tmp_path)
    assert (ds.samples[0].width, ds.samples[0].height) == (60, 120)
    assert kinds(ds) == {}
    assert IssueKind.SIZE_MISMATCH not in ds.issue_counts()
