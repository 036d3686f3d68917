"""``linepatrol report``'s coverage.csv (with a ledger): written by linepatrol.report's CSV
helpers (BOM, neutralised cells), and the ratio and gaps printed."""

from __future__ import annotations

import csv
import io

from linepatrol.cli import main
from linepatrol.geo.coverage import Coverage, CoverageItem
from linepatrol.report import COVERAGE_COLUMNS, coverage_to_csv_bytes


def test_coverage_csv_is_utf8_with_a_bom_and_neutralised():
    cov = Coverage((CoverageItem("tower", "=1+1", "L", True, 2, 0.123),
                    CoverageItem("tower", "N2", "L", False, 0, None)), ())
    raw = coverage_to_csv_bytes(cov)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COVERAGE_COLUMNS == ("kind", "id", "covered", "photos",
                                                  "best_gsd_cm")
    assert rows[1] == ["tower", "'=1+1", "true", "2", "0.12"]
    assert rows[2] == ["tower", "N2", "false", "0", ""]


def test_report_writes_coverage_csv_beside_the_other_outputs(flight, tmp_path, capsys):
    """The ``flight`` fixture's two photos look at tower T2 from 63 m with a 500 px focal
    length (12.6 cm per pixel): a cap spans 2 px there, so T2 is covered at --min-object-px
    1.5 and not at the default; T1 and T3 are outside both views."""
    folder, ledger_path, model, _poses = flight
    out = tmp_path / "out"
    assert main(["report", str(folder), "--ledger", str(ledger_path), "--model", str(model),
                 "--out", str(out), "--tile", "off", "--min-object-px", "1.5"]) == 0
    printed = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO((out / "coverage.csv").read_text("utf-8-sig"))))
    assert (out / "coverage.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(rows[0]) == ["kind", "id", "covered", "photos", "best_gsd_cm"]
    assert [(r["kind"], r["id"], r["covered"], r["photos"]) for r in rows] == [
        ("tower", "T1", "false", "0"), ("tower", "T2", "true", "2"),
        ("tower", "T3", "false", "0"),
        ("span", "T1-T2", "false", "2"), ("span", "T2-T3", "false", "2"),
    ]
    t2 = rows[1]
    assert 12.0 < float(t2["best_gsd_cm"]) < 13.5 and rows[0]["best_gsd_cm"] == ""
    assert "coverage: 20 % of 5 towers and spans covered" in printed
    assert "4 gap(s): tower T1, tower T3, span T1-T2, span T2-T3" in printed
    assert "coverage.csv" in printed
    # the default threshold: nothing is close enough
    assert main(["report", str(folder), "--ledger", str(ledger_path), "--model", str(model),
                 "--out", str(out), "--tile", "off"]) == 0
    rows = list(csv.DictReader(io.StringIO((out / "coverage.csv").read_text("utf-8-sig"))))
    assert all(r["covered"] == "false" for r in rows)
    # no ledger: no coverage
    bare = tmp_path / "bare"
    assert main(["report", str(folder), "--model", str(model), "--out", str(bare),
                 "--tile", "off"]) == 0
    assert not (bare / "coverage.csv").exists()


def test_report_against_an_earlier_one_writes_changes_csv(flight, tmp_path, capsys):
    """Flying the fixture again: what the first report found is seen again. An earlier nest
    on T2 (covered at 1.5 px) that this flight did not see is a candidate fix; one on T3
    (outside the views) is only not covered."""
    import json

    folder, ledger_path, model, _poses = flight
    args = ["report", str(folder), "--ledger", str(ledger_path), "--model", str(model),
            "--tile", "off", "--min-object-px", "1.5"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    earlier = json.loads((tmp_path / "one" / "report.geojson").read_text("utf-8"))
    placed = [f["properties"]["id"] for f in earlier["features"]
              if f["properties"]["placement"] != "none"]
    unplaced = [f["properties"]["id"] for f in earlier["features"]
                if f["properties"]["placement"] == "none"]
    assert placed and unplaced  # the photo without metadata: nothing says where its finds are
    for tower, fid in (("T2", "X1"), ("T3", "X2")):
        earlier["features"].append({"type": "Feature", "id": fid, "geometry": None, "properties": {
            "id": fid, "class": "insulator_missing_cap", "category": "line_defect",
            "line": "L1", "tower": tower, "placement": "tower"}})
    previous = tmp_path / "earlier.geojson"
    previous.write_text(json.dumps(earlier), encoding="utf-8")
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "two"), "--previous", str(previous)]) == 0
    raw = (tmp_path / "two" / "changes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == ["id", "class", "state", "previous_id"]
    again = [r for r in rows if r["state"] == "seen_again"]
    assert sorted(r["previous_id"] for r in again) == sorted(placed)
    assert all(r["id"] == r["previous_id"] for r in again)  # same photos, same order
    # an unplaced finding matches nothing: new now, and the earlier one not covered
    assert sorted(r["id"] for r in rows if r["state"] == "new") == sorted(unplaced)
    assert [(r["previous_id"], r["state"]) for r in rows if r["id"] == ""] == [
        *((u, "not_covered") for u in unplaced), ("X1", "not_seen"), ("X2", "not_covered")]
    assert (f"{len(unplaced)} new, {len(placed)} seen again, 1 not seen, "
            f"{len(unplaced) + 1} not covered") in capsys.readouterr().out
    (tmp_path / "bad.geojson").write_text("[1, 2]")
    assert main([*args, "--out", str(tmp_path / "three"),
                 "--previous", str(tmp_path / "bad.geojson")]) != 0
