"""The test camera's registry entry, shared by the camera tests."""

from __future__ import annotations

from typing import Any

CAM: dict[str, Any] = {"id": "CAM-1", "name": "N2 east", "line": "500kV 江城线", "tower": "N2",
                       "lat": 30.52, "lon": 114.31, "alt": 80.0, "heading": 45.0,
                       "pitch": -10.0, "roll": 0.0, "hfov_deg": 60.0, "width": 320,
                       "height": 240}
