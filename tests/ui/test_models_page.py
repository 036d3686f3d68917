"""The model registry page without a browser: admins only; each version with its state, its
comparison and the moves the registry's table allows."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from linepatrol_service import registry
from linepatrol_service.domain import ModelState
from support.tiny_onnx import make_yolo_onnx

from .test_pages import UiApp, client, sign_in  # noqa: F401  (the client fixture)


def test_the_registry_page_shows_versions_and_their_moves(
        ui_app: UiApp, client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    _, services, tokens = ui_app
    model = make_yolo_onnx(tmp_path / "candidate.onnx", ["insulator", "bird_nest"],
                           [(32.0, 32.0, 8.0, 8.0, 0, 0.9)])
    with services.sessions.begin() as s:
        row = registry.register(s, services.settings.model_dir, str(model), "cand-1",
                                "# cand-1\nA candidate.", "test")
        registry.move(s, row, ModelState.SHADOW, "test", "try it")
        model_id = row.id
    sign_in(client, tokens["reviewer"])
    assert client.get("/ui/models").status_code == 403
    sign_in(client, tokens["admin"])
    page = client.get("/ui/models")
    assert page.status_code == 200
    assert 'id="shadow-version">cand-1<' in page.text and 'id="active-version">default<' in page.text
    # from shadow: promote or stop the shadow, never retire
    assert f'data-model="{model_id}" data-to="active"' in page.text
    assert f'data-model="{model_id}" data-to="registered"' in page.text
    assert f'data-model="{model_id}" data-to="retired"' not in page.text
    assert "Not run in shadow yet" in page.text and "A candidate." in page.text
