from __future__ import annotations

import pytest

from linepatrol import taxonomy
from linepatrol.taxonomy import Category, Severity

REQUIRED = {
    "insulator", "insulator_missing_cap", "insulator_broken", "insulator_flashover", "bird_nest",
    "foreign_object", "damper_slipped", "damper_broken", "pin_missing", "corrosion",
    "broken_strand", "tower_crane", "truck_crane", "excavator", "pump_truck", "bulldozer",
    "pile_driver", "smoke_fire", "tower", "damper",
}


def test_every_required_class_is_defined_once() -> None:
    keys = [c.key for c in taxonomy.CLASSES]
    assert len(keys) == len(set(keys))
    assert set(keys) >= REQUIRED


def test_classes_have_names_and_consistent_grades() -> None:
    for c in taxonomy.CLASSES:
        assert c.key == c.key.lower() and " " not in c.key
        assert c.zh and c.en
        if c.category is Category.COMPONENT:
            assert c.severity is None
        else:
            assert isinstance(c.severity, Severity)
        if c.category is Category.HAZARD:
            assert not c.on_line


def test_severity_labels_and_order() -> None:
    assert [s.zh for s in Severity] == ["危急", "严重", "一般"]
    assert sorted(Severity, key=lambda s: s.rank)[0] is Severity.CRITICAL


def test_cplid_names_map_onto_keys() -> None:
    aliases = taxonomy.DATASET_ALIASES["cplid"]
    assert taxonomy.resolve("defect", aliases) == "insulator_missing_cap"
    assert taxonomy.resolve("insulator", aliases) == "insulator"
    assert taxonomy.get("insulator_missing_cap").zh == "绝缘子自爆/缺片"


def test_unknown_names_are_listed() -> None:
    with pytest.raises(taxonomy.UnknownClassError, match="'kite'"):
        taxonomy.resolve("kite")
    assert taxonomy.unknown_names(["kite", "insulator", "zz", "kite"]) == ["kite", "zz"]
    assert taxonomy.severity_of("smoke_fire") is Severity.CRITICAL
    assert taxonomy.severity_of("tower") is None
