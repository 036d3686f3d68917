"""``python -m benchmarks.cuda_check [--allow-cpu]``: does ONNX Runtime really run on CUDA here?

``get_available_providers()`` lists CUDA for every onnxruntime-gpu install, GPU or not; only a
session that keeps ``CUDAExecutionProvider`` among its *active* providers after creation, and
runs, proves it. Checks torch's CUDA too (ultralytics and SAHI run on it). Prints a JSON report;
exit 0 when both run on CUDA, 1 otherwise (0 with ``--allow-cpu``, for proving the script on a
machine without a GPU).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def tiny_conv_model(path: Path) -> Path:
    """A one-convolution ONNX model: enough to make ORT place a kernel on the device."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 32, 32])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9  # readable by every ONNX Runtime this project supports
    onnx.save(model, str(path))
    return path


def ort_report() -> dict[str, Any]:
    import numpy as np
    import onnxruntime as ort

    report: dict[str, Any] = {"version": ort.__version__, "device": ort.get_device(),
                              "available": ort.get_available_providers()}
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:  # CUDA/cuDNN from the nvidia-* wheels (the `gpu` extra), if any
        try:
            preload()
            report["preload_dlls"] = "ok"
        except Exception as exc:  # optional: system libraries may be used instead
            report["preload_dlls"] = f"{type(exc).__name__}: {exc}"
    with tempfile.TemporaryDirectory() as tmp:
        model = tiny_conv_model(Path(tmp) / "probe.onnx")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            sess = ort.InferenceSession(str(model), options, providers=[
                "CUDAExecutionProvider", "CPUExecutionProvider"])
            report["active"] = sess.get_providers()
            out = sess.run(None, {"x": np.ones((1, 3, 32, 32), np.float32)})[0]
            report["ran"] = bool(np.isclose(out[0, 0, 16, 16], 27.0))
        except Exception as exc:
            report["active"] = []
            report["error"] = f"{type(exc).__name__}: {exc}"
    report["cuda"] = "CUDAExecutionProvider" in report.get("active", []) and bool(
        report.get("ran"))
    return report


def torch_report() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"installed": False, "cuda": False}
    ok = torch.cuda.is_available()
    return {"installed": True, "version": torch.__version__, "cuda": ok,
            "device": torch.cuda.get_device_name(0) if ok else None}


def main(argv: list[str]) -> int:
    allow_cpu = "--allow-cpu" in argv
    report = {"onnxruntime": ort_report(), "torch": torch_report()}
    report["cuda"] = report["onnxruntime"]["cuda"] and report["torch"]["cuda"]
    print(json.dumps(report, indent=1))
    if not report["cuda"]:
        print("ONNX Runtime and/or torch do not run on CUDA on this machine"
              + (" (allowed: --allow-cpu)" if allow_cpu else ""), file=sys.stderr)
        return 0 if allow_cpu else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
