"""Fixtures for the web interface tests: the service app with the UI mounted, role tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from linepatrol_service.auth import create_token
from linepatrol_service.roles import Role
from linepatrol_service.services import Services
from linepatrol_service.settings import ServiceSettings
from support.service_settings import make_settings
from support.tiny_onnx import make_yolo_onnx

NAMES = ["insulator_missing_cap", "bird_nest", "insulator"]
# (cx, cy, w, h, class, score) in the 64-px model input: two defects and a component.
BOXES = [(20.0, 20.0, 10.0, 10.0, 0, 0.9), (44.0, 40.0, 12.0, 8.0, 1, 0.8),
         (32.0, 50.0, 8.0, 8.0, 2, 0.7)]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ui-model") / "tiny.onnx"
    return make_yolo_onnx(path, NAMES, BOXES, imgsz=64)


def build_app(settings: ServiceSettings) -> tuple[FastAPI, Services, dict[str, str]]:
    """The service app with the UI, and one token per role."""
    from linepatrol_service.app import create_app

    services = Services(settings)
    app = create_app(settings, services, ui=True)
    tokens = {}
    with services.sessions.begin() as s:
        for role in Role:
            if role is Role.DEVICE:  # bound to a camera, and no page is for it
                continue
            _, secret = create_token(s, role, f"ui-{role.value}")
            tokens[role.value] = secret
    return app, services, tokens


@pytest.fixture
def ui_app(tmp_path: Path, tiny_model: Path) -> Iterator[tuple[FastAPI, Services, dict[str, str]]]:
    yield build_app(make_settings(tmp_path / "data", tiny_model))
