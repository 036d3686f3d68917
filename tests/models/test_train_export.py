"""Training (1 epoch of a tiny model), resuming, and export to ONNX fp32/fp16/INT8 with parity."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

from linepatrol.cli import main
from linepatrol.runtime import OrtSession
from linepatrol_models.config import ConfigError, load_config
from linepatrol_models.export import export_all, export_fp32
from linepatrol_models.train import TrainError, run_training

NAMES = ("insulator", "insulator_missing_cap")
ConfigWriter = Callable[..., Path]


def test_training_writes_checkpoint_offline(tiny_checkpoint: Path) -> None:
    assert tiny_checkpoint.is_file() and tiny_checkpoint.name == "best.pt"
    run = tiny_checkpoint.parent.parent
    assert (run / ".ultralytics" / "Arial.ttf").is_file()  # the bundled font, no download
    assert os.environ["YOLO_OFFLINE"] == "1"
    import ultralytics.utils as uutils
    import ultralytics.utils.checks as checks

    assert checks.AUTOINSTALL is False
    # Ultralytics' user folder is the run's, whether it was imported before training (as
    # earlier tests in this process do) or by the training itself.
    assert Path(checks.USER_CONFIG_DIR).resolve().is_relative_to((run / ".ultralytics").resolve())
    assert not [k for k, v in uutils.SETTINGS.items() if v is True]  # no integrations, no sync


def test_unknown_trainer_argument_fails_before_training(
    tiny_dataset: Path, tmp_path: Path, tiny_config: ConfigWriter
) -> None:
    cfg = tiny_config(tmp_path / "c.yaml", tiny_dataset, tmp_path / "runs", epoch=3)
    with pytest.raises(TrainError, match="epoch"):
        run_training(cfg)


def test_config_rejects_pretrained_weights(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("model: yolov8n.pt\ndata: d.yaml\n")
    with pytest.raises(ConfigError, match="download"):
        load_config(tmp_path / "c.yaml")


def test_dataset_names_must_be_taxonomy_keys(
    tiny_dataset: Path, tmp_path: Path, tiny_config: ConfigWriter
) -> None:
    data = tmp_path / "ds"
    data.mkdir()
    (data / "data.yaml").write_text(
        (tiny_dataset / "data.yaml").read_text().replace("insulator_missing_cap", "defect"))
    cfg = tiny_config(tmp_path / "c.yaml", data, tmp_path / "runs")
    with pytest.raises(TrainError, match="defect"):
        run_training(cfg)


def test_resume_without_checkpoint_is_a_user_error(
    tiny_dataset: Path, tmp_path: Path, tiny_config: ConfigWriter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = tiny_config(tmp_path / "c.yaml", tiny_dataset, tmp_path / "runs")
    assert main(["train", str(cfg), "--resume"]) == 2
    assert "no checkpoint to resume" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_continues_an_interrupted_run(
    tiny_dataset: Path, tmp_path: Path, tiny_config: ConfigWriter
) -> None:
    cfg = tiny_config(tmp_path / "c.yaml", tiny_dataset, tmp_path / "runs", epochs=2,
                       save_period=1)
    run_training(cfg)
    run = tmp_path / "runs" / "tiny"
    epoch1 = run / "weights" / "epoch0.pt"  # saved after the first epoch (0-based names)
    assert epoch1.is_file()  # a mid-run checkpoint, with its optimizer state
    (run / "results.csv").unlink()
    (run / "weights" / "last.pt").unlink()
    assert main(["train", str(cfg), "--resume", str(epoch1)]) == 0
    with (run / "results.csv").open() as f:
        epochs = [int(float(row["epoch"])) for row in csv.DictReader(f)]
    assert epochs == [2]  # only the second epoch ran again
    assert (run / "weights" / "last.pt").is_file()
    # the run is complete now: resuming it again is a clear error, not a traceback
    with pytest.raises(TrainError, match="finished"):
        run_training(cfg, resume=run / "weights" / "epoch1.pt")


def test_fine_tuning_starts_from_the_given_weights(
    tiny_checkpoint: Path, tiny_dataset: Path, tmp_path: Path, tiny_config: ConfigWriter
) -> None:
    import torch

    # learning rate 0 and no warm-up: the fine-tuned weights must still be the checkpoint's
    cfg = tiny_config(tmp_path / "c.yaml", tiny_dataset, tmp_path / "runs", name="stage2",
                      weights=tiny_checkpoint, lr0=0.0, warmup_epochs=0, optimizer="SGD",
                      imgsz=96)
    best = run_training(cfg)

    def first_conv(p: Path) -> torch.Tensor:
        ckpt = torch.load(str(p), map_location="cpu", weights_only=False)
        return (ckpt["ema"] or ckpt["model"]).model[0].conv.weight.float()

    assert torch.allclose(first_conv(best), first_conv(tiny_checkpoint))
    missing = tiny_config(tmp_path / "m.yaml", tiny_dataset, tmp_path / "runs",
                          weights=tmp_path / "none.pt")
    with pytest.raises(TrainError, match="none.pt"):
        run_training(missing)


def test_export_fp32_fp16_int8_with_parity(tiny_checkpoint: Path, tiny_dataset: Path,
                                           tmp_path: Path) -> None:
    report = export_all(tiny_checkpoint, tmp_path / "tiny.onnx",
                        calibration=tiny_dataset / "data.yaml", calibration_images=8)
    fp32 = Path(report["fp32"])
    meta = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
    assert "insulator_missing_cap" in meta["names"] and meta["imgsz"] == "[64, 64]"
    # input axes: batch, height and width dynamic; output: batch and anchors dynamic
    dims = [[d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
            for v in (*onnx.load(str(fp32)).graph.input, *onnx.load(str(fp32)).graph.output)]
    assert dims == [["batch", 3, "height", "width"], ["batch", 6, "anchors"]]
    # every variant is compared with torch on square (64x64) and rect (32x64) inputs
    parity = {(p["model"], tuple(p["input_shape"])): p for p in report["parity"]}
    assert set(parity) == {(m, s) for m in ("fp32", "fp16", "int8") for s in ((64, 64), (32, 64))}
    for shape in ((64, 64), (32, 64)):
        assert parity["fp32", shape]["max_abs_diff"] < 1e-2  # box coordinates, pixels of 64
        assert parity["fp32", shape]["max_score_diff"] < 1e-4
        assert parity["fp32", shape]["same_detections"]
        assert parity["fp16", shape]["max_score_diff"] < 1e-2
        # INT8 only approximates: its scores stay close, and the head (DFL) stays float
        assert parity["int8", shape]["max_score_diff"] < 0.1
    q = onnx.load(report["int8"])
    ops = {n.op_type for n in q.graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    convs = [n for n in q.graph.node if n.op_type == "Conv"]
    quantized = [n for n in convs if _producer(q, n.input[1]) == "DequantizeLinear"]
    kept = [n.name for n in convs if n not in quantized]
    assert len(quantized) > len(kept) > 0
    assert any("/dfl/" in n for n in kept)  # the DFL decoder and the prediction layers
    assert all("/model.22/" in n for n in kept)  # ...all in the Detect head
    # every exported model loads in the core runtime with the taxonomy keys and input size,
    # and runs batches of any stride-multiple size: 8x8 anchors at 64, 4x8 at 32x64 (stride 8)
    for key in ("fp32", "fp16", "int8"):
        session = OrtSession(report[key], providers=["cpu"]).load()
        info = session.info
        assert info.names == NAMES and info.input_size == 64 and info.dynamic_hw
        # ...through the uint8 image input the core gives every model (NHWC BGR)
        assert info.image_input and info.input_dtype == ("float16" if key == "fp16" else "float32")
        for shape, anchors in (((2, 64, 64, 3), 84), ((2, 32, 64, 3), 42), ((1, 64, 32, 3), 42)):
            out = session.run(np.zeros(shape, np.uint8))[0]
            assert out.shape == (shape[0], 6, anchors)
    # a fixed-shape export (old files, TensorRT) is square only, and the core knows it
    fixed, _ = export_fp32(tiny_checkpoint, tmp_path / "fixed.onnx", fixed_shape=True)
    info = OrtSession(fixed, providers=["cpu"]).load().info
    assert not info.dynamic_hw and (info.input_height, info.input_width) == (64, 64)


def _producer(model: onnx.ModelProto, tensor: str) -> str:
    return next((n.op_type for n in model.graph.node if tensor in n.output), "initializer")


def test_export_cli_prints_report(tiny_checkpoint: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["export", str(tiny_checkpoint), "--out", str(tmp_path / "m.onnx"), "--no-fp16",
               "--no-int8", "--tile-auto", "off", "--class-conf", "insulator_missing_cap=0.4"])
    assert rc == 0
    out = capsys.readouterr().out
    report = json.loads(out)  # stdout is the report only; logs go to stderr
    assert report["fp32"] == str(tmp_path / "m.onnx") and report["imgsz"] == 64
    assert [(p["model"], p["input_shape"]) for p in report["parity"]] == [
        ("fp32", [64, 64]), ("fp32", [32, 64])]
    assert not (tmp_path / "m-int8.onnx").exists()
    # the model's own '--tile auto' rule travels in its metadata: this one never tiles
    from linepatrol.pipeline import open_detector
    from linepatrol.settings import CoreSettings

    detector = open_detector(str(tmp_path / "m.onnx"), CoreSettings(providers=["cpu"]))
    assert detector.info.auto_tile_factor is None and detector.tiles_for(4000, 3000) is None
    # and so do its own per-class operating thresholds
    assert detector.model_class_conf == {"insulator_missing_cap": 0.4}
    capsys.readouterr()
    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path / "n.onnx"),
                 "--class-conf", "bird_nest=0.4"]) == 2  # a class the model does not have
    assert "bird_nest" in capsys.readouterr().err and not (tmp_path / "n.onnx").exists()
    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path / "n.onnx"),
                 "--tile-auto", "0.5"]) == 2
    assert "--tile-auto" in capsys.readouterr().err and not (tmp_path / "n.onnx").exists()


def test_export_missing_checkpoint_is_a_user_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "none.pt")]) == 2
    assert "none.pt" in capsys.readouterr().err
