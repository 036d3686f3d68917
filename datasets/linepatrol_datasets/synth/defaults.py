"""Defaults shared by the generator and its CLI (kept import-free so ``register`` stays cheap)."""

from __future__ import annotations

from pathlib import Path

# Real UAV terrain for the ground: the CPLID photos of the shared data folder, when present.
DEFAULT_BACKGROUNDS = Path("/work/shared/datasets/cplid")
