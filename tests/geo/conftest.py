"""Fixtures for the geotagging tests (helpers live in geo_support.py next to this file)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from geo_support import dji_jpeg_bytes


@pytest.fixture
def dji_jpeg() -> Callable[..., bytes]:
    """``dji_jpeg(pose=None, **write_kwargs)``: a real JPEG of the pose's size with DJI metadata."""
    return dji_jpeg_bytes
