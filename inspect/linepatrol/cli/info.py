"""``linepatrol info``: version, providers and the model that would run."""

from __future__ import annotations

import argparse
import json
from typing import Any

from linepatrol.cli.errors import UserError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "info",
        help="show version, execution providers and the model",
        description="Load the model on this machine's best execution provider and report what "
        "ONNX Runtime actually activated (a GPU build falls back to the CPU without CUDA).",
    )
    p.add_argument("--model", help="ONNX model file or bundled model name (default: bundled)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def collect(model: str | None) -> dict[str, Any]:
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
    print(f"{indent}  active providers: {', '.join(model['active_providers'])}")
    if model["fallback"]:
        print(f"{indent}  note: {model['fallback']}")


def run(args: argparse.Namespace) -> int:
    from linepatrol.runtime.model_info import ModelLoadError
    from linepatrol.runtime.providers import ProviderError

    try:
        info = collect(args.model)
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
