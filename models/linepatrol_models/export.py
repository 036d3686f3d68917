"""From a checkpoint to the ONNX models LinePatrol runs: fp32, fp16 (GPUs), INT8 (CPUs).

- fp32: ultralytics' exporter (``names``, ``imgsz``, ``stride`` in the metadata, which the core
  reads), with graph simplification off and auto-install off so nothing is pip-installed (its
  requirement check would otherwise install the CPU ``onnxruntime`` over ``onnxruntime-gpu``).
  Batch, height and width stay dynamic (``imgsz`` in the metadata is the size it was trained
  at): the detector letterboxes a whole photo to the smallest stride-multiple rectangle, as
  ultralytics predicts with a ``.pt`` (a 4:3 photo runs at 640x480, 25 % fewer pixels than
  640x640). ``fixed_shape=True`` pins the input to ``imgsz`` x ``imgsz`` as earlier exports did.
- fp16: ONNX Runtime's float16 converter on the fp32 graph (ultralytics' ``half`` export needs
  a GPU).
- INT8: static QDQ quantization (``onnxruntime.quantization.quantize_static``) calibrated on
  training photos preprocessed as the detector does (square inputs suffice: the quantized graph
  keeps the dynamic axes). Only the hidden convolutions are quantized: the YOLO head
  concatenates box coordinates (hundreds of pixels) with class scores (0..1) into one tensor,
  and one INT8 scale for both wipes out the scores; the prediction convolutions and the DFL
  decoder stay float too (see :func:`quantizable_nodes`).
- Parity: ONNX Runtime against torch on the same real inputs (max absolute difference of the
  raw outputs, and whether the decoded detections agree), square and rect.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import onnx

from linepatrol.detector import letterbox, to_blob
from linepatrol.runtime.model_info import (
    CLASS_CONF_KEY,
    TILE_AUTO_KEY,
    auto_tile_rule,
    class_conf_rule,
)
from linepatrol_models.dataset import DatasetError, find_data_yaml, load_dataset
from linepatrol_models.offline import prepare_offline
from linepatrol_models.yolox_export import yolox_onnx
from linepatrol_models.yolox_train import (
    checkpoint_meta,
    is_yolox_checkpoint,
    load_for_inference,
)

log = logging.getLogger(__name__)

OPSET = 17


class ExportError(RuntimeError):
    """The checkpoint cannot be exported or the exported model fails its checks."""


# --- inputs ------------------------------------------------------------------------------------


def preprocess(
    paths: Sequence[Path], imgsz: int, height: int | None = None
) -> npt.NDArray[np.float32]:
    """Photos -> the NCHW blob the detector feeds the model (same letterbox, same scaling),
    ``height`` x ``imgsz`` (default square)."""
    crops = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise ExportError(f"{p}: not a readable image")
        crops.append(letterbox(np.asarray(img, dtype=np.uint8), height or imgsz, imgsz)[0])
    return to_blob(crops)


def rect_height(imgsz: int, stride: int = 32) -> int:
    """Rows of the rect input of a 4:3 landscape photo (640 -> 480), at least one stride."""
    return max(stride, imgsz * 3 // 4 // stride * stride)


def pick_calibration_images(source: Path, count: int, split: str = "train") -> list[Path]:
    """``count`` images spread evenly over a folder or a dataset split (deterministic)."""
    if source.is_dir() and not any(source.glob("data.y*ml")):
        files = sorted(f for f in source.rglob("*")
                       if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))
    else:
        files = load_dataset(find_data_yaml(source)).images(split)
    if not files:
        raise ExportError(f"{source}: no images to calibrate on")
    step = max(1, len(files) // max(1, count))
    return files[::step][:count]


# --- fp32 --------------------------------------------------------------------------------------


def _load_checkpoint(weights: Path) -> Any:
    from ultralytics import YOLO

    if not weights.is_file():
        raise ExportError(f"{weights}: no such checkpoint")
    try:
        return YOLO(str(weights))
    except Exception as exc:  # ultralytics raises bare exceptions for foreign files
        raise ExportError(f"{weights}: not an ultralytics checkpoint ({exc})") from None


def pin_output_rows(model: onnx.ModelProto, output_shape: Sequence[int]) -> None:
    """Fix the output's rows (4 + classes), which the exporter leaves symbolic: the core reads
    the class count from there. Batch, height, width and anchors stay dynamic."""
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    out_dims[1].Clear()
    out_dims[1].dim_value = int(output_shape[1])


def pin_shapes(model: onnx.ModelProto, imgsz: int, output_shape: Sequence[int]) -> None:
    """Fix the input's height and width and the output's rows and anchors; the batch axis
    stays dynamic: a fixed-shape model (square input only), as exports before rect input were
    and as TensorRT deployments may want."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for axis in (2, 3):
        dims[axis].Clear()
        dims[axis].dim_value = imgsz
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    for axis in (1, 2):
        out_dims[axis].Clear()
        out_dims[axis].dim_value = int(output_shape[axis])


def set_metadata(model: onnx.ModelProto, values: dict[str, str]) -> None:
    existing = {p.key: p for p in model.metadata_props}
    for key, value in values.items():
        if key in existing:
            existing[key].value = value
        else:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value


def tile_auto_value(raw: str) -> str:
    """The metadata value for ``--tile-auto``: ``off`` or a factor >= 1."""
    try:
        factor = auto_tile_rule(raw)
    except ValueError:
        raise ExportError(f"--tile-auto must be 'off' or a factor >= 1, not {raw!r}") from None
    return "off" if factor is None else f"{factor:g}"


def _ultralytics_onnx(weights: Path, imgsz: int | None) -> tuple[onnx.ModelProto, int]:
    prepare_offline(Path(tempfile.gettempdir()) / "linepatrol-ultralytics")
    yolo = _load_checkpoint(weights)
    train_args = getattr(yolo, "ckpt", {}).get("train_args", {}) if yolo.ckpt else {}
    size = int(imgsz or train_args.get("imgsz") or 640)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model.pt"
        shutil.copyfile(weights, staged)  # the exporter writes next to the weights it loads
        staged_model = _load_checkpoint(staged)
        produced = staged_model.export(format="onnx", imgsz=size, dynamic=True, simplify=False,
                                       opset=OPSET, device="cpu", nms=False, batch=1)
        return onnx.load(str(produced)), size


def checkpoint_names(weights: Path) -> list[str]:
    """The class names a checkpoint was trained for, in output order."""
    if is_yolox_checkpoint(weights):
        return [str(n) for n in checkpoint_meta(weights)["names"]]
    names = _load_checkpoint(weights).names
    return [str(names[i]) for i in range(len(names))]


def output_rows(names: Sequence[str], keep: Sequence[str] | None) -> list[int]:
    """The raw output's rows for ``keep`` (box rows first), all rows when ``keep`` is None."""
    if keep is None:
        return list(range(4 + len(names)))
    unknown = [k for k in keep if k not in names]
    if unknown or not keep:
        raise ExportError(f"--classes {list(keep)}: the model has {list(names)}")
    return [0, 1, 2, 3] + [4 + names.index(k) for k in keep]


def keep_output_rows(model: onnx.ModelProto, rows: Sequence[int]) -> None:
    """Cut the raw output (batch, 4 + classes, anchors) to ``rows`` with one Gather: a model
    ships only the classes it was measured good at, and a model set takes the others from
    its other members (:mod:`linepatrol.ensemble`)."""
    from onnx import helper, numpy_helper

    out = model.graph.output[0]
    index = numpy_helper.from_array(np.array(rows, dtype=np.int64), "linepatrol_kept_rows")
    model.graph.initializer.append(index)
    full = out.name + "_all_classes"
    for node in model.graph.node:
        for j, name in enumerate(node.output):
            if name == out.name:
                node.output[j] = full
    model.graph.node.append(helper.make_node("Gather", [full, index.name], [out.name], axis=1,
                                             name="linepatrol_keep_classes"))
    dim = out.type.tensor_type.shape.dim[1]
    dim.Clear()
    dim.dim_value = len(rows)


def export_fp32(
    weights: Path, out: Path, imgsz: int | None = None, fixed_shape: bool = False,
    tile_auto: str | None = None, classes: Sequence[str] | None = None,
    class_conf: Mapping[str, float] | None = None,
) -> tuple[Path, int]:
    """Export a checkpoint to ONNX fp32 at ``out``; returns the path and input size.

    ``tile_auto`` ("off" or a factor) is written as the model's ``--tile auto`` rule
    (:data:`linepatrol.runtime.model_info.TILE_AUTO_KEY`) and ``class_conf`` as its own
    per-class operating thresholds (:data:`~linepatrol.runtime.model_info.CLASS_CONF_KEY`); the
    fp16 and INT8 variants copy them. ``classes`` keeps only those classes' outputs (see
    :func:`keep_output_rows`).
    """
    tile_rule = tile_auto_value(tile_auto) if tile_auto is not None else None  # fail early
    if is_yolox_checkpoint(weights):
        model, size = yolox_onnx(weights, imgsz, OPSET)
    else:
        model, size = _ultralytics_onnx(weights, imgsz)
    probe = np.zeros((1, 3, size, size), dtype=np.float32)
    output_shape = torch_outputs(weights, probe).shape
    if fixed_shape:
        pin_shapes(model, size, output_shape)
    else:
        pin_output_rows(model, output_shape)
    meta = {"linepatrol_precision": "fp32", "linepatrol_source": weights.name}
    if classes is not None:
        names = checkpoint_names(weights)
        keep_output_rows(model, output_rows(names, classes))
        meta["names"] = repr(dict(enumerate(classes)))
    if tile_rule is not None:
        meta[TILE_AUTO_KEY] = tile_rule
    if class_conf:
        kept = tuple(classes if classes is not None else checkpoint_names(weights))
        try:
            meta[CLASS_CONF_KEY] = json.dumps(class_conf_rule(dict(class_conf), kept),
                                              sort_keys=True)
        except ValueError as exc:
            raise ExportError(f"--class-conf: {exc}") from None
    set_metadata(model, meta)
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return out, size


# --- fp16 --------------------------------------------------------------------------------------


def export_fp16(fp32: Path, out: Path) -> Path:
    """fp16 weights and activations (input and output too) for GPU inference."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(fp32))
    half = convert_float_to_float16(model, keep_io_types=False)
    set_metadata(half, {"linepatrol_precision": "fp16"})
    onnx.save(half, str(out))
    return out


# --- INT8 --------------------------------------------------------------------------------------


class _BlobReader:
    """``CalibrationDataReader``: one preprocessed photo at a time (keeps memory flat)."""

    def __init__(self, input_name: str, paths: Sequence[Path], imgsz: int) -> None:
        self.input_name = input_name
        self._it: Iterator[Path] = iter(paths)
        self.imgsz = imgsz

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        path = next(self._it, None)
        if path is None:
            return None
        return {self.input_name: preprocess([path], self.imgsz)}


def quantizable_nodes(model: onnx.ModelProto) -> tuple[list[str], list[str]]:
    """(Conv nodes to quantize, Conv nodes to keep in float).

    Hidden convolutions are followed by their SiLU (``x * sigmoid(x)``) and quantize well. The
    head's prediction convolutions (box distributions, class logits) and the DFL decoder have
    no activation: their outputs are the answer, and INT8 steps there move boxes by pixels and
    scores across the threshold, so they stay float (7 of 64 convolutions in YOLOv8n, a few
    % of the compute).
    """
    consumers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node.op_type)
    quantize: list[str] = []
    keep: list[str] = []
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        activated = any(op in ("Sigmoid", "Relu", "HardSwish", "LeakyRelu")
                        for out in node.output for op in consumers.get(out, []))
        (quantize if activated else keep).append(node.name)
    return quantize, keep


def export_int8(fp32: Path, out: Path, calibration: Sequence[Path], imgsz: int) -> Path:
    """Static QDQ INT8 (per-channel weights, MinMax activations) calibrated on ``calibration``."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not calibration:
        raise ExportError("INT8 export needs calibration images")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        model = onnx.load(str(prepared))
        to_quantize, keep = quantizable_nodes(model)
        reader = _BlobReader(model.graph.input[0].name, calibration, imgsz)
        quantize_static(
            str(prepared), str(out), reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv"],
            nodes_to_quantize=to_quantize,
            nodes_to_exclude=keep,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    quant = onnx.load(str(out))
    # quant_pre_process keeps the metadata only sometimes: copy it from the fp32 model.
    meta = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
    meta["linepatrol_precision"] = "int8"
    meta["linepatrol_calibration_images"] = str(len(calibration))
    set_metadata(quant, meta)
    onnx.save(quant, str(out))
    return out


# --- parity ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parity:
    model: str
    max_abs_diff: float  # raw outputs, whole tensor
    max_score_diff: float  # class-score rows only (0..1)
    same_detections: bool
    torch_detections: int
    onnx_detections: int
    input_shape: tuple[int, int] = (0, 0)  # (height, width) of the inputs compared

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def torch_outputs(weights: Path, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import torch

    net = (load_for_inference(weights) if is_yolox_checkpoint(weights)
           else _load_checkpoint(weights).model.float().eval())
    with torch.inference_mode():
        out = net(torch.from_numpy(blob))
    out = out[0] if isinstance(out, list | tuple) else out
    return np.asarray(out.numpy(), dtype=np.float32)


def _detections(out: npt.NDArray[np.float32], nc: int, conf: float) -> list[Any]:
    """Decoded detections per image with the core's decoder (what users get)."""
    from linepatrol.detector import decode
    from linepatrol.runtime.model_info import ModelInfo, OutputLayout

    info = ModelInfo("", "images", 0, 0, "float32", True, tuple(str(i) for i in range(nc)), 32,
                     OutputLayout.RAW, {})
    return [decode(o, info, conf, 0.45, 300) for o in out]


def compare(reference: npt.NDArray[np.float32], candidate: npt.NDArray[np.float32], name: str,
            conf: float = 0.25, box_tol: float = 2.0,
            input_shape: tuple[int, int] = (0, 0)) -> Parity:
    """How far an exported model's outputs are from torch's, and do the detections agree."""
    nc = reference.shape[1] - 4
    diff = np.abs(reference - candidate)
    ref_d, cand_d = _detections(reference, nc, conf), _detections(candidate, nc, conf)
    same = True
    n_ref = n_cand = 0
    for (rb, _, rc), (cb, _, cc) in zip(ref_d, cand_d, strict=True):
        n_ref, n_cand = n_ref + len(rb), n_cand + len(cb)
        if len(rb) != len(cb):
            same = False
            continue
        order_r, order_c = np.lexsort((rb[:, 0], rc)), np.lexsort((cb[:, 0], cc))
        if not (np.array_equal(rc[order_r], cc[order_c])
                and np.allclose(rb[order_r], cb[order_c], atol=box_tol)):
            same = False
    return Parity(name, float(diff.max()), float(diff[:, 4:].max()), same, n_ref, n_cand,
                  input_shape)


def onnx_outputs(path: Path, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
    return np.asarray(sess.run(None, {inp.name: blob.astype(dtype)})[0], dtype=np.float32)


# --- everything --------------------------------------------------------------------------------


def _default_calibration(weights: Path) -> Path | None:
    """The training dataset recorded in the checkpoint, if it is still on this machine."""
    import torch

    ckpt = torch.load(str(weights), map_location="cpu", weights_only=False)
    data = (ckpt.get("train_args") or {}).get("data") if isinstance(ckpt, dict) else None
    return Path(data) if data and Path(data).exists() else None


def export_all(
    weights: Path,
    out: Path | None = None,
    imgsz: int | None = None,
    half: bool = True,
    int8: bool = True,
    calibration: Path | None = None,
    calibration_images: int = 64,
    parity_images: int = 4,
    tile_auto: str | None = None,
    classes: Sequence[str] | None = None,
    class_conf: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """fp32 (+ fp16, + INT8) ONNX models of a checkpoint, each checked against torch."""
    weights = Path(weights)
    out = Path(out) if out else weights.with_suffix(".onnx")
    fp32, size = export_fp32(weights, out, imgsz, tile_auto=tile_auto, classes=classes,
                             class_conf=class_conf)
    kept_rows = output_rows(checkpoint_names(weights), classes)
    report: dict[str, Any] = {"fp32": str(fp32), "imgsz": size,
                              "fp32_bytes": fp32.stat().st_size}

    source = calibration or _default_calibration(weights)
    calib: list[Path] = []
    if source is not None:
        try:
            calib = pick_calibration_images(source, calibration_images)
        except DatasetError as exc:
            raise ExportError(str(exc)) from None
        except ExportError:
            if calibration is not None or int8:
                raise
            # the checkpoint's own data folder holds no photos (a run of 0 epochs): parity
            # on random input below, as without any calibration source
            calib = []
    # Parity on square inputs (tiles, fixed-shape use) and on a 4:3 photo's rect input (the
    # whole-photo pass): the dynamic axes must give torch's answer at both.
    rows = rect_height(size)
    if calib:
        probe = calib[:: max(1, len(calib) // parity_images)][:parity_images]
        blobs = [preprocess(probe, size), preprocess(probe, size, rows)]
    else:
        log.warning("no calibration images: parity is checked on random input only")
        rng = np.random.default_rng(0)
        blobs = [rng.random((2, 3, h, size), dtype=np.float32) for h in (size, rows)]
    references = [torch_outputs(weights, blob)[:, kept_rows] for blob in blobs]

    def check(model: Path, name: str) -> list[Parity]:
        return [compare(ref, onnx_outputs(model, blob), name,
                        input_shape=(int(blob.shape[2]), int(blob.shape[3])))
                for ref, blob in zip(references, blobs, strict=True)]

    parity = check(fp32, "fp32")
    for p in parity:
        if not p.same_detections:
            raise ExportError(f"fp32 ONNX disagrees with torch: {p.as_dict()}")
    if half:
        fp16 = export_fp16(fp32, out.with_name(out.stem + "-fp16.onnx"))
        report["fp16"] = str(fp16)
        parity += check(fp16, "fp16")
    if int8:
        if not calib:
            raise ExportError("INT8 export needs calibration images: pass --calibration "
                              "(the checkpoint's training data is not on this machine)")
        q = export_int8(fp32, out.with_name(out.stem + "-int8.onnx"), calib, size)
        report["int8"] = str(q)
        report["int8_bytes"] = q.stat().st_size
        report["calibration_images"] = len(calib)
        parity += check(q, "int8")
    report["parity_inputs"] = int(blobs[0].shape[0])
    report["parity"] = [p.as_dict() for p in parity]
    return report
