"""CSV: one row per defect, :data:`~linepatrol.report.view.COLUMNS`, UTF-8 with a BOM.

The BOM is for Excel, which most maintenance offices open CSV in: without it Excel reads UTF-8
as the local code page and the Chinese names garble. Text cells that a spreadsheet would run
as a formula are neutralised as OWASP recommends ("CSV injection"): a cell starting with
``= + - @``, a tab or a carriage return gets a leading single quote. Numbers are written as
numbers, so a negative coordinate stays a number.
"""

from __future__ import annotations

import csv
import io

from linepatrol.report.view import COLUMNS, Cell, Report

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
