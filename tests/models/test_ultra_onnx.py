"""A shipped ultralytics ONNX model trains on: rebuilt fused from its file, checked against it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
import torch
import yaml

from linepatrol_models.export import export_fp32
from linepatrol_models.train import TrainError, run_training
from linepatrol_models.ultra_onnx import (
    OnnxRebuildError,
    check_parity,
    fused_from_onnx,
    is_fused,
)

TINY_MODEL_YAML = Path(__file__).parent / "data" / "tiny-yolov8.yaml"


@pytest.fixture(scope="module")
def shipped(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out, _ = export_fp32(tiny_checkpoint, tmp_path_factory.mktemp("ship") / "tiny.onnx")
    return out


def test_the_rebuilt_network_is_the_file(shipped: Path) -> None:
    model = fused_from_onnx(shipped, str(TINY_MODEL_YAML))
    assert is_fused(model)
    assert check_parity(model, shipped, size=64) < 1e-3


def test_a_file_of_another_architecture_is_refused(shipped: Path, tmp_path: Path) -> None:
    model = onnx.load(str(shipped))
    for t in model.graph.initializer:
        if t.name.endswith("conv.weight"):
            t.name = "renamed." + t.name
            break
    other = tmp_path / "other.onnx"
    onnx.save(model, str(other))
    with pytest.raises(OnnxRebuildError, match="no tensor for"):
        fused_from_onnx(other, str(TINY_MODEL_YAML))


def test_a_config_starting_from_a_shipped_onnx_trains_it_on(
        shipped: Path, tiny_dataset: Path, tmp_path: Path, tiny_config: Callable[..., Path]
) -> None:
    config = tiny_config(tmp_path / "ft.yaml", tiny_dataset, tmp_path / "runs", weights=shipped,
                          name="ft", lr0=0.001, warmup_epochs=0)
    best = run_training(config)
    trained, _ = export_fp32(best, tmp_path / "ft.onnx")
    # what trained is the shipped network, not a fresh one: close to it, but moved
    start = fused_from_onnx(shipped, str(TINY_MODEL_YAML))
    after = fused_from_onnx(trained, str(TINY_MODEL_YAML))
    moved = [(a - b).abs().max().item() for a, b in
             zip(start.state_dict().values(), after.state_dict().values(), strict=True)
             if a.dtype.is_floating_point]
    assert max(moved) > 0 and max(moved) < 0.5
    # its checkpoints hold the fused network, which a resumed run trains as it is
    last = torch.load(str(best.parent / "last.pt"), map_location="cpu", weights_only=False)
    assert is_fused(last["ema"] or last["model"])


def test_a_config_on_data_of_other_classes_is_a_train_error(
        shipped: Path, tmp_path: Path, tiny_dataset: Path, tiny_config: Callable[..., Path]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for entry in ("images", "labels"):
        (other / entry).symlink_to(tiny_dataset / entry)
    (other / "data.yaml").write_text(yaml.safe_dump({
        "path": str(other), "train": "images/train", "val": "images/val",
        "names": {0: "insulator_missing_cap", 1: "insulator"}}))
    config = tiny_config(tmp_path / "ft.yaml", other, tmp_path / "runs", weights=shipped)
    with pytest.raises(TrainError, match="the data has"):
        run_training(config)
