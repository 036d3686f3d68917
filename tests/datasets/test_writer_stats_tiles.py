"""YOLO output, statistics and tiles, checked number by number."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from dataset_builders import background, texture, write_image

from linepatrol.slicing import Tile
from linepatrol_datasets.model import Box, Sample
from linepatrol_datasets.readers.yolo import read_yolo
from linepatrol_datasets.stats import compute_stats, stats_text
from linepatrol_datasets.tiling import TileOptions, boxes_in_tile, slice_dataset
from linepatrol_datasets.yolo_writer import (
    OutputExistsError,
    prepare_out,
    unique_names,
    write_yolo,
    yolo_line,
)

NAMES = ["insulator", "insulator_missing_cap"]


def test_yolo_line() -> None:
    line = yolo_line(Box("x", 10, 20, 50, 100), 1, 200, 100)
    assert line == "1 0.150000 0.600000 0.200000 0.800000"


def test_unique_names_disambiguate_by_path(tmp_path: Path) -> None:
    paths = [tmp_path / "a/images/1.jpg", tmp_path / "b/images/1.jpg", tmp_path / "b/2.jpg"]
    assert unique_names(paths, tmp_path) == ["a__images__1.jpg", "b__images__1.jpg", "2.jpg"]


def test_write_then_read_back(tmp_path: Path) -> None:
    background(tmp_path / "src/a.jpg", 1, 160, 120)
    background(tmp_path / "src/b.jpg", 2, 160, 120)
    samples = [
        Sample(tmp_path / "src/a.jpg", 160, 120,
               [Box("insulator", 8, 12, 100, 60), Box("insulator_missing_cap", 40, 30, 56, 42)],
               split="train"),
        Sample(tmp_path / "src/b.jpg", 160, 120, [], split="val"),
    ]
    out = tmp_path / "out"
    result = write_yolo(samples, out, NAMES, root=tmp_path / "src",
                        extra_manifest=[{"group": 0}, {"group": 1}])
    assert result.images == {"train": 1, "val": 1}
    assert (out / "labels/train/a.txt").read_text().splitlines() == [
        "0 0.337500 0.300000 0.575000 0.400000", "1 0.300000 0.300000 0.100000 0.100000"]
    assert (out / "labels/val/b.txt").read_text() == ""
    import yaml

    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data == {"train": "images/train", "val": "images/val",
                    "names": {0: "insulator", 1: "insulator_missing_cap"}}  # no path: movable
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest[0]["source"].endswith("src/a.jpg") and manifest[1]["group"] == 1

    back = read_yolo(out)
    assert back.issues == []
    a = next(s for s in back.samples if s.image_path.stem == "a")
    assert a.split == "train"
    for got, want in zip(a.boxes, samples[0].boxes, strict=True):
        assert got.class_name == want.class_name
        assert (got.x1, got.y1, got.x2, got.y2) == pytest.approx(
            (want.x1, want.y1, want.x2, want.y2), abs=1e-3)


def test_ultralytics_reads_what_we_write(tmp_path: Path) -> None:
    from ultralytics.data.utils import check_det_dataset, verify_image_label

    background(tmp_path / "a.jpg", 1, 160, 120)
    samples = [Sample(tmp_path / "a.jpg", 160, 120, [Box("insulator", 0, 0, 160, 30)],
                      split=side) for side in ("train",)]
    write_yolo(samples, tmp_path / "out", NAMES)
    data = check_det_dataset(str(tmp_path / "out/data.yaml"))
    assert data["names"] == {0: "insulator", 1: "insulator_missing_cap"}
    checked = verify_image_label((str(tmp_path / "out/images/train/a.jpg"),
                                  str(tmp_path / "out/labels/train/a.txt"), "", False, 2, 0, 0,
                                  False))
    assert checked[0] is not None and len(checked[1]) == 1  # image ok, one label, no error


def test_refuses_to_overwrite_and_overwrites_only_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        prepare_out(out, overwrite=False)
    prepare_out(out, overwrite=True)
    assert not (out / "images").exists() and (out / "notes.txt").read_text() == "mine"


def test_stats_numbers() -> None:
    samples = [
        Sample(Path("a.jpg"), 100, 100, [Box("insulator", 0, 0, 50, 50),
                                         Box("insulator_missing_cap", 0, 0, 10, 10)], split="train"),
        Sample(Path("b.jpg"), 200, 100, [Box("insulator", 0, 0, 20, 10)], split="val"),
        Sample(Path("c.jpg"), 100, 100, [], split="val"),
    ]
    stats = compute_stats(samples, imgsz=50)
    assert stats["images"] == 3 and stats["boxes"] == 3 and stats["background_images"] == 1
    assert stats["images_per_split"] == {"train": 1, "val": 2}
    ins = stats["classes"]["insulator"]
    assert ins["boxes"] == 2 and ins["images"] == 2
    # relative sizes: sqrt(2500/10000) = 0.5 and sqrt(200/20000) = 0.1
    assert ins["relative_size"]["p50"] == pytest.approx(0.3)
    assert ins["relative_size_histogram"]["0.08-0.16"] == 1
    assert ins["relative_size_histogram"]["0.32-0.64"] == 1
    # short side at imgsz 50: 50 px * 0.5 = 25 and 10 px * 0.25 = 2.5
    assert ins["short_side_px_at_imgsz"]["p5"] == pytest.approx(3.625)
    cap = stats["classes"]["insulator_missing_cap"]
    assert cap["width_fraction"]["p50"] == pytest.approx(0.1)
    assert "insulator_missing_cap" in stats_text(stats)


def test_boxes_in_tile() -> None:
    tile = Tile(100, 0, 200, 100)
    boxes = [
        Box("a", 120, 10, 140, 30),   # inside
        Box("b", 90, 10, 130, 30),    # 75 % inside: kept, clipped
        Box("c", 60, 10, 110, 30),    # 20 % inside: dropped remnant
        Box("d", 0, 0, 50, 50),       # elsewhere: ignored
    ]
    kept, dropped = boxes_in_tile(boxes, tile, 0.5)
    assert kept == [Box("a", 20, 10, 40, 30), Box("b", 0, 10, 30, 30)]
    assert dropped == 1
    kept, dropped = boxes_in_tile(boxes, tile, 0.1)
    assert len(kept) == 3 and dropped == 0


def test_slice_dataset_writes_tiles_and_labels(tmp_path: Path) -> None:
    pixels = texture(5, 300, 200)
    write_image(tmp_path / "big.jpg", pixels)
    sample = Sample(tmp_path / "big.jpg", 300, 200,
                    [Box("insulator_missing_cap", 20, 20, 60, 60),
                     Box("insulator", 150, 150, 290, 195)], split="val")
    out = tmp_path / "tiles"
    out.mkdir()
    result = slice_dataset([sample], out, NAMES, TileOptions(tile=128, overlap=0.25,
                                                              min_visible=0.5, keep_empty=False))
    assert result.tiles["val"] > 0 and result.empty_skipped > 0
    label = (out / "labels/val/big_x0_y0.txt").read_text().split()
    assert label == ["1", f"{40 / 128:.6f}", f"{40 / 128:.6f}", f"{40 / 128:.6f}",
                     f"{40 / 128:.6f}"]
    tile = cv2.imread(str(out / "images/val/big_x0_y0.jpg"))
    assert tile.shape[:2] == (128, 128)
    back = read_yolo(out)
    assert back.issues == [] and all(s.split == "val" for s in back.samples)
    assert sum(len(s.boxes) for s in back.samples) == sum(result.boxes.values())
