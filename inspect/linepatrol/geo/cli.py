"""Subcommands contributed to ``linepatrol`` (placeholder until this package's commands land)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    """Add this package's subcommands; imports nothing heavy."""
