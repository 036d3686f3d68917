"""Service settings for tests: small, CPU-only, one thread, no tiling (tiny 64 px models)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linepatrol_service.settings import ServiceSettings


def make_settings(data_dir: Path, model: Path | str, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "data_dir": data_dir, "model": str(model), "providers": ["cpu"],
        "intra_op_threads": 1, "batch_size": 2, "tile": "off",
    }
    values.update(overrides)
    return ServiceSettings(**values)
