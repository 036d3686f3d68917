"""The uint8 image input: the rewritten graph computes what the float blob fed to the original
computes, channel order included, for float32 and float16 networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from tests.support.tiny_onnx import make_yolo_onnx

from linepatrol.detect_config import DetectorConfig
from linepatrol.detector import Detector, model_input, to_blob
from linepatrol.runtime.image_input import IMAGE_INPUT_NAME, with_image_input
from linepatrol.runtime.session import OrtSession


def _conv_model(half: bool = False, channels: int = 3) -> onnx.ModelProto:
    """A 1x1 convolution that weighs the three input channels 1, 10, 100: a channel swap or a
    missing division by 255 changes every output value."""
    dtype = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    np_dtype = np.float16 if half else np.float32
    weight = numpy_helper.from_array(
        np.array([1.0, 10.0, 100.0][:channels], np_dtype).reshape(1, channels, 1, 1), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["images", "w"], ["out"])], "conv",
        [helper.make_tensor_value_info("images", dtype, ["batch", channels, "h", "w"])],
        [helper.make_tensor_value_info("out", dtype, ["batch", 1, "h", "w"])],
        initializer=[weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def _run(model: bytes, name: str, feed: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {name: feed})[0])


@pytest.mark.parametrize("half", [False, True])
def test_rewritten_graph_equals_the_float_blob(half: bool) -> None:
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(2)]
    original = _conv_model(half)
    wrapped = with_image_input(original)
    assert wrapped is not None and wrapped.input_name == IMAGE_INPUT_NAME
    assert wrapped.network_dtype == ("float16" if half else "float32")
    blob = to_blob(crops).astype(np.float16 if half else np.float32)
    expected = _run(original.SerializeToString(), "images", blob)
    got = _run(wrapped.model, wrapped.input_name, np.stack(crops))
    assert got.shape == expected.shape == (2, 1, 48, 64)
    np.testing.assert_allclose(got, expected, rtol=1e-3 if half else 1e-6)
    # the channels really are swapped: BGR in, the network's RGB weights applied
    b, g, r = (crops[0][..., k].astype(np.float64) / 255 for k in range(3))
    np.testing.assert_allclose(got[0, 0], r * 1 + g * 10 + b * 100, rtol=1e-2 if half else 1e-5)


def test_layouts_it_does_not_understand_run_as_they_are() -> None:
    assert with_image_input(_conv_model(channels=1)) is None  # one channel: not a photo model
    model = _conv_model()
    two = helper.make_tensor_value_info("extra", TensorProto.FLOAT, [1])
    model.graph.input.append(two)
    assert with_image_input(model) is None  # two inputs


def test_session_takes_uint8_images_and_reports_the_network_dtype(tmp_path: Path) -> None:
    path = make_yolo_onnx(tmp_path / "h.onnx", ["insulator"], [(32, 32, 8, 8, 0, 0.9)],
                          half=True)
    session = OrtSession(path, providers=["cpu"])
    info = session.info
    assert info.image_input and info.input_dtype == "float16"
    assert info.describe()["image_input"] is True
    crops = [np.zeros((64, 64, 3), np.uint8)] * 3
    batch = model_input(crops, info)
    assert batch.dtype == np.uint8 and batch.shape == (3, 64, 64, 3)
    assert session.run(batch)[0].shape[0] == 3
    # the export's own float input when asked (and what the detector then feeds it)
    plain = OrtSession(path, providers=["cpu"], image_input=False)
    assert not plain.info.image_input and model_input(crops, plain.info).dtype == np.float32
    found = [Detector(s, DetectorConfig(tile="off")).detect(np.zeros((64, 64, 3), np.uint8))
             for s in (session, plain)]
    assert [len(d) for d in found] == [1, 1]
    np.testing.assert_allclose(found[0].xyxy, found[1].xyxy)
