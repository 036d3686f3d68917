"""Source names reach the taxonomy only through an explicit mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linepatrol_datasets.mapping import (
    ClassMap,
    MappingError,
    apply_mapping,
    load_mapping,
    parse_mapping,
)
from linepatrol_datasets.model import Box, Dataset, IssueKind, Sample

REPO = Path(__file__).resolve().parents[2]


def dataset(*names: str) -> Dataset:
    boxes = [Box(n, 0, 0, 10, 10) for n in names]
    return Dataset([Sample(Path("a.jpg"), 20, 20, boxes, (Path("a.xml"),))])


def test_shipped_cplid_mapping_matches_the_core_default() -> None:
    from linepatrol import taxonomy

    cmap = load_mapping(REPO / "datasets/mappings/cplid.yaml")
    assert dict(cmap.aliases) == dict(taxonomy.DATASET_ALIASES["cplid"])
    assert cmap.target_keys() == ["insulator", "insulator_missing_cap"]
    assert load_mapping("cplid").aliases == cmap.aliases


def test_apply_renames_to_keys() -> None:
    ds = apply_mapping(dataset("defect", "insulator", "bird_nest"), load_mapping("cplid"))
    assert [b.class_name for b in ds.samples[0].boxes] == [
        "insulator_missing_cap", "insulator", "bird_nest"]  # a key needs no entry


def test_unmapped_names_are_one_error_listing_them_all() -> None:
    with pytest.raises(MappingError) as err:
        apply_mapping(dataset("defect", "nest", "crane", "crane"), ClassMap())
    message = str(err.value)
    assert "'crane' (2 boxes)" in message and "'defect' (1 boxes)" in message
    assert "'nest' (1 boxes)" in message and "--drop-unknown" in message


def test_drop_unknown_reports_each_box() -> None:
    ds = apply_mapping(dataset("defect", "tower", "nest"), load_mapping("cplid"),
                       drop_unknown=True)
    assert [b.class_name for b in ds.samples[0].boxes] == ["insulator_missing_cap", "tower"]
    assert [(i.file, i.kind) for i in ds.issues] == [(Path("a.xml"), IssueKind.UNKNOWN_CLASS)]


def test_null_drops_a_class_on_purpose(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"classes": {"nest": "bird_nest", "person": None}}), "utf-8")
    ds = apply_mapping(dataset("nest", "person"), load_mapping(path))
    assert [b.class_name for b in ds.samples[0].boxes] == ["bird_nest"]
    assert ds.issues == []


def test_yaml_file_and_plain_dict(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("nest: bird_nest\ncrane: truck_crane\n", encoding="utf-8")
    assert dict(load_mapping(path).aliases) == {"nest": "bird_nest", "crane": "truck_crane"}


def test_target_that_is_not_a_key_is_refused() -> None:
    with pytest.raises(MappingError, match="nest -> birdnest"):
        parse_mapping({"classes": {"nest": "birdnest"}})


def test_missing_file_or_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="neither a file nor a known dataset"):
        load_mapping(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("classes: [", encoding="utf-8")
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping(bad)


def test_unknown_class_reported_against_its_own_label_file(tmp_path: Path) -> None:
    from dataset_builders import make_cplid_like

    from linepatrol_datasets.readers.voc import read_voc

    ds = read_voc(make_cplid_like(tmp_path, normal=1))
    ds = apply_mapping(ds, parse_mapping({"insulator": "insulator"}), drop_unknown=True)
    assert len(ds.issues) == 6
    assert {i.file.parent.name for i in ds.issues} == {"defect"}  # not labels/insulator/
