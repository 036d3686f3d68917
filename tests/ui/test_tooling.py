"""The interface's JavaScript is linted, and the vendored Leaflet is the npm release, unchanged."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from ui.browser import REPO, skip_or_fail

STATIC = REPO / "service" / "linepatrol_service" / "ui" / "static"


def _npm_ready() -> None:
    if shutil.which("node") is None or shutil.which("npx") is None:
        skip_or_fail("node/npm are not installed")
    if not (REPO / "node_modules" / "eslint").is_dir():
        skip_or_fail("the npm devDependencies are not installed (npm ci)")


def test_eslint_passes_on_the_ui_scripts() -> None:
    _npm_ready()
    result = subprocess.run(
        ["npx", "--no-install", "eslint", "--max-warnings=0", "service/linepatrol_service/ui/static/js"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_vendored_leaflet_is_the_pinned_npm_release() -> None:
    vendored = STATIC / "vendor" / "leaflet"
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["leaflet"]
    assert (vendored / "LICENSE").is_file()
    assert f"Leaflet {pinned}" in (vendored / "leaflet.js").read_text()[:300]
    upstream = REPO / "node_modules" / "leaflet" / "dist"
    if not upstream.is_dir():
        pytest.skip("node_modules/leaflet not installed; compared the version banner only")
    for name in ("leaflet.js", "leaflet.css", "images/marker-icon.png", "images/layers.png"):
        assert hashlib.sha256((vendored / name).read_bytes()).digest() == \
            hashlib.sha256((upstream / name).read_bytes()).digest(), name
