"""Files that are not usable detection models get an error naming the file and the fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linepatrol.model_store import ModelNotFoundError, resolve_model
from linepatrol.runtime import ModelLoadError, OrtSession
from linepatrol.runtime.model_info import OutputLayout
from support.tiny_onnx import make_yolo_onnx


def _identity_model(path: Path, out_shape: list[int], names: str | None) -> Path:
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, out_shape)
    shape = numpy_helper.from_array(np.array(out_shape, np.int64), "shape")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Expand", ["m", "shape"], ["out"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [inp], [out], [shape]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if names is not None:
        p = model.metadata_props.add()
        p.key, p.value = "names", names
    onnx.save(model, str(path))
    return path


def _with_names(path: Path, names: str | None) -> Path:
    """A tiny two-class model whose 'names' metadata is replaced (or removed)."""
    make_yolo_onnx(path, ["insulator", "tower"], [])
    model = onnx.load(str(path))
    props = [p for p in model.metadata_props if p.key != "names"]
    del model.metadata_props[:]
    model.metadata_props.extend(props)
    if names is not None:
        p = model.metadata_props.add()
        p.key, p.value = "names", names
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (None, "no 'names'"),
        ("{0: 'insulator'}", "names 1 classes but the output carries 2"),
        ("not python", "unreadable 'names'"),
        ("{1: 'a', 2: 'b'}", "not 0..n-1"),
    ],
)
def test_bad_names_metadata(tmp_path: Path, names: str | None, message: str) -> None:
    path = _with_names(tmp_path / "m.onnx", names)
    with pytest.raises(ModelLoadError, match=message) as err:
        OrtSession(path, providers=["cpu"]).load()
    assert "m.onnx" in str(err.value)


def test_not_a_detection_output(tmp_path: Path) -> None:
    path = _identity_model(tmp_path / "m.onnx", [1, 10], "{0: 'insulator'}")
    with pytest.raises(ModelLoadError, match="expected a YOLO detection output"):
        OrtSession(path, providers=["cpu"]).load()


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "e.onnx").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        OrtSession(tmp_path / "e.onnx").load()
    with pytest.raises(ModelLoadError, match="no such file"):
        OrtSession(tmp_path / "x.onnx").load()


def test_metadata_and_layouts(tmp_path: Path) -> None:
    raw = OrtSession(make_yolo_onnx(tmp_path / "r.onnx", ["bird_nest"], [], imgsz=96)).info
    assert raw.layout is OutputLayout.RAW and raw.input_size == 96 and raw.names == ("bird_nest",)
    e2e = OrtSession(make_yolo_onnx(tmp_path / "e.onnx", ["tower"], [], layout="end2end",
                                    half=True)).info
    assert e2e.layout is OutputLayout.END2END and e2e.input_dtype == "float16"


def test_model_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "bundled"
    folder.mkdir()
    make_yolo_onnx(folder / "linepatrol-cplid-v1.onnx", ["insulator"], [])
    monkeypatch.setattr("linepatrol.model_store.bundled_dirs", lambda: [folder])
    assert resolve_model(None).name == "linepatrol-cplid-v1.onnx"
    assert resolve_model("linepatrol-cplid-v1").parent == folder
    with pytest.raises(ModelNotFoundError, match="neither a file nor a bundled model"):
        resolve_model("nope")


def test_int8_sibling_runs_on_the_cpu(tmp_path: Path) -> None:
    from linepatrol.model_store import pick_precision

    fp32 = make_yolo_onnx(tmp_path / "m.onnx", ["insulator"], [])
    assert pick_precision(fp32, "auto", on_cpu=True) == fp32  # no sibling: keep fp32
    with pytest.raises(ModelNotFoundError, match="no INT8 variant"):
        pick_precision(fp32, "int8", on_cpu=True)
    int8 = make_yolo_onnx(tmp_path / "m-int8.onnx", ["insulator"], [])
    assert pick_precision(fp32, "auto", on_cpu=True) == int8
    assert pick_precision(fp32, "auto", on_cpu=False) == fp32
    assert pick_precision(fp32, "fp32", on_cpu=True) == fp32
    assert pick_precision(int8, "auto", on_cpu=False) == int8  # named explicitly: as named
    with pytest.raises(ValueError, match="precision"):
        pick_precision(fp32, "fp8", on_cpu=True)


def test_default_model_runs_int8_on_cpu_but_named_files_run_as_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linepatrol.pipeline import model_path
    from linepatrol.settings import CoreSettings

    folder = tmp_path / "bundled"
    fp32 = make_yolo_onnx(folder / "linepatrol-cplid-v1.onnx", ["insulator"], [])
    int8 = make_yolo_onnx(folder / "linepatrol-cplid-v1-int8.onnx", ["insulator"], [])
    monkeypatch.setattr("linepatrol.model_store.bundled_dirs", lambda: [folder])
    cpu = CoreSettings(providers=["cpu"])
    assert model_path(None, cpu) == int8
    assert model_path("linepatrol-cplid-v1", cpu) == int8
    assert model_path(str(fp32), cpu) == fp32
    assert model_path(None, CoreSettings(providers=["cpu"], precision="fp32")) == fp32


def _dynamic_hw(path: Path) -> Path:
    """The tiny model with symbolic height and width, as ``linepatrol export`` writes them."""
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for axis, name in ((2, "height"), (3, "width")):
        dims[axis].Clear()
        dims[axis].dim_param = name
    onnx.save(model, str(path))
    return path


def test_dynamic_input_axes_keep_the_nominal_size(tmp_path: Path) -> None:
    from linepatrol.detector import Detector

    fixed = OrtSession(make_yolo_onnx(tmp_path / "f.onnx", ["insulator"], [], imgsz=96))
    assert not fixed.info.dynamic_hw and not Detector(fixed).rect
    dynamic = OrtSession(_dynamic_hw(make_yolo_onnx(tmp_path / "d.onnx", ["insulator"], [],
                                                    imgsz=96)), providers=["cpu"])
    info = dynamic.info  # the size comes from the 'imgsz' metadata
    assert info.dynamic_hw and (info.input_height, info.input_width) == (96, 96)
    assert info.describe()["dynamic_input_size"] is True
    assert not dynamic.fixed_shape and Detector(dynamic).rect
    assert info.image_input  # the session takes NHWC BGR uint8 crops (see test_image_input)
    assert dynamic.run(np.zeros((2, 64, 96, 3), np.uint8))[0].shape[0] == 2
