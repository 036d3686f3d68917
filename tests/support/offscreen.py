"""The synthetic scenes' offscreen renderer for tests, or a skip that says what is missing."""

from __future__ import annotations

from typing import Any

import pytest


def open_renderer() -> Any:
    """A renderer (shadow maps sized for small test photos); skips where the synth extra or an
    EGL context is missing."""
    pytest.importorskip("moderngl", reason="the synth extra (moderngl) is not installed")
    from linepatrol_datasets.synth.render import Renderer

    try:
        return Renderer(shadow_size=1024)
    except Exception as exc:  # moderngl raises plain Exception when EGL cannot start
        pytest.skip(f"no offscreen OpenGL 3.3 context (install libegl1 libegl-mesa0 "
                    f"libgl1-mesa-dri): {exc}")
