"""Fine-tuning a LinePatrol model (issue #17): the default's own weights as the start, each class
from its own classifier row, and a config that names several datasets (a review export and
the base data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import yaml

from linepatrol_datasets.merge import MergeSource
from linepatrol_models.yolox_train import build_model, load_yolox_config

BUNDLED = Path(__file__).resolve().parents[2] / "models" / "linepatrol-patrol-v2.onnx"


def test_a_linepatrol_export_is_fine_tuned_from_its_own_weights(tmp_path: Path) -> None:
    """patrol-v2 (an export cut to four of its classes): each class starts from
    its own classifier row, read back through the kept rows, and the rebuilt network answers
    what the file answers."""
    from linepatrol_models.yolox import source_class_rows

    rows = source_class_rows(BUNDLED)
    assert rows["insulator"] == 0 and set(rows) == {
        "insulator", "insulator_flashover", "insulator_broken", "foreign_object"}
    config = tmp_path / "ft.yaml"
    config.write_text(yaml.safe_dump({
        "model": "yolox-nano", "pretrained": str(BUNDLED), "names": ["x"],
        "runs_dir": str(tmp_path / "runs")}))
    names = ("insulator", "insulator_flashover", "insulator_broken", "foreign_object")
    model = build_model(load_yolox_config(config), names).eval()
    session = ort.InferenceSession(str(BUNDLED), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, 256, 320), dtype=np.float32)
    reference = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        ours = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, reference, atol=1e-3)
    # a class the source never had starts from the mean classifier, not from another's row
    other = build_model(load_yolox_config(config), ("insulator", "bird_nest"))
    head = other.head.cls_preds[0].weight
    assert not torch.equal(head[1], head[0])


def test_a_config_naming_several_datasets_merges_them_into_its_run(tmp_path: Path,
                                                                   tiny_dataset: Path) -> None:
    path = tmp_path / "ft.yaml"
    path.write_text(yaml.safe_dump({
        "model": "yolox-nano", "pretrained": str(BUNDLED),
        "data": [str(tiny_dataset), "export:train*2"], "osd": 3,
        "runs_dir": str(tmp_path / "runs"), "name": "reviewed"}))
    config = load_yolox_config(path)
    assert config.merge == (MergeSource(tiny_dataset),
                            MergeSource(tmp_path / "export", ("train",), 2))
    assert config.osd == 3
    assert config.data == tmp_path / "runs" / "reviewed" / "data" / "data.yaml"
