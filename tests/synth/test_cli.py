"""The synth commands parse as documented and run end to end at a tiny size."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from linepatrol.cli import UserError
from linepatrol_datasets.synth.cli import register_synth


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linepatrol data")
    register_synth(parser.add_subparsers(dest="command"))
    return parser


def test_arguments_parse() -> None:
    args = _parser().parse_args(["synth", "--scenes", "4", "--out", "x", "--size", "640x480",
                                 "--seed", "3"])
    assert (args.scenes, args.size, args.seed, args.out) == (4, (640, 480), 3, Path("x"))
    args = _parser().parse_args(["sample-flight", "--out", "f"])
    assert (args.photos, args.size, args.revisit) == (60, (4000, 3000), False)
    assert _parser().parse_args(["sample-flight", "--out", "f", "--revisit"]).revisit
    with pytest.raises(SystemExit):
        _parser().parse_args(["synth", "--scenes", "1", "--out", "x", "--size", "640by480"])


def test_synth_command_writes_a_dataset(renderer, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "ds"
    args = _parser().parse_args(["synth", "--scenes", "1", "--out", str(out), "--size", "96x72",
                                 "--no-photos", "--quiet"])
    assert args.handler(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 1 and summary["ground"] == "procedural"
    assert len(list((out / "images").glob("*.jpg"))) == 1
    assert (out / "ledgers" / "scene000000.csv").read_text().startswith("line,tower,lat,lon")


def test_check_flight_needs_a_flight_folder(tmp_path: Path) -> None:
    args = _parser().parse_args(["check-flight", str(tmp_path), "--oracle"])
    with pytest.raises(UserError, match="truth.json"):
        args.handler(args)


def test_check_flight_scores_a_report_within_the_gate(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    truth = {"origin": {"lat": 30.0, "lon": 114.0, "alt": 20.0},
             "objects": [{"instance_id": 1, "class": "excavator", "enu": [0.0, 0.0, 0.0]}]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    report = tmp_path / "report.geojson"
    # ~22 m north of the origin: outside the default 15 m gate, inside a 30 m one
    report.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"class": "excavator", "lat": 30.0002,
                                           "lon": 114.0, "alt_m": 20.0}}]}))
    base = ["check-flight", str(tmp_path), "--report", str(report)]
    args = _parser().parse_args(base)
    assert args.gate is None and args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["matched"]["found"] == 0 and out["matched"]["false_findings"] == 1
    assert out["median_m"] == pytest.approx(22.2, abs=0.1)
    args = _parser().parse_args([*base, "--gate", "30"])
    assert args.handler(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["matched"]["gate_m"] == 30.0 and out["matched"]["recall"] == 1.0
    args = _parser().parse_args([*base, "--gate", "0"])
    with pytest.raises(UserError, match="--gate"):
        args.handler(args)


def test_bad_output_and_backgrounds_are_user_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = _parser().parse_args(["synth", "--scenes", "1", "--out", str(blocker)])
    with pytest.raises(UserError, match="not a folder"):
        args.handler(args)
    args = _parser().parse_args(["synth", "--scenes", "1", "--out", str(tmp_path / "o"),
                                 "--backgrounds", str(tmp_path)])
    with pytest.raises(UserError, match="no \\*/images"):
        args.handler(args)


def test_a_seed_without_a_revisit_is_a_user_error(renderer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = _parser().parse_args(["sample-flight", "--out", str(tmp_path / "f"), "--seed", "1",
                                 "--revisit", "--no-photos", "--quiet"])
    with pytest.raises(UserError, match="--revisit --seed 1: .*try another seed"):
        args.handler(args)
    assert list((tmp_path / "f").iterdir()) == []  # nothing written
