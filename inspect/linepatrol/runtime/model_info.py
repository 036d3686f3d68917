"""What a detection model is, read from its ONNX file: classes, input size, output layout."""

from __future__ import annotations

import ast
import contextlib
import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from linepatrol import taxonomy

log = logging.getLogger(__name__)


class ModelLoadError(ValueError):
    """The file is not a usable ONNX detection model; the message names the file and the fault."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class OutputLayout(StrEnum):
    # Ultralytics YOLOv8/v11 export: (batch, 4 + classes, anchors), centre-xywh then scores.
    RAW = "raw"
    # End-to-end exports (YOLOv10/26, or nms=True): (batch, max_det, 6) as x1 y1 x2 y2 score cls.
    END2END = "end2end"


@dataclass(frozen=True)
class ModelInfo:
    path: str
    input_name: str
    input_height: int
    input_width: int
    input_dtype: str  # the network's: "float32" or "float16"
    dynamic_batch: bool
    names: tuple[str, ...]  # taxonomy keys where the model's names map onto the taxonomy
    stride: int
    layout: OutputLayout
    metadata: dict[str, str]
    # Height and width are symbolic in the graph: the model runs any stride-multiple size, and
    # input_height x input_width (from 'imgsz') is only the size it was trained at.
    dynamic_hw: bool = False
    # The session takes NHWC BGR uint8 images as decoded and normalises them inside the graph
    # (see :mod:`linepatrol.runtime.image_input`), not the NCHW RGB float blob of the export.
    image_input: bool = False

    @property
    def input_size(self) -> int:
        return max(self.input_height, self.input_width)

    @cached_property  # read once: every photo's decode asks (an unreadable value warns once)
    def class_conf(self) -> dict[str, float]:
        """The model's own operating thresholds for some classes (see :data:`CLASS_CONF_KEY`);
        empty where it has none."""
        return read_class_conf(self.metadata.get(CLASS_CONF_KEY), self.names, self.path)

    @property
    def auto_tile_factor(self) -> float | None:
        """What ``--tile auto`` does for this model: tiles of this many input sides, or None
        for one whole-photo pass (see :data:`TILE_AUTO_KEY`)."""
        return parse_auto_tile(self.metadata.get(TILE_AUTO_KEY), self.path)

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "classes": list(self.names),
            "input_size": [self.input_height, self.input_width],
            "dynamic_input_size": self.dynamic_hw,
            "input_dtype": self.input_dtype,
            "image_input": self.image_input,
            "layout": self.layout.value,
            "stride": self.stride,
            "auto_tile_factor": self.auto_tile_factor,
            "class_conf": self.class_conf,
        }


# Model metadata: how ``--tile auto`` cuts large photos for this model. A model learns objects
# at the scale its training photos had at its input. CPLID's 1152x864 photos ran at 640, about
# half scale, so tiles of 2 input sides (downscaled 2x) show a 20 MP photo's objects at that
# scale: the default. A model trained on whole low-resolution views of a corridor (the
# synthetic scenes at 640x480) sees a 4000x3000 photo's machines at their training scale only
# in one whole-photo pass: "off". Written by ``linepatrol export --tile-auto``.
TILE_AUTO_KEY = "linepatrol_tile_auto"
DEFAULT_AUTO_TILE_FACTOR = 2.0


# Model metadata: the model's own operating threshold for some of its classes, as a JSON object
# {class key: threshold}. One threshold does not fit every class of a model: a class learned from
# few examples (flashover marks, broken discs) scores lower where it is right, so the card's
# per-class precision and recall choose its operating point, and the model carries it, so that
# every program that runs the model (detect, the service, the edge) uses the same one. Written
# by ``linepatrol export --class-conf``; a threshold the user gives for a class wins.
CLASS_CONF_KEY = "linepatrol_class_conf"


def class_conf_rule(raw: dict[str, float], names: tuple[str, ...] = ()) -> dict[str, float]:
    """Thresholds as written: each a number in [0, 1] for a class of the model (when its
    names are given); anything else is a ValueError."""
    out = {}
    for key, value in raw.items():
        if names and key not in names:
            raise ValueError(f"class {key!r} is not one of the model's {list(names)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"the threshold of {key!r} must be a number in [0, 1], "
                             f"not {value!r}")
        out[str(key)] = float(value)
    return out


def read_class_conf(raw: str | None, names: tuple[str, ...], path: str = "model"
                     ) -> dict[str, float]:
    """A model's per-class thresholds from its metadata; missing -> none, unreadable -> none
    (with a warning: the model still runs, at the configured threshold)."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        return class_conf_rule(value, names)
    except ValueError as exc:
        log.warning("%s: %s=%r is unreadable (%s); every class runs at the configured "
                    "threshold", path, CLASS_CONF_KEY, raw, exc)
        return {}


def auto_tile_rule(value: str) -> float | None:
    """A ``--tile auto`` rule as written: ``off`` -> None, a factor >= 1 -> that factor;
    anything else is a ValueError."""
    text = value.strip().lower()
    if text == "off":
        return None
    try:
        factor = float(text)
    except ValueError:
        factor = 0.0
    if not factor >= 1.0:  # also NaN
        raise ValueError(f"the tile rule must be 'off' or a factor >= 1, not {value!r}")
    return factor


def parse_auto_tile(raw: str | None, path: str = "model") -> float | None:
    """A model's rule from its metadata; missing or unreadable -> the default (with a warning:
    the model still runs, tiled as most models want)."""
    if raw is None:
        return DEFAULT_AUTO_TILE_FACTOR
    try:
        return auto_tile_rule(raw)
    except ValueError:
        log.warning("%s: %s=%r is neither 'off' nor a factor >= 1; using %s", path,
                    TILE_AUTO_KEY, raw, DEFAULT_AUTO_TILE_FACTOR)
        return DEFAULT_AUTO_TILE_FACTOR


def parse_names(raw: str | None, n_classes: int | None, path: str) -> tuple[str, ...]:
    """The class names of a model's ``names`` metadata (ultralytics writes a dict literal)."""
    if raw is None:
        raise ModelLoadError(path, "no 'names' in the model metadata (export with class names)")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ModelLoadError(path, f"unreadable 'names' metadata: {raw[:80]!r}") from None
    if isinstance(value, dict):
        try:
            items = sorted((int(k), str(v)) for k, v in value.items())
        except (TypeError, ValueError):
            raise ModelLoadError(path, "'names' metadata keys are not class indices") from None
        if [k for k, _ in items] != list(range(len(items))):
            raise ModelLoadError(path, "'names' metadata indices are not 0..n-1")
        names = [v for _, v in items]
    elif isinstance(value, list | tuple):
        names = [str(v) for v in value]
    else:
        raise ModelLoadError(path, "'names' metadata is neither a dict nor a list")
    if n_classes is not None and len(names) != n_classes:
        raise ModelLoadError(
            path, f"metadata names {len(names)} classes but the output carries {n_classes}"
        )
    for name in names:
        if name not in taxonomy.BY_KEY:
            log.warning("%s: class %r is not a LinePatrol class; reported as is", path, name)
    return tuple(names)


def _dim(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def read_model_info(session: Any, path: Path | str, network_dtype: str | None = None
                    ) -> ModelInfo:
    """Check that an ONNX Runtime session is a detection model we can decode, and describe it.

    ``network_dtype`` is the float type behind a uint8 image input (which the session's own
    input does not show)."""
    path = str(path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ModelLoadError(path, f"expected one image input, found {len(inputs)}")
    inp = inputs[0]
    shape = list(inp.shape)
    if len(shape) != 4:
        raise ModelLoadError(path, f"input {inp.name!r} has shape {shape}, expected NCHW")
    if inp.type not in ("tensor(float)", "tensor(float16)", "tensor(uint8)"):
        raise ModelLoadError(path, f"input type {inp.type} is not float32/float16")
    images = inp.type == "tensor(uint8)"  # NHWC BGR uint8, normalised in the graph
    if images:
        shape = [shape[0], shape[3], shape[1], shape[2]]  # read as NCHW below
    meta: dict[str, str] = dict(session.get_modelmeta().custom_metadata_map)
    h, w = _dim(shape[2]), _dim(shape[3])
    dynamic_hw = h is None and w is None  # one fixed axis: run the nominal size only
    if (h is None or w is None) and "imgsz" in meta:
        try:
            size = ast.literal_eval(meta["imgsz"])
            h, w = (int(size[0]), int(size[1])) if isinstance(size, list | tuple) else (
                int(size), int(size))
        except (ValueError, SyntaxError, TypeError, IndexError):
            pass
    if h is None or w is None:
        raise ModelLoadError(path, "input size is neither fixed in the graph nor in 'imgsz'")
    if shape[1] != 3:
        raise ModelLoadError(path, f"input has {shape[1]} channels, expected 3")
    if not outputs:
        raise ModelLoadError(path, "the model has no outputs")
    out_shape = list(outputs[0].shape)
    if len(out_shape) != 3:
        raise ModelLoadError(
            path, f"output {outputs[0].name!r} has shape {out_shape}; expected a YOLO detection "
            "output (batch, 4+classes, anchors) or (batch, boxes, 6)"
        )
    d1, d2 = _dim(out_shape[1]), _dim(out_shape[2])
    if d2 == 6 and (d1 is None or d1 > 6):
        layout, n_classes = OutputLayout.END2END, None
    elif d1 is not None and d1 > 4:
        layout, n_classes = OutputLayout.RAW, d1 - 4
    else:
        raise ModelLoadError(path, f"cannot decode output shape {out_shape}")
    names = parse_names(meta.get("names"), n_classes, path)
    stride = 32
    if "stride" in meta:
        with contextlib.suppress(ValueError, SyntaxError, TypeError):
            stride = int(ast.literal_eval(meta["stride"]))
    return ModelInfo(
        path=path,
        input_name=inp.name,
        input_height=h,
        input_width=w,
        input_dtype=((network_dtype or "uint8") if images else
                     "float16" if inp.type == "tensor(float16)" else "float32"),
        dynamic_batch=not isinstance(shape[0], int),
        names=names,
        stride=stride,
        layout=layout,
        metadata=meta,
        dynamic_hw=dynamic_hw,
        image_input=images,
    )
