"""CSV: one row per defect, :data:`~linepatrol.report.view.COLUMNS`, UTF-8 with a BOM; and a
flight's coverage of its ledger, one row per tower and span (:data:`COVERAGE_COLUMNS`); and a
flight against an earlier report (:data:`CHANGES_COLUMNS`).

The BOM is for Excel, which most maintenance offices open CSV in: without it Excel reads UTF-8
as the local code page and the Chinese names garble. Text cells that a spreadsheet would run
as a formula are neutralised as OWASP recommends ("CSV injection"): a cell starting with
``= + - @``, a tab or a carriage return gets a leading single quote. Numbers are written as
numbers, so a negative coordinate stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from linepatrol.geo.coverage import Coverage
from linepatrol.report.view import COLUMNS, Cell, Report
from linepatrol.tracking import Change

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COVERAGE_COLUMNS: tuple[str, ...] = ("kind", "id", "covered", "photos", "best_gsd_cm")
CHANGES_COLUMNS: tuple[str, ...] = ("id", "class", "state", "previous_id")


def neutralise(value: Cell) -> str | int | float:
    """A cell as written: empty for None, text that could start a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(report: Report) -> str:
    """The CSV text (without the BOM; :func:`to_csv_bytes` adds it)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for d in report.defects:
        row = d.row()
        writer.writerow([neutralise(row[k]) for k in COLUMNS])
    return buf.getvalue()


def to_csv_bytes(report: Report) -> bytes:
    return to_csv(report).encode("utf-8-sig")


def coverage_to_csv(coverage: Coverage) -> str:
    """``coverage.csv``'s text (without the BOM): towers then spans in ledger order; covered as
    ``true``/``false`` (as in the JSON), no GSD for what no photo framed."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COVERAGE_COLUMNS)
    for item in coverage.items:
        row = item.to_json()
        writer.writerow([neutralise(row["kind"]), neutralise(row["id"]),
                         "true" if row["covered"] else "false", row["photos"],
                         neutralise(row["best_gsd_cm"])])
    return buf.getvalue()


def coverage_to_csv_bytes(coverage: Coverage) -> bytes:
    return coverage_to_csv(coverage).encode("utf-8-sig")


def changes_to_csv_bytes(changes: Sequence[Change]) -> bytes:
    """``changes.csv`` (UTF-8 with a BOM): this flight's defects against an earlier report."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CHANGES_COLUMNS)
    for c in changes:
        writer.writerow([neutralise(c.id), neutralise(c.class_key), c.state.value,
                         neutralise(c.previous_id)])
    return buf.getvalue().encode("utf-8-sig")
