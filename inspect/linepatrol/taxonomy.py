"""Every class LinePatrol knows: one table, one place.

Keys are snake_case and stable: they are what models carry in their metadata, what the JSON of
``linepatrol detect`` prints and what the database stores. Names follow State Grid (国家电网) field
practice for transmission-line patrols; grades are the three of the defect management rules:
危急 (critical), 严重 (serious), 一般 (general).

The ``sg_code`` column is left empty where no published code could be confirmed; it is filled
when a utility's own code table is supplied, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """What a class is: a defect of the line, an external-damage hazard, or a plain component."""

    LINE_DEFECT = "line_defect"
    HAZARD = "hazard"  # 外破隐患
    COMPONENT = "component"


class Severity(StrEnum):
    """Defect grade, most urgent first."""

    CRITICAL = "critical"  # 危急
    SERIOUS = "serious"  # 严重
    GENERAL = "general"  # 一般

    @property
    def zh(self) -> str:
        return _SEVERITY_ZH[self]

    @property
    def rank(self) -> int:
        """0 for the most urgent grade; sort ascending to put critical first."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ZH = {Severity.CRITICAL: "危急", Severity.SERIOUS: "严重", Severity.GENERAL: "一般"}
_SEVERITY_ORDER = (Severity.CRITICAL, Severity.SERIOUS, Severity.GENERAL)


@dataclass(frozen=True)
class ClassInfo:
    key: str
    zh: str
    en: str
    category: Category
    severity: Severity | None  # None for components: seeing a component is not a defect
    sg_code: str | None = None
    on_line: bool = False  # sits on the tower or conductor, not on the ground
    on_conductor: bool = False  # belongs to a span rather than a tower
    # construction machinery on the ground: a detector may name one machine differently from
    # photo to photo (a pump truck's boom folded looks like a truck crane's), so their sightings
    # of one place are one object whose class the views vote on (linepatrol.geo.merge)
    machine: bool = False
    # Ground objects: half the depth of the footprint seen from a random side — the mean
    # support (L + W) / π of an L × W rectangle — in metres: how far beyond the foot of its box
    # the object's centre stands (linepatrol.geo.locate.footprint_anchor). Common models near
    # Chinese lines: 25-50 t truck cranes 12-13 x 2.5 m (wider with outriggers out), 37-56 m
    # pump trucks 12 x 2.5 m, 20-30 t excavators 4.5 x 3 m on tracks, bulldozers about
    # 5 x 3.5 m with the blade, crawler pile drivers 5 x 3.5 m, tower cranes on a 4-6 m base;
    # a fire is placed at its seat (the plume drifts).
    footprint_half_depth_m: float | None = None

    @property
    def label(self) -> str:
        """English and Chinese side by side, as the interface shows them."""
        return f"{self.en} {self.zh}"


_C, _S = Category, Severity
CLASSES: tuple[ClassInfo, ...] = (
    # Components: what the detector sees on every tower.
    ClassInfo("insulator", "绝缘子", "Insulator", _C.COMPONENT, None, on_line=True),
    ClassInfo("tower", "杆塔", "Tower", _C.COMPONENT, None, on_line=True),
    ClassInfo("damper", "防振锤", "Vibration damper", _C.COMPONENT, None, on_line=True,
              on_conductor=True),
    # Line defects.
    ClassInfo("insulator_missing_cap", "绝缘子自爆/缺片", "Insulator self-explosion (missing cap)",
              _C.LINE_DEFECT, _S.SERIOUS, on_line=True),
    ClassInfo("insulator_broken", "绝缘子破损", "Broken insulator", _C.LINE_DEFECT, _S.SERIOUS,
              on_line=True),
    ClassInfo("insulator_flashover", "绝缘子闪络", "Insulator flashover", _C.LINE_DEFECT,
              _S.SERIOUS, on_line=True),
    ClassInfo("bird_nest", "鸟巢", "Bird nest", _C.LINE_DEFECT, _S.SERIOUS, on_line=True),
    ClassInfo("foreign_object", "导线异物", "Foreign object on conductor", _C.LINE_DEFECT,
              _S.CRITICAL, on_line=True, on_conductor=True),
    ClassInfo("damper_slipped", "防振锤滑移", "Slipped vibration damper", _C.LINE_DEFECT,
              _S.GENERAL, on_line=True, on_conductor=True),
    ClassInfo("damper_broken", "防振锤破损", "Broken vibration damper", _C.LINE_DEFECT,
              _S.SERIOUS, on_line=True, on_conductor=True),
    ClassInfo("pin_missing", "销钉缺失", "Missing pin", _C.LINE_DEFECT, _S.SERIOUS, on_line=True),
    ClassInfo("corrosion", "锈蚀", "Corrosion", _C.LINE_DEFECT, _S.GENERAL, on_line=True),
    ClassInfo("broken_strand", "导线断股", "Broken conductor strand", _C.LINE_DEFECT, _S.SERIOUS,
              on_line=True, on_conductor=True),
    # External-damage hazards (外破隐患): on the ground near the line; graded by distance.
    ClassInfo("tower_crane", "塔吊", "Tower crane", _C.HAZARD, _S.SERIOUS, machine=True,
              footprint_half_depth_m=2.5),
    ClassInfo("truck_crane", "吊车", "Truck crane", _C.HAZARD, _S.SERIOUS, machine=True,
              footprint_half_depth_m=4.5),
    ClassInfo("excavator", "挖掘机", "Excavator", _C.HAZARD, _S.GENERAL, machine=True,
              footprint_half_depth_m=2.5),
    ClassInfo("pump_truck", "水泥泵车", "Concrete pump truck", _C.HAZARD, _S.SERIOUS, machine=True,
              footprint_half_depth_m=4.0),
    ClassInfo("bulldozer", "推土机", "Bulldozer", _C.HAZARD, _S.GENERAL, machine=True,
              footprint_half_depth_m=2.5),
    ClassInfo("pile_driver", "打桩机", "Pile driver", _C.HAZARD, _S.SERIOUS, machine=True,
              footprint_half_depth_m=2.5),
    ClassInfo("construction_site", "施工场地", "Construction site", _C.HAZARD, _S.GENERAL),
    ClassInfo("smoke_fire", "山火/烟雾", "Wildfire smoke", _C.HAZARD, _S.CRITICAL,
              footprint_half_depth_m=1.5),
    # Construction machinery of a kind the detector does not tell (施工机械, State Grid's
    # umbrella term for it): what a general vehicle detector reports. Last in the table, so
    # the class ids of datasets written before it stay as they were.
    ClassInfo("machinery", "施工机械", "Construction machinery", _C.HAZARD, _S.GENERAL,
              machine=True, footprint_half_depth_m=3.0),
)

BY_KEY: Mapping[str, ClassInfo] = {c.key: c for c in CLASSES}

# Source-dataset class names that are not taxonomy keys, per dataset. A mapping file given to
# the dataset tools takes precedence; these are the defaults for datasets we know.
DATASET_ALIASES: Mapping[str, Mapping[str, str]] = {
    "cplid": {"insulator": "insulator", "defect": "insulator_missing_cap"},
}


class UnknownClassError(KeyError):
    """A class name that is neither a taxonomy key nor a known alias."""


def get(key: str) -> ClassInfo:
    """The class for a taxonomy key; an error that lists the valid keys otherwise."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise UnknownClassError(
            f"unknown class {key!r}; known classes: {', '.join(sorted(BY_KEY))}"
        ) from None


def resolve(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Map a dataset or model class name onto a taxonomy key.

    ``aliases`` (source name -> key) wins; otherwise the name must already be a key.
    """
    if aliases and name in aliases:
        key = aliases[name]
        get(key)
        return key
    if name in BY_KEY:
        return name
    raise UnknownClassError(
        f"class name {name!r} is not a LinePatrol class and has no mapping; "
        f"known classes: {', '.join(sorted(BY_KEY))}"
    )


def unknown_names(names: Iterable[str], aliases: Mapping[str, str] | None = None) -> list[str]:
    """The names among ``names`` that :func:`resolve` would reject, sorted, without duplicates."""
    bad = set()
    for name in names:
        try:
            resolve(name, aliases)
        except UnknownClassError:
            bad.add(name)
    return sorted(bad)


def severity_of(key: str) -> Severity | None:
    """Default grade of a class key; ``None`` for components and for classes we do not know."""
    info = BY_KEY.get(key)
    return info.severity if info else None
