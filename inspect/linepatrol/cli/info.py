"""``linepatrol info``: version, providers and the model that would run."""

from __future__ import annotations

import argparse
import json
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from linepatrol.cli.errors import UserError
from linepatrol.model_store import ActiveModel


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "info",
        help="show version, execution providers and the model",
        description="Load the model on this machine's best execution provider and report what "
        "ONNX Runtime actually activated (a GPU build falls back to the CPU without CUDA).",
    )
    p.add_argument("--model", help="ONNX model file or bundled model name (default: bundled)")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="a service's data directory: report and load the model version its "
                   "registry runs (default: $LINEPATROL_DATA_DIR, if set)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def registered_model(data_dir: Path) -> ActiveModel | None:
    """What the service registry in ``data_dir`` runs, asked of the installed registry (the
    service package's ``linepatrol.model_registry`` entry point; none without the service)."""
    for ep in entry_points(group="linepatrol.model_registry"):
        try:
            lookup = ep.load()
        except ImportError:  # the service extra is not installed
            continue
        found = lookup(data_dir)
        if isinstance(found, ActiveModel):
            return found
    return None


def collect(model: str | None, data_dir: Path | None = None) -> dict[str, Any]:
    import onnxruntime as ort

    from linepatrol import __version__
    from linepatrol.ensemble import describe_set
    from linepatrol.model_store import ModelNotFoundError, bundled_models
    from linepatrol.pipeline import model_paths
    from linepatrol.runtime.providers import probe_usable
    from linepatrol.runtime.session import OrtSession
    from linepatrol.settings import CoreSettings

    settings = CoreSettings()
    available = ort.get_available_providers()
    out: dict[str, Any] = {
        "version": __version__,
        "onnxruntime": ort.__version__,
        # what the installed build offers, and what this machine can run of it: a GPU build
        # lists TensorRT and CUDA on a laptop without a GPU too
        "available_providers": available,
        "usable_providers": probe_usable(available),
        "bundled_models": sorted(bundled_models()),
    }
    if model is None and data_dir is not None:
        active = registered_model(data_dir)
        if active is not None:
            out["model_version"] = active.version
            model = active.spec
    try:
        paths = model_paths(model, settings)
    except ModelNotFoundError as exc:
        out["model"] = None
        out["model_error"] = str(exc)
        return out
    members = [OrtSession(path, providers=settings.providers, warmup=False,
                          spinning=settings.ort_spinning).describe() for path in paths]
    # several models run together: each class from the first that detects it
    out["model"] = members[0] if len(members) == 1 else describe_set(members)
    return out


def _print_model(model: dict[str, Any], indent: str = "") -> None:
    print(f"{indent}model: {model['path']}")
    print(f"{indent}  classes: {', '.join(model['classes'])}")
    if "owns" in model:
        print(f"{indent}  classes taken from it: {', '.join(model['owns']) or 'none'}")
    h, w = model["input_size"]
    print(f"{indent}  input size: {w}x{h} ({model['input_dtype']})")
    factor = model.get("auto_tile_factor")
    rule = (f"tiles of {factor:g}x the input side" if factor else "one whole-photo pass")
    print(f"{indent}  --tile auto: {rule} (the model's training scale)")
    own = model.get("class_conf") or {}
    if own:
        print(f"{indent}  its own thresholds: "
              + ", ".join(f"{key} {conf:g}" for key, conf in own.items()) + " (others: --conf)")
    print(f"{indent}  active providers: {', '.join(model['active_providers'])}")
    if model["fallback"]:
        print(f"{indent}  note: {model['fallback']}")


def run(args: argparse.Namespace) -> int:
    from linepatrol.runtime.model_info import ModelLoadError
    from linepatrol.runtime.providers import ProviderError

    try:
        data = args.data or (Path(os.environ["LINEPATROL_DATA_DIR"])
                             if os.environ.get("LINEPATROL_DATA_DIR") else None)
        info = collect(args.model, data)
    except (ModelLoadError, ProviderError) as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print(f"linepatrol {info['version']} (onnxruntime {info['onnxruntime']})")
    usable = set(info["usable_providers"])
    print("providers: " + ", ".join(
        p if p in usable else f"{p} (installed but not usable here: no device or libraries)"
        for p in info["available_providers"]))
    if "model_version" in info:
        print(f"model version: {info['model_version']} (the service registry's active one)")
    model = info["model"]
    if model is None:
        print(f"model: none — {info['model_error']}")
        return 0
    if "members" in model:
        print(f"models: {len(model['members'])} run together, each class from the first that "
              "detects it")
        for member in model["members"]:
            _print_model(member, "  ")
        return 0
    _print_model(model)
    return 0
