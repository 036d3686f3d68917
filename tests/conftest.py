"""Shared fixtures. Test support code lives in tests/support (on sys.path via pyproject)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check what holds, not how fast: hypothesis's per-example deadline fails them on a
# 2-core machine that is also training a model or running the rest of the suite.
settings.register_profile("linepatrol", deadline=None)
settings.load_profile("linepatrol")

# No test may reach the network or write to the home folder's caches.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("MESA_SHADER_CACHE_DISABLE", "true")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return REPO
