"""``linepatrol data merge``: sources keep their splits, ids follow the taxonomy order."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from linepatrol.cli import main
from linepatrol_datasets.merge import MergeError, MergeSource, merge_yolo, merged_names


def _source(root: Path, names: list[str], splits: dict[str, list[int]]) -> Path:
    for split, classes in splits.items():
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i, c in enumerate(classes):
            cv2.imwrite(str(root / "images" / split / f"{split}{i}.jpg"),
                        np.full((40, 60, 3), 100 + i, dtype=np.uint8))
            (root / "labels" / split / f"{split}{i}.txt").write_text(f"{c} 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text(yaml.safe_dump(
        {"train": "images/train", "val": "images/val" if "val" in splits else "images/train",
         "names": dict(enumerate(names))}))
    return root


def _labels(out: Path, split: str) -> list[int]:
    return sorted(int(p.read_text().split()[0]) for p in (out / "labels" / split).glob("*.txt"))


def test_merge_renumbers_in_taxonomy_order_and_keeps_splits(tmp_path: Path) -> None:
    a = _source(tmp_path / "a", ["insulator_flashover", "insulator"],
                {"train": [0, 1], "val": [0]})
    b = _source(tmp_path / "b", ["excavator", "foreign_object"], {"train": [0, 1], "val": [1]})
    out = tmp_path / "out"
    result = merge_yolo([MergeSource(a), MergeSource(b, ("train",))], out)
    names = yaml.safe_load((out / "data.yaml").read_text())["names"]
    assert list(names.values()) == ["insulator", "insulator_flashover", "foreign_object",
                                    "excavator"]
    assert result.images == {"train": 4, "val": 1}
    assert _labels(out, "train") == [0, 1, 2, 3]
    assert _labels(out, "val") == [1]  # a's flashover; b's val was left out


def test_unknown_names_are_refused() -> None:
    with pytest.raises(MergeError, match="not taxonomy keys"):
        merged_names([["insulator", "wire"]])


def test_cli_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _source(tmp_path / "a", ["insulator"], {"train": [0], "val": [0]})
    rc = main(["data", "merge", f"{a}:val", "--out", str(tmp_path / "m")])
    assert rc == 0
    assert "val 1" in capsys.readouterr().out
    assert main(["data", "merge", str(a), "--out", str(tmp_path / "m")]) != 0


def test_osd_copies_are_training_photos_with_text(tmp_path: Path) -> None:
    a = _source(tmp_path / "a", ["insulator"], {"train": [0, 0, 0], "val": [0]})
    out = tmp_path / "out"
    result = merge_yolo([MergeSource(a)], out, osd=2)
    assert result.images == {"train": 5, "val": 1}
    copies = sorted((out / "images" / "train").glob("*osd*"))
    assert len(copies) == 2
    stamped = cv2.imread(str(copies[0]))
    assert stamped is not None and (stamped != stamped[0, 0]).any()  # text on a flat photo


def test_a_repeated_source_enters_training_n_times_and_val_once(tmp_path: Path) -> None:
    a = _source(tmp_path / "a", ["insulator"], {"train": [0, 0], "val": [0]})
    b = _source(tmp_path / "b", ["insulator_flashover"], {"train": [0], "val": [0]})
    out = tmp_path / "out"
    result = merge_yolo([MergeSource(a), MergeSource.parse(f"{b}*3")], out)
    assert result.images == {"train": 2 + 3, "val": 2}
    assert _labels(out, "train") == [0, 0, 1, 1, 1]
    copies = sorted((out / "images" / "train").glob("*repeat-source*"))
    assert len(copies) == 2 and all(c.resolve().name == "train0.jpg" for c in copies)
    # A second merge into the same folder starts its links afresh.
    again = merge_yolo([MergeSource(a), MergeSource(b, repeat=2)], out, overwrite=True)
    assert again.images == {"train": 2 + 2, "val": 2}


@pytest.mark.parametrize(("text", "expected"), [
    ("/d", MergeSource(Path("/d"))),
    ("/d:train", MergeSource(Path("/d"), ("train",))),
    ("/d*4", MergeSource(Path("/d"), (), 4)),
    ("/d:train,val*2", MergeSource(Path("/d"), ("train", "val"), 2)),
])
def test_source_spelling(text: str, expected: MergeSource) -> None:
    assert MergeSource.parse(text) == expected


@pytest.mark.parametrize("text", ["/d*two", "/d*0"])
def test_bad_repeats_are_refused(text: str) -> None:
    with pytest.raises(MergeError):
        MergeSource.parse(text)


def test_a_source_listed_twice_is_refused_with_the_way_to_repeat_it(tmp_path: Path) -> None:
    a = _source(tmp_path / "a", ["insulator"], {"train": [0]})
    with pytest.raises(MergeError, match=r"SRC\*N"):
        merge_yolo([MergeSource(a), MergeSource(a, ("train",))], tmp_path / "out")
    assert main(["data", "merge", str(a), f"{a}:train", "--out", str(tmp_path / "m")]) != 0
