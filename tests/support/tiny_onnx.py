"""Tiny but real ONNX detection models, built with the ``onnx`` helper API for tests.

The graph is ``output = constant + 0 * mean(input)``: it consumes the image (so batch size flows
through like a real model) and always answers with the boxes it was built with, in the
ultralytics export layout — raw ``(batch, 4 + classes, anchors)`` or end-to-end
``(batch, boxes, 6)``. Metadata carries ``names``, ``imgsz`` and ``stride`` as ultralytics writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (cx, cy, w, h, class_id, score) in model-input pixels
Box = tuple[float, float, float, float, int, float]


def make_yolo_onnx(
    path: Path,
    names: Sequence[str],
    boxes: Sequence[Box],
    imgsz: int = 64,
    layout: str = "raw",
    anchors: int = 16,
    dynamic_batch: bool = True,
    half: bool = False,
) -> Path:
    nc = len(names)
    if layout == "raw":
        const = np.zeros((1, 4 + nc, max(anchors, len(boxes))), dtype=np.float32)
        for i, (cx, cy, w, h, c, s) in enumerate(boxes):
            const[0, 0:4, i] = (cx, cy, w, h)
            const[0, 4 + c, i] = s
    elif layout == "end2end":
        const = np.zeros((1, 300, 6), dtype=np.float32)
        for i, (cx, cy, w, h, c, s) in enumerate(boxes):
            const[0, i] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s, c)
    else:
        raise ValueError(layout)
    dtype = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    np_dtype = np.float16 if half else np.float32
    batch: str | int = "batch" if dynamic_batch else 1
    inp = helper.make_tensor_value_info("images", dtype, [batch, 3, imgsz, imgsz])
    out_shape = [batch, *const.shape[1:]]
    out = helper.make_tensor_value_info("output0", dtype, out_shape)
    # mean over C, H, W keeps the batch axis: (B, 1, 1, 1) -> squeeze -> (B, 1, 1)
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Squeeze", ["m4", "ax"], ["m"]),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["z", "boxes"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(np.zeros((1, 1, 1, 1), dtype=np_dtype).reshape(1, 1, 1), "zero"),
        numpy_helper.from_array(const.astype(np_dtype), "boxes"),
    ]
    inits.append(numpy_helper.from_array(np.array([3], dtype=np.int64), "ax"))
    graph = helper.make_graph(nodes, "tiny_yolo", [inp], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in {
        "names": str(dict(enumerate(names))),
        "imgsz": str([imgsz, imgsz]),
        "stride": "32",
        "task": "detect",
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
