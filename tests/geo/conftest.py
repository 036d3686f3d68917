"""Fixtures for the geotagging tests (helpers live in geo_support.py next to this file): a
flight folder of DJI photos that ``linepatrol report`` and the service both read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from geo_support import dji_jpeg_bytes, make_flight

from linepatrol.geo.pose import CameraPose


@pytest.fixture
def dji_jpeg() -> Callable[..., bytes]:
    """``dji_jpeg(pose=None, **write_kwargs)``: a real JPEG of the pose's size with DJI metadata."""
    return dji_jpeg_bytes


@pytest.fixture
def flight(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, CameraPose]]:
    """Two DJI photos aimed at a nest on tower T2, one photo without metadata, one broken file,
    a ledger, and a model whose fixed boxes are a nest at the centre and an excavator below."""
    return make_flight(tmp_path)
