"""``linepatrol detect`` and ``linepatrol info``: the JSON contract and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from linepatrol.cli import main
from support.tiny_onnx import make_yolo_onnx

NAMES = ["insulator", "insulator_missing_cap"]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    # one missing cap at the centre of the 64 px input
    return make_yolo_onnx(tmp_path / "tiny.onnx", NAMES, [(32, 32, 16, 8, 1, 0.9)])


@pytest.fixture
def flight(tmp_path: Path) -> Path:
    folder = tmp_path / "flight"
    (folder / "sub").mkdir(parents=True)
    img = np.full((96, 128, 3), 90, np.uint8)
    cv2.imwrite(str(folder / "a.jpg"), img)
    cv2.imwrite(str(folder / "sub" / "b.JPG"), img)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("not a photo, ignored in folders")
    return folder


def test_detect_folder_with_a_corrupt_file(model: Path, flight: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    code = main(["detect", str(flight), "--model", str(model), "--json", str(out), "--tile", "off"])
    assert code == 0
    records = json.loads(out.read_text())
    assert [Path(r["image"]).name for r in records] == ["a.jpg", "broken.jpg", "b.JPG"]
    good = records[0]
    assert set(good) == {"image", "width", "height", "detections", "error"}
    assert (good["width"], good["height"], good["error"]) == (128, 96, None)
    # 128x96 letterboxed into 64: scale 0.5, pad_y 8 -> centre (64, 48), size 32x16
    assert good["detections"] == [
        {"class": "insulator_missing_cap", "confidence": 0.9, "xyxy": [48.0, 40.0, 80.0, 56.0]}
    ]
    bad = records[1]
    assert bad["error"] and "JPEG" in bad["error"] and bad["detections"] == []
    assert bad["width"] is None
    assert "broken.jpg" in capsys.readouterr().err


def test_annotate_writes_photos_with_boxes(model: Path, flight: Path, tmp_path: Path) -> None:
    out = tmp_path / "annotated"
    assert main(["detect", str(flight / "a.jpg"), "--model", str(model), "--tile", "off",
                 "--annotate", str(out)]) == 0
    drawn = cv2.imread(str(out / "a.jpg"))
    assert drawn.shape == (96, 128, 3)
    assert abs(int(drawn[48, 48].sum()) - 3 * 90) > 60  # the box's left edge is drawn
    # a DJI-style upper-case suffix keeps its name
    assert main(["detect", str(flight / "sub" / "b.JPG"), "--model", str(model), "--tile", "off",
                 "--annotate", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.JPG"]
    assert (out / "b.JPG").read_bytes()[:2] == b"\xff\xd8"


def test_detect_paths_as_given_and_all_failed_exit_code(model: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    code = main(["detect", str(empty), str(tmp_path / "missing.jpg"), "--model", str(model),
                 "--json", str(tmp_path / "o.json")])
    assert code == 1
    records = json.loads((tmp_path / "o.json").read_text())
    assert [r["image"] for r in records] == [str(empty), str(tmp_path / "missing.jpg")]
    assert records[0]["error"] == "empty file (0 bytes)"
    assert records[1]["error"] == "no such file"


def test_detect_without_any_model_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("linepatrol.model_store.bundled_dirs", lambda: [tmp_path / "none"])
    code = main(["detect", str(tmp_path)])
    assert code == 2
    assert "no model is installed" in capsys.readouterr().err


def test_detect_rejects_bad_model_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not protobuf")
    assert main(["detect", str(tmp_path), "--model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.onnx" in err and "not a loadable ONNX model" in err


def test_info_reports_active_provider(model: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "linepatrol", "info", "--model", str(model), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout
    info = json.loads(out)
    assert info["model"]["classes"] == NAMES
    assert info["model"]["active_providers"][-1] == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in info["available_providers"]


def test_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "linepatrol", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "detect" in out and "info" in out


def test_whole_photo_pass_decodes_reduced_but_reports_full_pixels(model: Path, tmp_path: Path) -> None:
    from linepatrol.pipeline import detect_files, open_detector
    from linepatrol.settings import CoreSettings

    big = tmp_path / "big.jpg"
    cv2.imwrite(str(big), np.full((768, 1024, 3), 90, np.uint8))
    detector = open_detector(str(model), CoreSettings(providers=["cpu"]))
    # auto: tiles of 2x the 64 px input (128 px) are downscaled 2x, so a half-scale decode
    # keeps every pixel the model sees
    assert detector.decode_size(1024, 768) == (512, 384)
    from linepatrol.detect_config import DetectorConfig

    detector.config = DetectorConfig(tile=64)  # tiles at the input's own size: full pixels
    assert detector.decode_size(1024, 768) is None

    detector.config = DetectorConfig(tile="off")
    assert detector.decode_size(1024, 768) == (64, 48)
    [result] = list(detect_files(detector, [("big.jpg", big)]))
    assert (result.width, result.height) == (1024, 768)
    assert result.detections is not None
    # decoded at 1/8 (128x96), box mapped back by 8: the same place as a full decode would give
    assert result.detections.xyxy[0].tolist() == pytest.approx([384, 320, 640, 448], abs=1)


def test_info_shows_a_models_own_thresholds() -> None:
    # the bundled patrol model carries its own thresholds for its two rarest classes
    out = subprocess.run(
        [sys.executable, "-m", "linepatrol", "info", "--model", "linepatrol-patrol-v4"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "its own thresholds: insulator_broken 0.1, insulator_flashover 0.2" in out
