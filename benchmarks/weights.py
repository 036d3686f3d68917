"""The same weights for both sides: an ultralytics checkpoint and the ONNX models made from it.

Ultralytics runs the ``.pt``; LinePatrol runs the ONNX that ``linepatrol_models.export`` makes
from it (the project's one export path, which keeps ultralytics from pip-installing anything).
Without ``--weights`` a small YOLOv8n is built from its YAML with random weights: fine for speed,
meaningless for recall and mAP (the results say so). ``--weights-from-onnx`` recovers a
checkpoint from an ONNX file that ultralytics exported (a shipped model whose ``.pt`` is not on
this machine): the export fuses each convolution with its batch norm and names the fused weights
as the fused model's ``state_dict`` does, so the fused network is rebuilt from its YAML and the
weights are copied in one for one. Both sides then run trained weights, and LinePatrol runs a
fresh export of that checkpoint, made as ``linepatrol export`` makes it today.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TINY_NAMES = {0: "insulator", 1: "insulator_missing_cap"}


@dataclass
class ModelSet:
    weights: Path  # the ultralytics checkpoint
    imgsz: int
    trained: bool  # False for random weights: recall and mAP are then meaningless
    epoch: int | None = None  # the checkpoint's last completed epoch, if recorded
    onnx: dict[str, Path] = field(default_factory=dict)  # variant -> file ("fp32", "fp16", "int8")
    names: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"weights": str(self.weights), "imgsz": self.imgsz, "trained": self.trained,
                "epoch": self.epoch,
                "onnx": {k: str(v) for k, v in self.onnx.items()}, "names": list(self.names),
                "notes": self.notes}


def offline_ultralytics() -> None:
    """No downloads, no pip installs, no telemetry, nothing written to the working directory."""
    from linepatrol_models.offline import prepare_offline

    prepare_offline(Path(tempfile.gettempdir()) / "linepatrol-bench-ultralytics")


def build_random_checkpoint(path: Path, imgsz: int, arch: str = "yolov8n.yaml") -> Path:
    """A YOLO checkpoint with random weights from the architecture YAML (nothing downloaded)."""
    offline_ultralytics()
    import torch
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel(cfg=arch, nc=len(TINY_NAMES), verbose=False)  # type: ignore[no-untyped-call]
    model.names = dict(TINY_NAMES)
    # torch's Module.__setattr__ stub takes tensors and modules; ultralytics reads a plain dict
    model.args = {"imgsz": imgsz, "task": "detect"}  # type: ignore[assignment]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "train_args": {"imgsz": imgsz, "task": "detect"},
                "date": None, "version": None}, str(path))
    return path


def checkpoint_from_onnx(onnx_path: Path, out: Path, arch: str | None = None) -> Path:
    """An ultralytics checkpoint holding the weights of an ultralytics ONNX export.

    The architecture is the YAML named in the export's description (``Ultralytics YOLOv8n
    model ...``) unless ``arch`` is given; every ONNX initializer must match a tensor of the
    fused model by name and shape and every tensor must be filled, else this raises. The
    checkpoint records no epoch count, so it counts as trained.
    """
    import ast
    import re

    import onnx
    from onnx import numpy_helper

    offline_ultralytics()
    import torch
    from ultralytics.nn.tasks import DetectionModel

    model = onnx.load(str(onnx_path))
    meta = {p.key: p.value for p in model.metadata_props}
    if arch is None:
        found = re.search(r"Ultralytics (YOLO\w+?) model", meta.get("description", ""))
        if found is None:
            raise ValueError(f"{onnx_path}: no architecture in its description; name one")
        arch = f"{found.group(1).lower()}.yaml"
    names = {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}
    size = ast.literal_eval(meta.get("imgsz", "640"))
    imgsz = int(max(size)) if isinstance(size, list | tuple) else int(size)
    net = DetectionModel(cfg=arch, nc=len(names), verbose=False).eval().fuse(verbose=False)  # type: ignore[no-untyped-call]
    state = net.state_dict()
    arrays = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    # The exporter shares one initializer among equal tensors (say the zero biases of an
    # untrained model) and feeds the others through Identity nodes.
    alias = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity"}
    weights = {}
    for key in state:
        name = key
        while name not in arrays and name in alias:
            name = alias[name]
        if name in arrays:
            weights[key] = arrays[name]
    missing = sorted(set(state) - set(weights))
    wrong = sorted(k for k, v in weights.items() if tuple(state[k].shape) != v.shape)
    if missing or wrong:
        raise ValueError(f"{onnx_path} does not hold a fused {arch}: missing {missing[:5]}, "
                         f"shape mismatch {wrong[:5]}")
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    net.names = names
    net.args = {"imgsz": imgsz, "task": "detect"}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": net, "train_args": {"imgsz": imgsz, "task": "detect"}, "epoch": -1,
                "date": None, "version": None, "linepatrol_recovered_from": onnx_path.name},
               str(out))
    return out


def checkpoint_info(weights: Path) -> tuple[int, tuple[str, ...], bool, int | None]:
    """(training image size, class names, trained?, last epoch) recorded in a checkpoint."""
    import torch

    ckpt = torch.load(str(weights), map_location="cpu", weights_only=False)
    args = ckpt.get("train_args") or {}
    model = ckpt.get("ema") or ckpt.get("model")
    names = getattr(model, "names", None) or {}
    ordered = tuple(str(names[k]) for k in sorted(names)) if isinstance(names, dict) else tuple(
        str(n) for n in names)
    trained = bool(args.get("epochs")) or ckpt.get("epoch") is not None
    epoch = ckpt.get("epoch")
    return int(args.get("imgsz") or 640), ordered, trained, (
        int(epoch) if isinstance(epoch, int) and epoch >= 0 else None)


def input_is_fixed(onnx_path: Path) -> bool:
    """Whether the model's input height and width are fixed numbers (square-only exports)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return all(d.HasField("dim_value") for d in dims[2:4])


def fixed_shape_copy(src: Path, dst: Path, imgsz: int) -> Path:
    """``src`` with its input pinned to ``imgsz`` x ``imgsz``: the export as it was before the
    input axes became dynamic (the core then letterboxes every photo to the square)."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    from linepatrol_models.export import pin_shapes

    session = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
    out = session.run(None, {inp.name: np.zeros((1, 3, imgsz, imgsz), dtype)})[0]
    model = onnx.load(str(src))
    pin_shapes(model, imgsz, out.shape)
    onnx.save(model, str(dst))
    return dst


def _metadata(onnx_path: Path) -> dict[str, str]:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def _shipped(onnx: Path | None, variant: str) -> Path | None:
    """``X-fp16.onnx`` / ``X-int8.onnx`` next to a given ``X.onnx`` (``linepatrol export``'s
    naming): the variants users get, used instead of exporting our own."""
    if onnx is None:
        return None
    candidate = onnx.with_name(f"{onnx.stem}-{variant}.onnx")
    return candidate if candidate.is_file() else None


def _digest(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:10]


def prepare_models(
    work: Path,
    weights: Path | None,
    onnx: Path | None,
    imgsz: int | None,
    variants: tuple[str, ...],
    calibration: list[Path],
    from_onnx: Path | None = None,
) -> ModelSet:
    """The checkpoint and its ONNX variants, exported once into ``work`` and reused."""
    from linepatrol_models import export

    offline_ultralytics()
    models_dir = work / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    if from_onnx is not None:
        weights = models_dir / f"{from_onnx.stem}-{_digest(from_onnx)}-recovered.pt"
        if not weights.is_file():
            checkpoint_from_onnx(from_onnx, weights)
        size_ckpt, names, trained, epoch = checkpoint_info(weights)
        size = imgsz or size_ckpt
        notes = [f"checkpoint recovered from {from_onnx.name} (its fused weights, one for one); "
                 "ultralytics and SAHI run it, LinePatrol runs its export made here"]
    elif weights is None:
        size = imgsz or 320
        weights = models_dir / f"yolov8n-random-{size}.pt"
        if not weights.is_file():  # built once per work folder: same weights, same exports
            build_random_checkpoint(weights, size)
        _, names, trained, epoch = checkpoint_info(weights)
        notes = ["random-weights YOLOv8n built from yolov8n.yaml: speeds are real, "
                 "recall and mAP are meaningless"]
    else:
        size_ckpt, names, trained, epoch = checkpoint_info(weights)
        size = imgsz or size_ckpt
        notes = []
    stem = f"{weights.stem}-{_digest(weights)}-{size}-dyn"  # -dyn: dynamic input axes
    fp32 = onnx if onnx is not None else models_dir / f"{stem}.onnx"
    if onnx is None and not fp32.is_file():
        export.export_fp32(weights, fp32, size)
    if onnx is not None:
        source = _metadata(onnx).get("linepatrol_source")
        notes.append(f"ONNX given with --onnx ({onnx.name}, exported from {source or '?'})")
        if source and source != weights.name:
            notes.append(f"WARNING: {onnx.name} records {source} as its source, not "
                         f"{weights.name}: the two sides may not run the same weights")
    models = ModelSet(weights, size, trained, epoch, {"fp32": fp32}, names, notes)
    if input_is_fixed(fp32):
        notes.append(f"{fp32.name} has a fixed input shape: LinePatrol letterboxes every photo "
                     "to the square")
    else:  # the same weights pinned square, to show what the rect input buys in the same run
        square = models_dir / f"{fp32.stem}-square.onnx"
        if not square.is_file():
            fixed_shape_copy(fp32, square, size)
        models.onnx["fp32_square"] = square
    if "fp16" in variants:
        fp16 = _shipped(onnx, "fp16") or models_dir / f"{fp32.stem}-fp16.onnx"
        if not fp16.is_file():
            export.export_fp16(fp32, fp16)
        models.onnx["fp16"] = fp16
    if "int8" in variants:
        int8 = _shipped(onnx, "int8") or models_dir / f"{fp32.stem}-int8-c{len(calibration)}.onnx"
        if not int8.is_file():
            export.export_int8(fp32, int8, calibration, size)
        models.onnx["int8"] = int8
    return models
