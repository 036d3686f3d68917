"""Running the service for a real browser: uvicorn in a thread, Debian's chromium via Playwright.

Playwright drives the system ``/usr/bin/chromium`` (``executable_path``); ``playwright install``
is never run, so no browser build is downloaded. Without chromium (or the playwright package)
the browser tests skip, unless CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def skip_or_fail(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true forbids skipping (run scripts/setup-browser.sh)",
                    pytrace=False)
    pytest.skip(message)


def chromium_path() -> str:
    path = os.environ.get("LINEPATROL_CHROMIUM") or shutil.which("chromium") or ""
    if not path:
        skip_or_fail("Debian chromium is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("the playwright package is not installed")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any, lifespan: str = "on") -> Iterator[str]:
    """``app`` served on a free local port for the duration; yields its base URL.
    ``lifespan="off"`` for an app whose TestClient has already started it."""
    import uvicorn

    port = free_port()
    # log_config/log_level None: a server inside the test process leaves the process's logging
    # as it is (uvicorn's own config would stop its loggers reaching the root for later tests)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           log_level=None, access_log=False,
                                           lifespan=lifespan))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def browser_page(viewport: tuple[int, int] = (1280, 860)) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            context = browser.new_context(viewport={"width": viewport[0],
                                                    "height": viewport[1]})
            context.set_default_timeout(20_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # A Content-Security-Policy refusal is only a console message: count it as an error.
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" and "Content Security Policy" in msg.text else None)
            page.js_errors = errors  # type: ignore[attr-defined]
            yield page
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (labels, contrast, names...).

    axe-core comes from npm (``npm ci``); without it the check skips (fails under CI=true)."""
    if not AXE.is_file():
        skip_or_fail("axe-core is not installed (npm ci)")
    # Evaluated through the DevTools protocol, which the pages' Content-Security-Policy (rightly)
    # does not govern; an injected <script> tag would be refused by it.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result if v["impact"] in ("serious", "critical")
    ]
