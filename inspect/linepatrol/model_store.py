"""Where models are found: a path, a bundled name, or the default.

One decision lives here: which model runs when the user names none. The shipped models are
``models/*.onnx`` in a source checkout and ``linepatrol/bundled_models/`` in a wheel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Models in order of preference when none is named (LINEPATROL_MODEL / --model choose another):
# the first one whose models are all installed wins; "A+B" runs A and B together, each class
# from the first of them that detects it (linepatrol.ensemble). The rule: each class from the
# model measured best on real photos (README's dev-set table, model cards):
# - linepatrol-patrol-v4 (shipped with insulators, flashover, broken discs and foreign objects
#   only): insulators of any make (IDD as well as CPLID), the only model that knows flashover
#   and broken discs, and foreign objects learned from real photos (patrol-v3 trained on with
#   IDD twice and text-stamped negatives: better on each of these than patrol-v3);
# - linepatrol-cplid-v1: missing caps (its CPLID accuracy, box for box);
# - linepatrol-corridor-v2: towers, dampers, nests and the named machines, learned from
#   synthetic scenes only (corridor-v1 trained on with camera on-screen text as a negative,
#   which v1 read as objects);
# - linepatrol-machinery-coco-v1: construction machinery of any kind, COCO's truck features.
# The cost is four models per photo, two of them small (YOLOX-Nano).
ENSEMBLE_SEP = "+"
DEFAULT_MODELS = (
    ENSEMBLE_SEP.join(("linepatrol-patrol-v4", "linepatrol-cplid-v1", "linepatrol-corridor-v2",
                       "linepatrol-machinery-coco-v1")),
    f"linepatrol-cplid-v1{ENSEMBLE_SEP}linepatrol-corridor-v2",
    "linepatrol-cplid-v1",
    "linepatrol-corridor-v2",
)


@dataclass(frozen=True)
class ActiveModel:
    """The model a service's registry runs (``linepatrol.model_registry`` entry points answer
    with one): the version's name, and the spec to open (None: the default)."""

    version: str
    spec: str | None


class ModelNotFoundError(FileNotFoundError):
    """No model at the given path or name, or no bundled model installed."""


def bundled_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    return [here / "bundled_models", here.parent.parent / "models"]


def bundled_models() -> dict[str, Path]:
    """Bundled model name -> path, for every ``*.onnx`` shipped with this install."""
    found: dict[str, Path] = {}
    for folder in bundled_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.onnx")):
                found.setdefault(path.stem, path)
    return found


INT8_SUFFIX = "-int8"


def pick_precision(path: Path, precision: str, on_cpu: bool) -> Path:
    """The file to run for ``path`` at the requested precision.

    ``auto`` runs a model's INT8 sibling (``NAME-int8.onnx``, statically quantized, made by
    ``linepatrol export``) when the session will run on the CPU — about 1.4x faster there at the
    same mAP50 (see the model card) — and the fp32 file on GPUs, whose fp16/TensorRT paths want
    float weights. ``int8`` insists on the sibling; ``fp32`` keeps ``path``.
    """
    if precision not in ("auto", "fp32", "int8"):
        raise ValueError(f"precision must be auto, fp32 or int8, not {precision!r}")
    if path.stem.endswith(INT8_SUFFIX) or precision == "fp32":
        return path
    sibling = path.with_name(path.stem + INT8_SUFFIX + path.suffix)
    if precision == "int8" and not sibling.is_file():
        raise ModelNotFoundError(f"no INT8 variant of {path.name} (expected {sibling.name})")
    if sibling.is_file() and (precision == "int8" or on_cpu):
        return sibling
    return path


def resolve_models(spec: str | None) -> list[Path]:
    """The model files for ``spec``: an existing path, a bundled name, several of those joined
    by ``+`` (run together), or (None) the default."""
    available = bundled_models()
    if spec is None:
        for default in DEFAULT_MODELS:
            names = default.split(ENSEMBLE_SEP)
            if all(name in available for name in names):
                return [available[name] for name in names]
        raise ModelNotFoundError(
            "no model is installed: this install ships no bundled model yet. Pass --model "
            "FILE.onnx (or set LINEPATROL_MODEL), or train one with 'linepatrol train'."
        )
    if Path(spec).expanduser().is_file():
        return [Path(spec).expanduser()]
    parts = [part.strip() for part in spec.split(ENSEMBLE_SEP)]
    if any(not part for part in parts):
        raise ModelNotFoundError(f"model {spec!r}: an empty name around {ENSEMBLE_SEP!r}")
    paths = []
    for part in parts:
        path = Path(part).expanduser()
        if path.is_file():
            paths.append(path)
            continue
        name = part.removesuffix(".onnx")
        if name not in available:
            known = ", ".join(sorted(available)) or "none"
            raise ModelNotFoundError(
                f"model {part!r} is neither a file nor a bundled model ({known})")
        paths.append(available[name])
    return paths


def resolve_model(spec: str | None) -> Path:
    """One model file for ``spec``: the first of a set (see :func:`resolve_models`)."""
    return resolve_models(spec)[0]
