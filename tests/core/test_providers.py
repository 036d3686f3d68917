"""Provider choice is pure and testable without a GPU; fallbacks are reported, never silent."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from linepatrol.runtime import OrtSession
from linepatrol.runtime.providers import (
    ProviderError,
    fallback_note,
    resolve_providers,
)
from support.tiny_onnx import make_yolo_onnx

GPU_BUILD = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
CPU_BUILD = ["CPUExecutionProvider"]


def test_auto_prefers_tensorrt_then_cuda_then_cpu() -> None:
    assert resolve_providers(GPU_BUILD) == GPU_BUILD
    assert resolve_providers(list(reversed(GPU_BUILD))) == GPU_BUILD
    assert resolve_providers(CPU_BUILD) == CPU_BUILD


def test_auto_skips_providers_this_machine_cannot_use() -> None:
    usable = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(GPU_BUILD, None, usable) == usable
    assert resolve_providers(GPU_BUILD, None, CPU_BUILD) == CPU_BUILD


def test_requested_short_names_and_cpu_last_resort() -> None:
    assert resolve_providers(GPU_BUILD, ["cuda"]) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(GPU_BUILD, ["trt", "cuda"]) == GPU_BUILD
    assert resolve_providers(GPU_BUILD, ["cuda", "!cpu"]) == ["CUDAExecutionProvider"]
    # an explicit request is honoured even where the probe would not have chosen it
    assert resolve_providers(GPU_BUILD, ["cuda"], CPU_BUILD)[0] == "CUDAExecutionProvider"


def test_requesting_a_provider_the_build_lacks_is_an_error() -> None:
    with pytest.raises(ProviderError, match="CUDAExecutionProvider.*available: CPUExecutionProvider"):
        resolve_providers(CPU_BUILD, ["cuda"])


def test_fallback_note() -> None:
    assert fallback_note(["CUDAExecutionProvider", "CPUExecutionProvider"],
                         ["CPUExecutionProvider"]) is not None
    assert fallback_note(["CPUExecutionProvider"], ["CPUExecutionProvider"]) is None


def test_settings_read_providers_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from linepatrol.settings import CoreSettings

    monkeypatch.setenv("LINEPATROL_PROVIDERS", "cuda, cpu")
    assert CoreSettings().providers == ["cuda", "cpu"]


@pytest.mark.skipif("CUDAExecutionProvider" not in ort.get_available_providers(),
                    reason="needs the GPU build of ONNX Runtime to ask for CUDA")
def test_session_reports_a_real_fallback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """On a machine without CUDA the GPU build silently runs on the CPU; we must say so."""
    model = make_yolo_onnx(tmp_path / "m.onnx", ["insulator"], [(32, 32, 8, 8, 0, 0.9)])
    session = OrtSession(model, providers=["cuda"])
    with caplog.at_level(logging.WARNING):
        session.load()
    if session.active_providers[0] == "CUDAExecutionProvider":
        pytest.skip("this machine really runs CUDA")
    assert session.requested_providers[0] == "CUDAExecutionProvider"
    assert session.fallback and "CPUExecutionProvider" in session.fallback
    assert any("CPUExecutionProvider" in r.message for r in caplog.records)
    assert session.describe()["active_providers"] == ["CPUExecutionProvider"]


def test_session_is_lazy_and_runs_batches(tmp_path: Path) -> None:
    model = make_yolo_onnx(tmp_path / "m.onnx", ["insulator", "bird_nest"], [(32, 32, 8, 8, 1, 0.9)])
    session = OrtSession(model, providers=["cpu"])
    assert session.active_providers == []  # nothing loaded yet
    out = session.run(np.zeros((3, 64, 64, 3), np.uint8))  # NHWC uint8: the image input
    assert out[0].shape == (3, 6, 16)
    assert session.info.names == ("insulator", "bird_nest")
    assert session.active_providers == ["CPUExecutionProvider"]


def test_session_per_shape_keeps_one_onnx_runtime_session_per_input_shape(
    tmp_path: Path,
) -> None:
    model = make_yolo_onnx(tmp_path / "m.onnx", ["insulator"], [(32, 32, 8, 8, 0, 0.9)])
    shared = OrtSession(model, providers=["cpu"])
    assert not shared.session_per_shape  # the CPU's default: one session for every shape
    pooled = OrtSession(model, providers=["cpu"], session_per_shape=True)
    shapes = [(2, 64, 64, 3), (1, 64, 64, 3), (2, 64, 64, 3)]
    for shape in shapes:
        x = np.zeros(shape, np.uint8)
        np.testing.assert_array_equal(pooled.run(x)[0], shared.run(x)[0])
    # the warm-up's (1, ...) took the session made at load; (2, ...) got a second one
    sessions = pooled._by_shape  # the pool is what this test is about
    assert list(sessions) == [(1, 64, 64, 3), (2, 64, 64, 3)]
    assert len({id(s) for s in sessions.values()}) == 2
    for k in range(OrtSession.MAX_SESSIONS + 2):  # more shapes than it keeps: oldest dropped
        pooled.run(np.zeros((k + 3, 64, 64, 3), np.uint8))
    assert len(sessions) == OrtSession.MAX_SESSIONS
    assert next(reversed(sessions)) == (OrtSession.MAX_SESSIONS + 4, 64, 64, 3)
