"""Choosing ONNX Runtime execution providers: one pure function, easy to test without a GPU."""

from __future__ import annotations

from collections.abc import Sequence

# Preference when the user asks for nothing: fastest first, the CPU always last.
AUTO_ORDER = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CPUExecutionProvider",
)

ALIASES = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "gpu": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "directml": "DmlExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
}


class ProviderError(ValueError):
    """The requested providers cannot be satisfied on this machine."""


def canonical(name: str) -> str:
    """``'cuda'`` -> ``'CUDAExecutionProvider'``; full names pass through."""
    key = name.strip()
    return ALIASES.get(key.lower(), key)


def resolve_providers(
    available: Sequence[str],
    requested: Sequence[str] | None = None,
    usable: Sequence[str] | None = None,
) -> list[str]:
    """Providers to ask ONNX Runtime for, in order.

    ``available`` is what the installed ONNX Runtime lists (``get_available_providers()``: the
    GPU build lists CUDA and TensorRT even on a machine without them — whether they really run
    is only known after the session is made, see :class:`OrtSession`).

    ``requested`` comes from settings (``LINEPATROL_PROVIDERS``) and may use short names;
    requested providers that this build lacks are an error naming what it has, and the CPU is
    appended as the last resort unless the request says ``'!cpu'``.

    ``usable`` narrows the automatic choice to providers whose hardware and libraries were
    found on this machine (:func:`probe_usable`), so a CPU laptop with the GPU build does not
    try CUDA at every start.
    """
    have = list(available)
    if not requested:
        chosen = [p for p in AUTO_ORDER if p in have and (usable is None or p in usable)]
        return chosen or ["CPUExecutionProvider"]
    names = [canonical(r) for r in requested if r.strip() and r.strip().lower() != "!cpu"]
    forbid_cpu = any(r.strip().lower() == "!cpu" for r in requested)
    missing = [n for n in names if n not in have]
    if missing:
        raise ProviderError(
            f"execution provider(s) {', '.join(missing)} not in this ONNX Runtime build "
            f"(available: {', '.join(have) or 'none'})"
        )
    chosen = list(dict.fromkeys(names))
    if not forbid_cpu and "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def fallback_note(requested: Sequence[str], active: Sequence[str]) -> str | None:
    """A sentence when the session runs on less than the best provider asked for, else None."""
    if not requested or not active:
        return None
    if active[0] == requested[0]:
        return None
    return (
        f"requested {requested[0]} but ONNX Runtime runs this model on {active[0]} "
        f"(missing drivers or libraries for {requested[0]}?); active providers: {', '.join(active)}"
    )


def probe_usable(available: Sequence[str]) -> list[str]:
    """The providers among ``available`` whose device and libraries this machine seems to have.

    Cheap checks only (a device node, a loadable library); ONNX Runtime's own session creation
    remains the judge, and :class:`OrtSession` reports a fallback when it disagrees.
    """
    import ctypes
    import ctypes.util
    import os
    import sys

    def loadable(*names: str) -> bool:
        for name in names:
            try:
                ctypes.CDLL(name)
                return True
            except OSError:
                continue
        return False

    if sys.platform.startswith("linux"):
        gpu = os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0")
    elif sys.platform == "win32":
        gpu = loadable("nvcuda.dll")
    else:
        gpu = False
    usable = []
    for provider in available:
        if provider == "TensorrtExecutionProvider":
            ok = gpu and (loadable("libnvinfer.so.10", "nvinfer_10.dll")
                          or ctypes.util.find_library("nvinfer") is not None)
        elif provider == "CUDAExecutionProvider":
            ok = gpu
        else:
            ok = True
        if ok:
            usable.append(provider)
    return usable


def planned_providers(requested: Sequence[str] | None = None) -> list[str]:
    """The providers a session would ask for on this machine (installed ORT + probe)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return resolve_providers(available, requested, probe_usable(available))
