"""An ultralytics model that exists only as its ONNX file, made trainable again.

Why: a model trained on a lent GPU ships as ONNX; its checkpoint stays on that machine. To train
it on (new negatives, a new class of photo) the network is rebuilt from its architecture YAML,
fused as ultralytics' export fuses it (each convolution with a bias, its BatchNorm folded in),
and takes the ONNX initializers by name: the export keeps the module paths as tensor names.
A fused network trains as it is: its convolutions' weights and biases are the parameters, and
with no BatchNorm left there are no batch statistics to re-learn from a few photos. The
rebuild is checked against ONNX Runtime on a probe input before anything trains on it.

:class:`FusedDetectionTrainer` is ultralytics' detection trainer except that it trains a fused
network it is handed (fresh or from a checkpoint it saved) instead of rebuilding an unfused one
and losing the biases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.tasks import DetectionModel

from linepatrol.runtime.model_info import ModelLoadError, parse_names

# Largest difference allowed between the rebuilt network and the ONNX file on the probe (the
# outputs are pixel coordinates and sigmoid scores; float32 sums differ in the last digits).
PARITY_ATOL = 1e-2


class OnnxRebuildError(ValueError):
    """The ONNX file does not map onto the architecture: names, shapes or outputs differ."""


def onnx_names(model: onnx.ModelProto, path: Path) -> tuple[str, ...]:
    """The file's class names, read as the core reads them."""
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        return parse_names(meta.get("names"), None, str(path))
    except ModelLoadError as exc:
        raise OnnxRebuildError(str(exc)) from None


def is_fused(model: torch.nn.Module) -> bool:
    """No BatchNorm left: the network as ultralytics' export fuses it."""
    return not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


def file_tensors(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The initializers by name, and the names the exporter made aliases of them: where two
    tensors were equal (two biases, say) it kept one and named the other an ``Identity`` of it."""
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    return tensors


def fused_from_onnx(path: Path, arch: str) -> DetectionModel:
    """The network of ``arch`` (e.g. ``yolov8n.yaml``), fused, with the ONNX file's weights;
    checked against ONNX Runtime on a probe input."""
    proto = onnx.load(str(path))
    names = onnx_names(proto, path)
    model = DetectionModel(arch, nc=len(names), verbose=False)  # type: ignore[no-untyped-call]
    model.names = dict(enumerate(names))
    model.fuse(verbose=False)  # type: ignore[no-untyped-call]
    state = model.state_dict()
    tensors = file_tensors(proto)
    wanted = {k for k, v in state.items() if v.dtype.is_floating_point and k in tensors}
    missing = sorted(k for k in state if k not in tensors and not k.endswith("anchors")
                     and not k.endswith("strides") and "dfl" not in k)
    if missing:
        raise OnnxRebuildError(f"{path}: no tensor for {missing[:5]} ({len(missing)} in all): "
                               f"not an export of {arch}")
    for key in wanted:
        if tuple(tensors[key].shape) != tuple(state[key].shape):
            raise OnnxRebuildError(f"{path}: {key} is {tensors[key].shape} in the file, "
                                   f"{tuple(state[key].shape)} in {arch}")
        state[key] = torch.from_numpy(tensors[key].copy())
    model.load_state_dict(state)
    check_parity(model, path)
    return model


def check_parity(model: DetectionModel, path: Path, size: int = 320) -> float:
    """Largest output difference between ``model`` and the file on a random probe input."""
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: x})[0]
    model.eval()
    with torch.no_grad():
        ours = model(torch.from_numpy(x))
    ours_np = (ours[0] if isinstance(ours, tuple | list) else ours).numpy()
    if ours_np.shape != reference.shape:
        raise OnnxRebuildError(f"{path}: output {reference.shape}, rebuilt {ours_np.shape}")
    diff = float(np.abs(ours_np - reference).max())
    if diff > PARITY_ATOL:
        raise OnnxRebuildError(f"{path}: the rebuilt network differs from the file by {diff:.3g}")
    return diff


def checkpoint_from_onnx(path: Path, arch: str, out: Path, imgsz: int) -> Path:
    """An ultralytics checkpoint (``.pt``) holding the fused network of an ONNX file, for
    :class:`FusedDetectionTrainer` to train on."""
    model = fused_from_onnx(path, arch)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "train_args": {"imgsz": imgsz, "model": arch},
                "date": datetime.now(UTC).isoformat(), "linepatrol_source": path.name},
               str(out))
    return out


class FusedDetectionTrainer(DetectionTrainer):
    """Trains a fused network as it is handed over (see the module's docstring)."""

    def get_model(self, cfg: Any = None, weights: torch.nn.Module | None = None,
                  verbose: bool = True) -> DetectionModel:
        if weights is None or not is_fused(weights):
            return cast(DetectionModel, super().get_model(cfg, weights, verbose))
        names = tuple(self.data["names"][i] for i in range(len(self.data["names"])))
        own_names = cast(dict[int, str], weights.names)
        own = tuple(own_names[i] for i in range(len(own_names)))
        if names != own:
            raise OnnxRebuildError(f"the network detects {list(own)}, the data has "
                                   f"{list(names)}: train on data of the same classes")
        model = cast(DetectionModel, weights.float())
        for p in model.parameters():
            p.requires_grad_(True)
        return model
