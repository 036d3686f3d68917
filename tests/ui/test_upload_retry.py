"""The upload page waits out a busy server: a 503 with Retry-After is sent again, and the photo
lands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from linepatrol_service import backpressure
from ui import support as ui_support
from ui.browser import browser_page, chromium_path, serve
from ui.conftest import build_app, make_settings

pytestmark = [pytest.mark.browser]


def test_upload_page_retries_after_503(tmp_path: Path, tiny_model: Path, monkeypatch) -> None:
    chromium_path()
    from playwright.sync_api import expect

    refused: list[str] = []
    admit = backpressure.Admission.__call__

    async def busy_once(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/images") and not refused:
            refused.append(scope["path"])
            await backpressure.busy_response("test")(scope, receive, send)
            return
        await admit(self, scope, receive, send)

    monkeypatch.setattr(backpressure.Admission, "__call__", busy_once)
    app, _services, tokens = build_app(make_settings(tmp_path / "data", tiny_model))
    photo = tmp_path / "DJI_0001.JPG"
    _, lat, lon = ui_support.TOWERS[0]
    photo.write_bytes(ui_support.dji_photo(3, lat, lon))
    with serve(app) as base, browser_page() as page:
        page.goto(f"{base}/ui/login")
        page.get_by_label("Access token").fill(tokens["admin"])
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/ui/flights/new")
        page.get_by_label("Line 线路名称").fill(ui_support.LINE)
        page.get_by_label("Submit for processing when the upload ends").uncheck()
        page.set_input_files("#files", [str(photo)])
        page.get_by_role("button", name="Upload and process").click()
        expect(page.locator("#upload-summary")).to_have_text(
            "1 accepted · 0 duplicate · 0 rejected", timeout=30_000)
        assert len(refused) == 1 and re.search(r"/flights/\d+/images$", refused[0])
        assert not page.js_errors, page.js_errors
