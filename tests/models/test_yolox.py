"""YOLOX-Nano from the COCO export: the rebuilt network reproduces the ONNX file, fine-tuning runs,
resumes where it stopped, and exports to a model the core runs with its own decoder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import yaml

from linepatrol_models.yolox import YoloxNano, flatten, load_pretrained
from linepatrol_models.yolox_train import (
    YoloxConfigError,
    build_model,
    load_for_inference,
    load_yolox_config,
    train_yolox,
)

PRETRAINED = Path(__file__).resolve().parents[3] / "shared" / "pretrained" / \
    "yolox_nano_coco.onnx"

pytestmark = pytest.mark.skipif(not PRETRAINED.is_file(),
                                reason="needs ../shared/pretrained/yolox_nano_coco.onnx")


def _config(tmp_path: Path, data: Path, **train: object) -> Path:
    settings = {"imgsz": 64, "batch": 4, "epochs": 2, "workers": 0, "mosaic": 0.0,
                "warmup_epochs": 0.5, "close_mosaic": 0, "lr0": 0.01, **train}
    path = tmp_path / "yolox.yaml"
    path.write_text(yaml.safe_dump({
        "model": "yolox-nano", "pretrained": str(PRETRAINED), "data": str(data / "data.yaml"),
        "runs_dir": str(tmp_path / "runs"), "name": "tiny", "from_truck": ["excavator"],
        "train": settings,
    }))
    return path


def test_rebuilt_network_reproduces_the_coco_export() -> None:
    names = tuple(f"coco{i}" for i in range(80))
    model = YoloxNano(names)
    load_pretrained(model, PRETRAINED, {n: i for i, n in enumerate(names)})
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, size=(416, 416, 3)).astype(np.float32)
    session = ort.InferenceSession(str(PRETRAINED), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"images": bgr.transpose(2, 0, 1)[None]})[0][0]
    rgb01 = torch.from_numpy(bgr[..., ::-1].copy().transpose(2, 0, 1)[None] / 255.0).float()
    with torch.no_grad():
        raw = flatten(model.raw(rgb01))[0].numpy()
        decoded = model(rgb01)[0].T.numpy()
    # the export's boxes are raw offsets; objectness and classes are sigmoided
    np.testing.assert_allclose(raw[:, :4], reference[:, :4], atol=1e-3)
    np.testing.assert_allclose(decoded[:, 4:], reference[:, 4:5] * reference[:, 5:], atol=1e-4)


def test_machinery_classes_start_from_cocos_truck(tmp_path: Path, tiny_dataset: Path) -> None:
    config = load_yolox_config(_config(tmp_path, tiny_dataset))
    model = build_model(config, ("insulator", "excavator"))
    truck = model.head.cls_preds[0].weight[1]
    other = model.head.cls_preds[0].weight[0]
    assert not torch.equal(truck, other)
    fresh = YoloxNano(("insulator", "excavator"))
    load_pretrained(fresh, PRETRAINED, {"excavator": 7})
    assert torch.equal(fresh.head.cls_preds[0].weight[1], truck)


def test_config_rejects_unknown_settings(tmp_path: Path, tiny_dataset: Path) -> None:
    with pytest.raises(YoloxConfigError, match="unknown train settings"):
        load_yolox_config(_config(tmp_path, tiny_dataset, learning_rate=0.1))


@pytest.mark.slow
def test_fine_tuning_resumes_and_exports_for_the_core(tmp_path: Path, tiny_dataset: Path) -> None:
    from linepatrol.detector import Detector
    from linepatrol.runtime.session import OrtSession
    from linepatrol_models.export import ExportError, export_all

    config = load_yolox_config(_config(tmp_path, tiny_dataset))
    first = replace(config, train=replace(config.train, epochs=1))
    last = train_yolox(first)
    ckpt = torch.load(str(last), map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 1
    # carry on: the second epoch only, from the saved optimiser and EMA
    last = train_yolox(config, resume=True)
    ckpt = torch.load(str(last), map_location="cpu", weights_only=False)
    assert [h["epoch"] for h in ckpt["history"]] == [1, 2]
    with pytest.raises(YoloxConfigError, match="no checkpoint"):
        train_yolox(replace(config, name="other"), resume=True)

    report = export_all(last, tmp_path / "tiny.onnx", imgsz=64, half=False,
                        calibration=tiny_dataset / "data.yaml", calibration_images=4)
    assert all(p["same_detections"] for p in report["parity"]), report["parity"]
    detector = Detector(OrtSession(report["fp32"], providers=["CPUExecutionProvider"]))
    assert detector.names == ("insulator", "insulator_missing_cap")
    photo = np.full((72, 96, 3), 120, dtype=np.uint8)
    found = detector.detect(photo)  # decodes with the core's own decoder
    assert found.xyxy.shape[1] == 4
    net = load_for_inference(last)
    assert net.names == detector.names

    # a model shipped with only the classes it is good at: one Gather on the output
    kept = export_all(last, tmp_path / "kept.onnx", imgsz=64, half=False, int8=False,
                      classes=["insulator_missing_cap"])
    assert all(p["same_detections"] for p in kept["parity"]), kept["parity"]
    only = Detector(OrtSession(kept["fp32"], providers=["CPUExecutionProvider"]))
    assert only.names == ("insulator_missing_cap",)
    with pytest.raises(ExportError, match="the model has"):
        export_all(last, tmp_path / "bad.onnx", imgsz=64, half=False, int8=False,
                   classes=["excavator"])

