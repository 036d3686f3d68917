"""A shared offscreen renderer; rendering tests skip (with the reason) where EGL is missing."""

from __future__ import annotations

import pytest

from support.offscreen import open_renderer


@pytest.fixture(scope="session")
def renderer():  # type: ignore[no-untyped-def]
    return open_renderer()
