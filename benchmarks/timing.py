"""Small timing helpers: medians of repeated rounds, interleaved so both sides see the same load."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def ratio(rate: dict[str, float], side: str, base: str) -> float | None:
    """``side``'s rate over ``base``'s, to 2 places; None when either did not run (a side that
    only runs on some devices)."""
    if side not in rate or base not in rate:
        return None
    return round(rate[side] / rate[base], 2)


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def interleaved(
    sides: dict[str, Callable[[], Any]], rounds: int
) -> dict[str, list[float]]:
    """Run each side once per round, alternating the order, and return the seconds per round.

    On a shared machine the load drifts; alternating ABBA... puts both sides under the same
    drift, so their ratio stays honest even when the absolute numbers move.
    """
    names = list(sides)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            t0 = time.perf_counter()
            sides[name]()
            seconds[name].append(time.perf_counter() - t0)
    return seconds
