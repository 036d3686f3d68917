"""The sample flight that ``linepatrol demo`` processes: six real CPLID photos with DJI metadata
and the four-tower ledger of "500kV Demo Line" (see ATTRIBUTION.md and make_sample.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def photos() -> list[Path]:
    return sorted((HERE / "photos").glob("*.JPG"))


def ledger_path() -> Path:
    return HERE / "ledger.csv"


def flight() -> dict[str, Any]:
    """The flight's fields for ``POST /api/v1/flights`` (without the photos' source list)."""
    data: dict[str, Any] = json.loads((HERE / "flight.json").read_text(encoding="utf-8"))
    data.pop("sources", None)
    return data
