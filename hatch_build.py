"""Wheel build hook: bundle the shipped models.

The models are committed as ``models/*.onnx`` with their cards (``models/*.md``), beside the
training code that made them. A wheel has no ``models/`` folder, so they are copied into the
core package as ``linepatrol/bundled_models``, where :func:`linepatrol.model_store.bundled_dir`
looks first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BundleModels(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        models = Path(self.root) / "models"
        for path in sorted(models.glob("*.onnx")) + sorted(models.glob("*.md")):
            build_data["force_include"][str(path)] = f"linepatrol/bundled_models/{path.name}"
