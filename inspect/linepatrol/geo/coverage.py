"""Visual coverage: which towers and spans of the ledger a flight's photos showed well enough.

A tower or span is *covered* when photos showed it inside the frame and close enough that a
missing insulator cap there would span at least ``min_object_px`` pixels — small enough for the
default detector to find. The geometry (which photo shows what, at which resolution) is
:mod:`linepatrol.geo.visibility`; this module holds the records, their one configuration, and
the roll-up of several flights of a line into "last covered" dates. It imports no numpy or
PROJ, so settings and command-line help can read its defaults cheaply.

Why the default ``min_object_px`` is :data:`MIN_OBJECT_PX`: the default model for missing caps
is ``linepatrol-cplid-v1`` (:data:`linepatrol.model_store.DEFAULT_MODELS`; its model card in
``models/``). Its card states no smallest reliable size, so it is taken from the data it was
trained and measured on: CPLID's missing-cap boxes are 53-86 px wide (all 210 of them in the
development part; median 66) on 1152x864 photos that ran at its 640 px input, at 0.56 scale,
i.e. >= 29 px at the model's input. ``--tile auto`` shows a large DJI photo to that model in
tiles of two input sides, at 0.5 scale (:mod:`linepatrol.runtime.model_info`), so the smallest
cap it was ever shown is 29 / 0.5 = 59 photo pixels wide: a cap narrower than that is outside
what its measured recall speaks for. Rounded to 60. The figure is for full-size photos that
``auto`` tiles (DJI's 12-48 MP); set it lower for small photos that run whole at 640 px.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from linepatrol.geo.ledger import Ledger

# A missing cap is the gap one cap-and-pin disc leaves in a string; a detector sees it across
# the string, the disc's diameter. IEC 60305's common 70-120 kN discs (U70B...U120B) are 255 mm
# across, the larger ones 280 mm or more: the smallest standard disc, so coverage never assumes
# a bigger target than the line may have.
MISSING_CAP_M = 0.255
MIN_OBJECT_PX = 60.0  # see the module's docstring
# Not a standard's figure: a quarter is a common upper bound on routine patrol intervals of
# transmission lines; set it to the operator's own patrol rule.
STALE_AFTER_DAYS = 90

ItemKind = Literal["tower", "span"]


@dataclass(frozen=True)
class CoverageConfig:
    """Every knob of the coverage rule, with the defaults the CLI and the service use.

    ``edge_margin``: a point must lie this fraction of the image's width / height inside the
    frame (a box cut by the border is a poor view, see :mod:`linepatrol.geo.locate`).
    ``span_samples`` points along each span's conductor (ends excluded: they are the towers');
    a span is covered when the flight's photos together showed at least
    ``span_min_fraction`` of them. ``stale_after_days``: a line's tower or span not covered for
    longer than this is flagged (:func:`line_coverage`).
    """

    min_object_px: float = MIN_OBJECT_PX
    object_size_m: float = MISSING_CAP_M
    edge_margin: float = 0.02
    span_samples: int = 9
    span_min_fraction: float = 0.5
    stale_after_days: int = STALE_AFTER_DAYS

    def __post_init__(self) -> None:
        checks = (
            ("min_object_px", self.min_object_px > 0),
            ("object_size_m", self.object_size_m > 0),
            ("edge_margin", 0 <= self.edge_margin < 0.5),
            ("span_samples", self.span_samples >= 1),
            ("span_min_fraction", 0 < self.span_min_fraction <= 1),
            ("stale_after_days", self.stale_after_days >= 0),
        )
        for name, ok in checks:
            if not ok:
                raise ValueError(f"coverage {name} = {getattr(self, name)!r} is out of range")


DEFAULT_COVERAGE = CoverageConfig()


class GapJson(TypedDict):
    kind: ItemKind
    id: str
    line: str


class CoverageItemJson(GapJson):
    covered: bool
    photos: int
    best_gsd_cm: float | None


class CoverageJson(TypedDict):
    ratio: float
    towers: list[CoverageItemJson]
    spans: list[CoverageItemJson]
    gaps: list[GapJson]


def _gsd(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True)
class CoverageItem:
    """One tower (``id`` its number) or span (``id`` "12-13") of a flight.

    ``photos``: photos that showed it at the required resolution. ``best_gsd_cm``: the finest
    ground sample distance (cm per pixel at the object) of any photo that showed it in frame,
    fine enough or not — so a gap says how far off it was; None when no photo framed it.
    """

    kind: ItemKind
    id: str
    line: str
    covered: bool
    photos: int
    best_gsd_cm: float | None

    def gap(self) -> GapJson:
        return GapJson(kind=self.kind, id=self.id, line=self.line)

    def to_json(self) -> CoverageItemJson:
        return CoverageItemJson(kind=self.kind, id=self.id, line=self.line, covered=self.covered,
                                photos=self.photos, best_gsd_cm=_gsd(self.best_gsd_cm))


def _ratio(covered: int, total: int) -> float:
    return covered / total if total else 0.0


@dataclass(frozen=True)
class Coverage:
    """A flight's coverage of a ledger: its towers, then its spans, in ledger order."""

    towers: tuple[CoverageItem, ...]
    spans: tuple[CoverageItem, ...]

    @property
    def items(self) -> tuple[CoverageItem, ...]:
        return self.towers + self.spans

    @property
    def ratio(self) -> float:
        """Covered towers and spans over all of them (0 for an empty ledger)."""
        return _ratio(sum(i.covered for i in self.items), len(self.items))

    @property
    def gaps(self) -> tuple[CoverageItem, ...]:
        return tuple(i for i in self.items if not i.covered)

    def to_json(self) -> CoverageJson:
        return CoverageJson(ratio=round(self.ratio, 4),
                            towers=[t.to_json() for t in self.towers],
                            spans=[s.to_json() for s in self.spans],
                            gaps=[g.gap() for g in self.gaps])


def ledger_keys(ledger: Ledger, line: str | None = None) -> tuple[tuple[ItemKind, str, str], ...]:
    """(kind, line, id) of every tower, then every span, of the ledger (or of its ``line``),
    in ledger order: the items a coverage lists."""
    keys: list[tuple[ItemKind, str, str]] = [
        ("tower", t.line, t.tower) for t in ledger.towers if line in (None, t.line)]
    keys += [("span", s.line, s.name) for s in ledger.spans if line in (None, s.line)]
    return tuple(keys)


def only_line(ledger: Ledger, line: str | None) -> Ledger:
    """The ledger's towers of ``line`` (all of them for None); ValueError when it has none."""
    if line is None:
        return ledger
    towers = tuple(t for t in ledger.towers if t.line == line)
    if not towers:
        raise ValueError(f"the ledger has no tower of line {line!r}")
    return Ledger(towers)


# --- a line over a period ------------------------------------------------------------------


@dataclass(frozen=True)
class DatedCoverage:
    """One flight's coverage, on the flight's date."""

    date: dt.date
    coverage: Coverage


class PeriodItemJson(CoverageItemJson):
    flights: int
    last_covered: str | None
    stale: bool


class LineCoverageJson(TypedDict):
    ratio: float
    as_of: str
    stale_after_days: int
    flights: int
    towers: list[PeriodItemJson]
    spans: list[PeriodItemJson]
    gaps: list[GapJson]
    stale: list[GapJson]


@dataclass(frozen=True)
class PeriodItem:
    """A tower or span over several flights: ``covered`` by any of them, by how many
    (``flights``, ``photos`` in all), the finest view, the last date it was covered, and
    ``stale`` when that is longer ago than the limit (or it never was)."""

    kind: ItemKind
    id: str
    line: str
    covered: bool
    flights: int
    photos: int
    best_gsd_cm: float | None
    last_covered: dt.date | None
    stale: bool

    def gap(self) -> GapJson:
        return GapJson(kind=self.kind, id=self.id, line=self.line)

    def to_json(self) -> PeriodItemJson:
        return PeriodItemJson(
            kind=self.kind, id=self.id, line=self.line, covered=self.covered,
            photos=self.photos, best_gsd_cm=_gsd(self.best_gsd_cm), flights=self.flights,
            last_covered=None if self.last_covered is None else self.last_covered.isoformat(),
            stale=self.stale,
        )


@dataclass(frozen=True)
class LineCoverage:
    """A line's towers and spans over the flights given, as of a date."""

    towers: tuple[PeriodItem, ...]
    spans: tuple[PeriodItem, ...]
    as_of: dt.date
    stale_after_days: int
    flights: int

    @property
    def items(self) -> tuple[PeriodItem, ...]:
        return self.towers + self.spans

    @property
    def ratio(self) -> float:
        """Towers and spans covered by any of the flights over all of them."""
        return _ratio(sum(i.covered for i in self.items), len(self.items))

    @property
    def gaps(self) -> tuple[PeriodItem, ...]:
        return tuple(i for i in self.items if not i.covered)

    @property
    def stale(self) -> tuple[PeriodItem, ...]:
        return tuple(i for i in self.items if i.stale)

    def to_json(self) -> LineCoverageJson:
        return LineCoverageJson(
            ratio=round(self.ratio, 4), as_of=self.as_of.isoformat(),
            stale_after_days=self.stale_after_days, flights=self.flights,
            towers=[t.to_json() for t in self.towers], spans=[s.to_json() for s in self.spans],
            gaps=[g.gap() for g in self.gaps], stale=[s.gap() for s in self.stale],
        )


def line_coverage(
    ledger: Ledger, flights: Sequence[DatedCoverage], as_of: dt.date,
    stale_after_days: int = STALE_AFTER_DAYS, line: str | None = None,
) -> LineCoverage:
    """Several flights' coverages of a line combined, item by item of the ledger (of ``line``
    when given): what the flights said of towers or spans the ledger no longer lists is
    dropped, and an item no flight mentions counts as never covered. ``last_covered`` is the
    latest date among the flights given, so it is "within the period" those flights span."""
    keys = ledger_keys(ledger, line)
    by_key: dict[tuple[ItemKind, str, str], list[tuple[dt.date, CoverageItem]]] = {
        k: [] for k in keys}
    for f in flights:
        for item in f.coverage.items:
            seen = by_key.get((item.kind, item.line, item.id))
            if seen is not None:
                seen.append((f.date, item))
    out: list[PeriodItem] = []
    for (kind, ln, ident), views in by_key.items():
        dates = [d for d, i in views if i.covered]
        gsds = [i.best_gsd_cm for _, i in views if i.best_gsd_cm is not None]
        last = max(dates) if dates else None
        out.append(PeriodItem(
            kind=kind, id=ident, line=ln, covered=bool(dates), flights=len(dates),
            photos=sum(i.photos for _, i in views if i.covered),
            best_gsd_cm=min(gsds) if gsds else None, last_covered=last,
            stale=last is None or (as_of - last).days > stale_after_days,
        ))
    return LineCoverage(
        towers=tuple(i for i in out if i.kind == "tower"),
        spans=tuple(i for i in out if i.kind == "span"),
        as_of=as_of, stale_after_days=stale_after_days, flights=len(flights),
    )


def percent(ratio: float) -> str:
    """A ratio as people read it ("75 %"); never rounds a partial coverage up to 100."""
    value = math.floor(round(ratio * 1000, 6)) / 10  # 0.29 * 1000 is 289.99999999999997
    return f"{value:g} %"
