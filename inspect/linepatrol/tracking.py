"""The line over time: whether a flight's finding is a new object or one already tracked.

A patrol photographs the same missing cap, nest or crane on flight after flight; a maintenance
lead wants one record per real-world object, not one per flight. These are the rules that
decide it, in one place, pure, for the service (and any other keeper of a line's history):

- same line, and the same class — or, for machinery (external-damage hazards), any machine:
  the views of one machine vote on its class, so two flights may name it differently;
- the same place: the same tower for tower-placed findings, the same span for span-placed
  ones; on the ground, within the two positions' combined uncertainty (the geotagger's own
  1-sigma figures, :data:`SIGMAS` of them), never a new distance constant;
- a finding that could not be placed at all matches nothing (nothing says it is the same).

A finding that matches several items goes to the nearest.

The other side of it: an item on a tower or span that a later flight photographed closely
enough (its visual coverage) without seeing it again is a candidate fix (:func:`not_seen`) —
for a lead to close or keep, never closed by the machine. Items on the open ground are not:
a machine leaves, and coverage is counted for towers and spans.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from linepatrol import taxonomy
from linepatrol.geo.geodesy import distance_m

SIGMAS = 2.0  # two combined standard deviations: about 95 % of true repeats within reach


@dataclass(frozen=True)
class Place:
    """Where a finding or a tracked item is, as the geotagger placed it."""

    line: str | None
    placement: str | None  # tower, span, ground, none
    tower: str | None = None
    span: str | None = None
    lat: float | None = None
    lon: float | None = None
    uncertainty_m: float | None = None

    @property
    def positioned(self) -> bool:
        return self.lat is not None and self.lon is not None


class Placed(Protocol):
    """Anything the geotagger placed: its defects, and the rows that store them."""

    @property
    def line(self) -> str | None: ...
    @property
    def placement(self) -> str | None: ...
    @property
    def tower(self) -> str | None: ...
    @property
    def span(self) -> str | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def uncertainty_m(self) -> float | None: ...


def place_of(d: Placed) -> Place:
    return Place(d.line, d.placement, d.tower, d.span, d.lat, d.lon, d.uncertainty_m)


@dataclass(frozen=True)
class Tracked:
    """A tracked item as the matching needs it: its id, class and place."""

    item_id: int
    class_key: str
    category: str
    place: Place


def same_kind(a_class: str, a_category: str, b_class: str, b_category: str) -> bool:
    """Same class; any two machines count as one kind (their class is the views' vote)."""
    hazard = taxonomy.Category.HAZARD.value
    return a_class == b_class or (a_category == hazard and b_category == hazard)


def separation(a: Place, b: Place) -> float | None:
    """How far apart two places are in units of their combined uncertainty (1 = one combined
    sigma), or None when either has no position or uncertainty."""
    if not (a.positioned and b.positioned):
        return None
    if a.uncertainty_m is None or b.uncertainty_m is None:
        return None
    d = distance_m(a.lat or 0.0, a.lon or 0.0, b.lat or 0.0, b.lon or 0.0)
    sigma = math.hypot(a.uncertainty_m, b.uncertainty_m)
    return d / sigma if sigma > 0 else (0.0 if d == 0 else math.inf)


def same_place(a: Place, b: Place) -> bool:
    if a.line is None or a.line != b.line:
        return False
    if a.placement == "tower" and b.placement == "tower":
        return a.tower is not None and a.tower == b.tower
    if a.placement == "span" and b.placement == "span":
        return a.span is not None and a.span == b.span
    apart = separation(a, b)
    return apart is not None and apart <= SIGMAS


def match(class_key: str, category: str, place: Place,
          items: Sequence[Tracked]) -> Tracked | None:
    """The tracked item this finding is another sighting of, or None (a new item)."""
    best: tuple[float, Tracked] | None = None
    for item in items:
        if not same_kind(class_key, category, item.class_key, item.category):
            continue
        if not same_place(place, item.place):
            continue
        apart = separation(place, item.place)
        key = apart if apart is not None else 0.0
        if best is None or key < best[0]:
            best = (key, item)
    return best[1] if best else None


def not_seen(items: Sequence[Tracked], covered: Collection[tuple[str, str, str]],
             sighted: Collection[int]) -> list[Tracked]:
    """The items a flight covered the place of — ``covered`` holds (kind, line, id) of the
    towers and spans it covered — but did not see (their ids not in ``sighted``)."""
    out = []
    for item in items:
        p = item.place
        key = ("tower", p.line, p.tower) if p.placement == "tower" else (
            ("span", p.line, p.span) if p.placement == "span" else None)
        if key is not None and key in covered and item.item_id not in sighted:
            out.append(item)
    return out


@dataclass(frozen=True)
class Finding:
    """A flight's defect as the matching needs it."""

    class_key: str
    category: str
    place: Place


def assign(findings: Sequence[Finding], items: Sequence[Tracked]) -> list[Tracked | None]:
    """The item each finding is another sighting of (None: a new item), in order; two findings
    of one flight never go to the same item (the geotagger already merged what one flight saw
    of one object), so a taken item is out of reach for the findings after it."""
    free = list(items)
    out: list[Tracked | None] = []
    for f in findings:
        found = match(f.class_key, f.category, f.place, free)
        if found is not None:
            free.remove(found)
        out.append(found)
    return out


def more_severe(new: str | None, old: str | None) -> bool:
    """Whether grade ``new`` is more urgent than ``old`` (None: ungraded, the least)."""
    if new is None:
        return False
    if old is None:
        return True
    return taxonomy.Severity(new).rank < taxonomy.Severity(old).rank


# --- a flight against an earlier one, without a database (``linepatrol report --previous``) --


class ChangeState(StrEnum):
    NEW = "new"  # not in the earlier report
    SEEN_AGAIN = "seen_again"
    NOT_SEEN = "not_seen"  # earlier, on a tower or span this flight covered: a candidate fix
    NOT_COVERED = "not_covered"  # earlier, not seen, and this flight did not cover its place


@dataclass(frozen=True)
class Change:
    """One row of ``changes.csv``: a defect of this flight or of the earlier report."""

    id: str | None  # this flight's defect id (None for an earlier defect not seen)
    class_key: str
    state: ChangeState
    previous_id: str | None


def changes_since(current: Sequence[tuple[str, Finding]], previous: Sequence[tuple[str, Finding]],
                  covered: Collection[tuple[str, str, str]]) -> list[Change]:
    """This flight's defects as new or seen again, then the earlier ones it did not see: not
    seen where it covered their tower or span, not covered otherwise — the same rules the
    service applies (:func:`assign`, :func:`not_seen`)."""
    items = [Tracked(k, f.class_key, f.category, f.place) for k, (_, f) in enumerate(previous)]
    assigned = assign([f for _, f in current], items)
    out = [Change(cid, f.class_key, ChangeState.NEW, None) if found is None else
           Change(cid, f.class_key, ChangeState.SEEN_AGAIN, previous[found.item_id][0])
           for (cid, f), found in zip(current, assigned, strict=True)]
    seen = {found.item_id for found in assigned if found is not None}
    missed = {t.item_id for t in not_seen(items, covered, seen)}
    for k, (pid, f) in enumerate(previous):
        if k not in seen:
            state = ChangeState.NOT_SEEN if k in missed else ChangeState.NOT_COVERED
            out.append(Change(None, f.class_key, state, pid))
    return out
