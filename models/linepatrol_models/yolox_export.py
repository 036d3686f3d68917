"""A YOLOX checkpoint as the ONNX graph the core runs: the decode is baked in, so the output
is the layout every LinePatrol model has (centre-xywh in input pixels, then class scores) and
the metadata is what ultralytics writes (``names``, ``imgsz``, ``stride``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx
import torch

from linepatrol_models.yolox_train import checkpoint_meta, load_for_inference


def yolox_onnx(weights: Path, imgsz: int | None, opset: int) -> tuple[onnx.ModelProto, int]:
    """(graph, input size): batch, height and width dynamic, ``imgsz`` the training size."""
    meta = checkpoint_meta(weights)
    size = int(imgsz or meta.get("imgsz") or 640)
    net = load_for_inference(weights)
    probe = torch.zeros(1, 3, size, size)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model.onnx"
        torch.onnx.export(
            net, (probe,), staged, opset_version=opset, input_names=["images"],
            output_names=["output0"], dynamo=False,
            dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"},
                          "output0": {0: "batch", 2: "anchors"}},
        )
        model = onnx.load(str(staged))
    names = {i: n for i, n in enumerate(net.names)}
    values = {"names": repr(names), "imgsz": repr([size, size]), "stride": "32",
              "task": "detect", "batch": "1",
              "description": f"LinePatrol {meta.get('arch')} (epoch {meta.get('epoch')})"}
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model, size
