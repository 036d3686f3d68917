"""One typed detection configuration: the commands' options and the service's settings take
their defaults from it, and opening a detector reads no environment."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import pytest

from linepatrol.detect_config import DEFAULTS, DetectorConfig, add_detection_options, from_args
from linepatrol.pipeline import open_detector
from linepatrol.settings import CoreSettings
from linepatrol_service.settings import ServiceSettings
from support.tiny_onnx import make_yolo_onnx


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_detection_options(p)
    return p.parse_args(list(argv))


def test_options_default_to_the_config():
    assert from_args(_parse()) == DetectorConfig() == DEFAULTS
    assert from_args(_parse("--conf", "0.4", "--tile", "1280")) == DetectorConfig(
        conf=0.4, tile=1280)
    with pytest.raises(ValueError, match="tile"):
        from_args(_parse("--tile", "big"))


def test_service_settings_default_to_the_config(tmp_path: Path):
    settings = ServiceSettings(data_dir=tmp_path)
    assert settings.detector_config() == DEFAULTS
    assert ServiceSettings(data_dir=tmp_path, conf=0.5, tile="off").detector_config() == (
        DetectorConfig(conf=0.5, tile="off"))
    with pytest.raises(ValueError, match="tile"):
        ServiceSettings(data_dir=tmp_path, tile="big")


def test_open_detector_takes_its_settings(tmp_path: Path):
    """No default settings: a caller that forgot them would silently read the environment."""
    settings = inspect.signature(open_detector).parameters["settings"]
    assert settings.default is inspect.Parameter.empty
    model = make_yolo_onnx(tmp_path / "m.onnx", ["insulator"], [], imgsz=64)
    detector = open_detector(str(model), CoreSettings(providers=["cpu"]), DEFAULTS)
    assert detector.config == DEFAULTS
