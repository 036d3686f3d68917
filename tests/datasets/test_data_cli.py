"""``linepatrol data ...`` end to end on generated datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_builders import background, make_cplid_like, voc_xml

from linepatrol.cli import main

REPO = Path(__file__).resolve().parents[2]
CPLID_MAP = str(REPO / "datasets/mappings/cplid.yaml")


@pytest.fixture(scope="module")
def cplid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cplid_like(tmp_path_factory.mktemp("cplid"), normal=6)


def test_convert_cplid_like(cplid: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yolo"
    code = main(["data", "convert", str(cplid), "--format", "voc-split", "--map", CPLID_MAP,
                 "--out", str(out), "--split", "0.3", "--seed", "0"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "near-duplicates: 2 groups holding 5 images" in printed
    labels = sorted((out / "labels").rglob("*.txt"))
    images = sorted((out / "images").rglob("*.jpg"))
    assert len(labels) == len(images) == 12
    lines = [ln.split()[0] for p in labels for ln in p.read_text().splitlines()]
    assert lines.count("0") == 12 and lines.count("1") == 6  # insulator, insulator_missing_cap
    manifest = json.loads((out / "manifest.json").read_text())
    side = {Path(e["source"]).stem: e["split"] for e in manifest}
    assert side["000"] == side["001"] == side["002"] and side["003"] == side["004"]
    report = json.loads((out / "report.json").read_text())
    assert report["names"] == ["insulator", "insulator_missing_cap"]
    assert report["split"]["images"]["train"] + report["split"]["images"]["val"] == 12
    assert report["statistics"]["classes"]["insulator_missing_cap"]["boxes"] == 6

    # same command, same split; the old dataset is only replaced on request
    assert main(["data", "convert", str(cplid), "-f", "voc", "--map", "cplid", "--out",
                 str(out), "--split", "0.3", "--seed", "0"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["data", "convert", str(cplid), "-f", "voc", "--map", "cplid", "--out",
                 str(out), "--split", "0.3", "--seed", "0", "--overwrite"]) == 0
    again = json.loads((out / "manifest.json").read_text())
    assert [(e["image"], e["split"]) for e in again] == [(e["image"], e["split"]) for e in manifest]


def test_unmapped_names_stop_with_a_list(cplid: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "convert", str(cplid), "-f", "voc", "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "'defect' (6 boxes)" in err and "--drop-unknown" in err
    assert not (tmp_path / "o").exists()


def test_bad_labels_reported_and_good_ones_converted(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    background(src / "a.jpg", 1, 100, 80)
    background(src / "b.jpg", 2, 100, 80)
    background(src / "c.jpg", 3, 100, 80)
    voc_xml(src / "a.xml", "a", 100, 80, [("tower", 1, 1, 50, 50), ("tower", 90, 1, 180, 50)])
    voc_xml(src / "b.xml", "b", 100, 80, [("bird_nest", 5, 5, 5, 50)])
    voc_xml(src / "z.xml", "z", 100, 80, [("tower", 1, 1, 50, 50)])
    code = main(["data", "convert", str(src), "-f", "voc", "--out", str(tmp_path / "o"),
                 "--val", "0", "--no-dedup"])
    assert code == 0
    err = capsys.readouterr().err
    assert "a.xml: box_outside" in err and "b.xml: zero_area" in err
    assert "z.xml: label_without_image" in err and "c.jpg: image_without_label" in err
    assert "box_outside 1 (1 files)" in err
    assert (tmp_path / "o/labels/train/a.txt").read_text().count("\n") == 1
    assert (tmp_path / "o/labels/train/b.txt").read_text() == ""
    report = json.loads((tmp_path / "o/report.json").read_text())
    assert report["label_problems"]["counts"] == {
        "box_outside": 1, "image_without_label": 1, "label_without_image": 1, "zero_area": 1}


def test_split_stats_and_slice_commands(cplid: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "split", str(cplid), "-f", "voc", "--map", "cplid", "--val", "0.25",
                 "--out", str(tmp_path / "s")]) == 0
    train = (tmp_path / "s/train.txt").read_text().split()
    val = (tmp_path / "s/val.txt").read_text().split()
    assert len(train) + len(val) == 12 and not set(train) & set(val)
    plan = json.loads((tmp_path / "s/split.json").read_text())
    assert len(plan["images"]) == 12 and plan["links"]

    assert main(["data", "stats", str(cplid), "-f", "voc", "--map", "cplid",
                 "--json", str(tmp_path / "stats.json")]) == 0
    assert "insulator_missing_cap" in capsys.readouterr().out
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["images"] == 12 and stats["classes"]["insulator"]["boxes"] == 12

    assert main(["data", "slice", str(cplid), "-f", "voc", "--map", "cplid", "--tile", "64",
                 "--overlap", "0.25", "--out", str(tmp_path / "t"), "--val", "0.25"]) == 0
    tiles = json.loads((tmp_path / "t/manifest.json").read_text())
    assert tiles and all(t["tile"][2] - t["tile"][0] == 64 for t in tiles)
    by_photo: dict[str, set[str]] = {}
    for t in tiles:
        by_photo.setdefault(t["source"], set()).add(t["split"])
    assert all(len(s) == 1 for s in by_photo.values())  # a photo's tiles stay on one side


@pytest.mark.parametrize("action", ["convert", "split", "stats", "slice"])
def test_help_texts(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["data", action, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text and "labelme" in text and "--map" in text


def test_missing_source_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "stats", str(tmp_path / "nope"), "-f", "voc"]) == 2
    assert "does not exist" in capsys.readouterr().err
