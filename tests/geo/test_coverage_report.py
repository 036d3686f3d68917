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
