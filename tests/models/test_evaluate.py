"""``linepatrol evaluate`` through the core detector, on tiny ONNX models with known outputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from linepatrol.cli import main
from linepatrol.settings import CoreSettings
from linepatrol_models.evaluate import EvaluationError, evaluate_model
from support.tiny_onnx import make_yolo_onnx

CPU = CoreSettings(providers=["cpu"])

NAMES = ["insulator", "insulator_missing_cap"]
# (cx, cy, w, h, class) in pixels of a 64x64 photo, which the 64 px model sees 1:1
OBJECTS = [(20.0, 16.0, 24.0, 12.0, 0), (44.0, 44.0, 10.0, 8.0, 1)]


@pytest.fixture
def fixed_dataset(tmp_path: Path) -> Path:
    """Three 64x64 photos that all hold OBJECTS (the tiny models answer the same boxes)."""
    root = tmp_path / "ds"
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
        cv2.imwrite(str(root / "images" / "val" / f"p{i}.jpg"), img)
        (root / "labels" / "val" / f"p{i}.txt").write_text("".join(
            f"{c} {cx / 64} {cy / 64} {w / 64} {h / 64}\n" for cx, cy, w, h, c in OBJECTS))
    (root / "data.yaml").write_text(yaml.safe_dump(
        {"path": str(root), "train": "images/val", "val": "images/val",
         "names": dict(enumerate(NAMES))}))
    return root


def test_ground_truth_model_scores_one(fixed_dataset: Path, tmp_path: Path) -> None:
    model = make_yolo_onnx(tmp_path / "gt.onnx", NAMES,
                           [(cx, cy, w, h, c, 0.9) for cx, cy, w, h, c in OBJECTS])
    ev = evaluate_model(str(model), fixed_dataset, CPU, tile="off", speed_images=2)
    assert ev.metrics.map50 == pytest.approx(1.0)
    assert ev.metrics.map50_95 == pytest.approx(1.0)
    assert [(c.precision, c.recall) for c in ev.metrics.per_class] == [(1.0, 1.0)] * 2
    assert ev.metrics.images == 3


def test_shifted_boxes_lose_map(fixed_dataset: Path, tmp_path: Path) -> None:
    # the cap box is shifted by its own width: no overlap, a miss and a false positive
    boxes = [(20.0, 16.0, 24.0, 12.0, 0, 0.9), (54.0, 44.0, 10.0, 8.0, 1, 0.9)]
    model = make_yolo_onnx(tmp_path / "off.onnx", NAMES, boxes)
    ev = evaluate_model(str(model), fixed_dataset, CPU, tile="off", speed_images=1)
    ins, cap = ev.metrics.per_class
    assert ins.ap50 == pytest.approx(1.0)
    assert cap.ap50 == 0.0
    assert (cap.precision, cap.recall) == (0.0, 0.0)
    assert ev.metrics.map50 == pytest.approx(0.5)


def test_class_mismatch_is_a_clear_error(fixed_dataset: Path, tmp_path: Path) -> None:
    model = make_yolo_onnx(tmp_path / "other.onnx", ["bird_nest", "tower_crane"], [])
    with pytest.raises(EvaluationError, match="no key in common"):
        evaluate_model(str(model), fixed_dataset, CPU, tile="off")


def test_wider_model_is_scored_on_the_shared_classes(fixed_dataset: Path,
                                                     tmp_path: Path) -> None:
    # a corridor-like model: more classes, in another order; its crane detection lies where
    # the dataset labels nothing and must not count as a false positive, and the insulator it
    # misses must count as a miss
    names = ["tower_crane", "insulator_missing_cap", "insulator"]
    boxes = [(44.0, 44.0, 10.0, 8.0, 1, 0.9), (10.0, 50.0, 8.0, 8.0, 0, 0.95)]
    model = make_yolo_onnx(tmp_path / "wide.onnx", names, boxes)
    ev = evaluate_model(str(model), fixed_dataset, CPU, tile="off", speed_images=1)
    ins, cap = ev.metrics.per_class
    assert (ins.name, cap.name) == ("insulator", "insulator_missing_cap")
    assert cap.ap50 == pytest.approx(1.0) and cap.precision == 1.0
    assert ins.ap50 == 0.0 and ins.recall == 0.0
    assert ev.summary()["not_scored"] == {"model_only": ["tower_crane"], "dataset_only": []}


def test_cli_writes_card_and_json(fixed_dataset: Path, tmp_path: Path) -> None:
    model = make_yolo_onnx(tmp_path / "gt.onnx", NAMES,
                           [(cx, cy, w, h, c, 0.9) for cx, cy, w, h, c in OBJECTS])
    int8_like = make_yolo_onnx(tmp_path / "gt-int8.onnx", NAMES,
                               [(cx, cy, w, h, c, 0.9) for cx, cy, w, h, c in OBJECTS[:1]])
    notes = tmp_path / "notes.md"
    notes.write_text("## Known limits\n\nTiny.\n")
    card, out = tmp_path / "card.md", tmp_path / "m.json"
    rc = main(["evaluate", str(model), str(fixed_dataset / "data.yaml"), "--tile", "off",
               "--card", str(card), "--notes", str(notes), "--json", str(out),
               "--variant", str(int8_like), "--compare-tile", "auto",
               "--config", str(Path(__file__).parent / "data" / "tiny-yolov8.yaml")])
    assert rc == 0
    text = card.read_text()
    assert "mAP50 100.0" in text and "## Known limits" in text
    assert "`gt-int8.onnx` | fp32 | `off`" in text  # precision from the model's metadata
    assert "| 50.0 |" in text  # the variant's lower mAP
    assert "`gt.onnx` | fp32 | `auto`" in text  # the same model again with other tiling
    assert "width_multiple: 0.0625" in text  # the training config, verbatim
    assert "| train = val | 3 |" in text  # one folder for both splits: one row, both names
    assert "tiling `off` |" in text  # the card's own tiling; 'auto' would name the model's rule
    assert yaml.safe_load(out.read_text())["mAP50"] == pytest.approx(1.0)


def test_cli_missing_dataset_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    model = make_yolo_onnx(tmp_path / "gt.onnx", NAMES, [])
    assert main(["evaluate", str(model), str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_the_card_says_what_auto_tiling_means_for_the_model() -> None:
    from types import SimpleNamespace

    from linepatrol_models.card import _auto_rule

    assert "one whole-photo pass" in _auto_rule(SimpleNamespace(auto_tile=None))  # type: ignore[arg-type]
    assert "tiles of 2 input sides" in _auto_rule(SimpleNamespace(auto_tile=2.0))  # type: ignore[arg-type]
