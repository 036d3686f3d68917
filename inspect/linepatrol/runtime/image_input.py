"""Give a detection model a uint8 image input: the photo's bytes go in, normalisation runs inside.

An ultralytics export takes NCHW RGB float in [0, 1]. Making that blob on the host costs a pass
over every pixel (channel swap, transpose, divide) and, on a GPU, uploading four bytes per
channel instead of one. Prepending four nodes to the graph (channel swap, transpose, cast,
divide by 255) lets the detector hand over the letterboxed crops as they are, NHWC BGR uint8:
on a CPU the work moves into ONNX Runtime's kernels, on a GPU it runs there on a quarter of the
bytes. The input values are what OpenCV's ``blobFromImages`` makes (x / 255 in float32); ONNX
Runtime may fuse the new nodes differently, so results agree to float rounding (on 12 CPLID
photos with the bundled model: the same detections, boxes within 0.0002 px; INT8: identical).
On this project's 2-core CPU it ran a 640x480 pass about as fast as the blob (41-42 vs 43-50 ms,
within the machine's noise); the gain it is for is on a GPU (see benchmarks/).

The rewrite is done in memory when a session is made (nothing on disk changes, any model the
user brings gets it) and only for the one input layout it understands; anything else runs as
it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IMAGE_INPUT_NAME = "linepatrol_images_u8"
# the export's input types, each with its name and numpy type
_FLOAT_TYPES = {TensorProto.FLOAT: ("float32", np.float32),
                TensorProto.FLOAT16: ("float16", np.float16)}


@dataclass(frozen=True)
class ImageInput:
    model: bytes  # the rewritten model, serialised for ``InferenceSession``
    input_name: str  # its uint8 NHWC BGR input
    network_dtype: str  # the float NCHW input's type behind it: "float32" or "float16"


def _dim(d: onnx.TensorShapeProto.Dimension) -> int | str | None:
    if d.HasField("dim_value"):
        return int(d.dim_value)
    if d.HasField("dim_param"):
        return d.dim_param
    return None


def with_image_input(model: onnx.ModelProto) -> ImageInput | None:
    """The model with a uint8 NHWC BGR input in front of its float NCHW RGB one, or None when
    the model is not laid out that way (it then runs as it is)."""
    graph = model.graph
    initialisers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        return None
    original = inputs[0]
    tensor = original.type.tensor_type
    if tensor.elem_type not in _FLOAT_TYPES or len(tensor.shape.dim) != 4:
        return None
    n, c, h, w = (_dim(d) for d in tensor.shape.dim)
    if c != 3:
        return None
    float_type = tensor.elem_type
    dtype_name, np_dtype = _FLOAT_TYPES[float_type]

    def tmp(stem: str) -> str:
        return f"{IMAGE_INPUT_NAME}/{stem}"

    new_input = helper.make_tensor_value_info(IMAGE_INPUT_NAME, TensorProto.UINT8,
                                              [n, h, w, 3])
    bgr_to_rgb = numpy_helper.from_array(np.array([2, 1, 0], np.int64), tmp("bgr_to_rgb"))
    scale = numpy_helper.from_array(np.array(255.0, np_dtype), tmp("scale"))
    nodes = [
        helper.make_node("Gather", [IMAGE_INPUT_NAME, bgr_to_rgb.name], [tmp("rgb")], axis=3,
                         name=tmp("swap")),
        helper.make_node("Transpose", [tmp("rgb")], [tmp("nchw")], perm=[0, 3, 1, 2],
                         name=tmp("transpose")),
        helper.make_node("Cast", [tmp("nchw")], [tmp("float")], to=float_type, name=tmp("cast")),
        helper.make_node("Div", [tmp("float"), scale.name], [original.name], name=tmp("div")),
    ]
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    kept = [i for i in g.input if i.name != original.name]
    del g.input[:]
    g.input.extend([new_input, *kept])
    g.initializer.extend([bgr_to_rgb, scale])
    old_nodes = list(g.node)
    del g.node[:]
    g.node.extend([*nodes, *old_nodes])
    return ImageInput(out.SerializeToString(), IMAGE_INPUT_NAME, dtype_name)
