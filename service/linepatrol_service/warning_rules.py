"""Hazard warnings' rules, as pure functions: how close is too close, when each step is due,
and the execution rate. No database here; :mod:`linepatrol_service.warnings` applies them.

**Warning distance** = the line's protection zone for its voltage + a margin for the class.

Protection zone (``PROTECTION_ZONE_M``): 《电力设施保护条例》 (State Council, 1987, revised
2011), art. 10: the overhead line protection zone extends horizontally from the outer
conductors by 5 m for 1–10 kV, 10 m for 35–110 kV, 15 m for 154–330 kV, 20 m for 500 kV.
750 kV 25 m and 1000 kV 30 m: the figures State Grid uses for its newer UHV lines (the 1987
regulation has no such levels) — to be checked against the deployment's own rules.
Construction machinery working inside the zone needs the operator's approval, so a machine
seen inside it is worth a warning.

Class margin (``CLASS_MARGIN_M``): machines whose boom or mast swings or falls towards the
line (cranes, pump trucks, pile drivers) get the minimum clearance between lifting machinery
and live conductors of GB 26859-2011 《电力安全工作规程 电力线路部分》 (as commonly quoted:
≤10 kV 3 m, 35 kV 4 m, 66–110 kV 5 m, 220 kV 6 m, 330 kV 7 m, 500 kV 8.5 m, 750 kV 11 m,
1000 kV 13 m; verify against the standard's text) on top of the zone: our rule, not the
standard's, so that a boom at the zone's edge still keeps the clearance. Smoke or fire gets a
**placeholder** 100 m (fire and smoke travel; no national figure is applied here), other
machines none. Every number is a default that ``ServiceSettings`` can override.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from linepatrol_service.domain import WarningStatus

# upper bound of a voltage band (kV) -> protection zone (m), 《电力设施保护条例》 art. 10
# (750 and 1000 kV: State Grid practice for UHV lines, see the module docstring)
PROTECTION_ZONE_M: dict[float, float] = {
    10: 5.0, 110: 10.0, 330: 15.0, 500: 20.0, 750: 25.0, 1000: 30.0,
}
# upper bound of a voltage band (kV) -> GB 26859-2011 minimum clearance of lifting machinery
CRANE_CLEARANCE_M: dict[float, float] = {
    10: 3.0, 35: 4.0, 110: 5.0, 220: 6.0, 330: 7.0, 500: 8.5, 750: 11.0, 1000: 13.0,
}
BOOM_CLASSES = frozenset({"tower_crane", "truck_crane", "pump_truck", "pile_driver"})
SMOKE_FIRE_MARGIN_M = 100.0  # PLACEHOLDER: configure per deployment
# a leading voltage in a line's name: "500kV 江城线", "220 kV 某线", "±800kV 某线"
_NAME_KV = re.compile(r"^\s*[±+]?(\d+(?:\.\d+)?)\s*[kK][vV]")


def band(table: Mapping[float, float], voltage_kv: float) -> float:
    """The value of the smallest band that holds ``voltage_kv`` (above the last: the last)."""
    bounds = sorted(table)
    for bound in bounds:
        if voltage_kv <= bound:
            return table[bound]
    return table[bounds[-1]]


def class_margin_m(class_key: str, voltage_kv: float) -> float:
    """The default margin of a hazard class over the protection zone (see the docstring)."""
    if class_key in BOOM_CLASSES:
        return band(CRANE_CLEARANCE_M, voltage_kv)
    if class_key == "smoke_fire":
        return SMOKE_FIRE_MARGIN_M
    return 0.0


@dataclass(frozen=True)
class DistanceTable:
    """A deployment's warning distances: the zones by voltage band and, per class, a margin
    that replaces the default one (settings ``WARNING_ZONE_M`` and ``WARNING_MARGIN_M``)."""

    zones: Mapping[float, float]
    margins: Mapping[str, float]

    def warning_distance_m(self, class_key: str, voltage_kv: float) -> float:
        """How close to the outer conductor (horizontally) a hazard of ``class_key`` may come
        on a line of ``voltage_kv`` before it is warned about."""
        margin = self.margins.get(class_key)
        if margin is None:
            margin = class_margin_m(class_key, voltage_kv)
        return band(self.zones, voltage_kv) + margin


DEFAULT_TABLE = DistanceTable(PROTECTION_ZONE_M, {})


def voltage_of(line: str, configured: Mapping[str, float], default_kv: float) -> float:
    """A line's voltage: the deployment's map (``LINE_VOLTAGE_KV``) first, then a leading
    "NNNkV" in the line's name (the naming every ledger and flight here uses), then the
    deployment's default (``DEFAULT_VOLTAGE_KV``)."""
    if line in configured:
        return configured[line]
    found = _NAME_KV.match(line)
    return float(found.group(1)) if found else default_kv


# --- deadlines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarningHours:
    """Hours from (re)issue to each step's deadline (settings ``WARNING_*_H``)."""

    acknowledge: float
    dispatch: float
    resolve: float
    close: float

    def next_due(self, status: WarningStatus, issued_at: dt.datetime) -> dt.datetime | None:
        """The deadline of the step a warning in ``status`` waits for; None once closed."""
        hours = {WarningStatus.ISSUED: self.acknowledge,
                 WarningStatus.ACKNOWLEDGED: self.dispatch,
                 WarningStatus.DISPATCHED: self.resolve,
                 WarningStatus.RESOLVED: self.close}.get(status)
        return None if hours is None else issued_at + dt.timedelta(hours=hours)

    def close_by(self, issued_at: dt.datetime) -> dt.datetime:
        return issued_at + dt.timedelta(hours=self.close)


def is_overdue(status: WarningStatus, due: dt.datetime | None, now: dt.datetime) -> bool:
    return status != WarningStatus.CLOSED and due is not None and due < now


# --- execution rate -------------------------------------------------------------------------


def execution_rate(issued: int, closed_in_time: int) -> float | None:
    """Warnings closed within their deadline over warnings issued; None when none were issued
    ("no warnings", which is not 0 %: nothing was late)."""
    if issued < 0 or closed_in_time < 0 or closed_in_time > issued:
        raise ValueError(f"bad counts: {closed_in_time} closed in time of {issued} issued")
    if issued == 0:
        return None
    return closed_in_time / issued
