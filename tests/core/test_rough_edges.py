"""What a new user met first: `info` on a machine without a GPU, and a command whose optional
extra is not installed."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

import linepatrol.runtime.providers as providers
from linepatrol.cli import detect, main
from linepatrol.extras import extra_for
from support.tiny_onnx import make_yolo_onnx

GPU_BUILD = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_info_says_which_installed_providers_cannot_run_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    model = make_yolo_onnx(tmp_path / "m.onnx", ["insulator"], [], imgsz=64)
    monkeypatch.setattr(ort, "get_available_providers", lambda: GPU_BUILD)
    monkeypatch.setattr(providers, "probe_usable", lambda available: ["CPUExecutionProvider"])
    monkeypatch.setenv("LINEPATROL_PROVIDERS", "cpu")
    assert main(["info", "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "TensorrtExecutionProvider (installed but not usable here" in out
    assert "CUDAExecutionProvider (installed but not usable here" in out
    assert "CPUExecutionProvider (" not in out


def test_extras_come_from_the_distributions_metadata():
    assert extra_for("trimesh") == "synth" and extra_for("moderngl") == "synth"
    assert extra_for("rasterio") == "geo-dem" and extra_for("torch") == "train"
    assert extra_for("yaml") == "train"  # pyyaml
    assert extra_for("multipart") == "service"  # python-multipart
    assert extra_for("httpx") == "service"  # not dev, which lists it too
    assert extra_for("numpy") is None and extra_for("no_such_module") is None


def test_a_missing_extra_is_named_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]):
    def needs_trimesh(args: object) -> int:
        raise ModuleNotFoundError("No module named 'trimesh'", name="trimesh")

    monkeypatch.setattr(detect, "run", needs_trimesh)
    assert main(["detect", "x.jpg"]) == 2
    err = capsys.readouterr().err
    assert "install the synth extra: pip install 'linepatrol[synth]'" in err

    def needs_nothing_we_ship(args: object) -> int:
        raise ModuleNotFoundError("No module named 'nowhere'", name="nowhere")

    monkeypatch.setattr(detect, "run", needs_nothing_we_ship)
    with pytest.raises(ModuleNotFoundError):
        main(["detect", "x.jpg"])
