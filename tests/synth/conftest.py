"""A shared offscreen renderer; rendering tests skip (with the reason) where EGL is missing."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def renderer():  # type: ignore[no-untyped-def]
    pytest.importorskip("moderngl", reason="the synth extra (moderngl) is not installed")
    from linepatrol_datasets.synth.render import Renderer

    try:
        return Renderer(shadow_size=1024)
    except Exception as exc:  # moderngl raises plain Exception when EGL cannot start
        pytest.skip(f"no offscreen OpenGL 3.3 context (install libegl1 libegl-mesa0 "
                    f"libgl1-mesa-dri): {exc}")
