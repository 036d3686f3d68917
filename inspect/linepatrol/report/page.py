"""The HTML report: one self-contained file a maintenance lead can e-mail or archive.

Styles are inline and each defect's evidence crop is embedded as a ``data:`` URI, so the file
shows the same on a laptop without the service: no link points back to the server that wrote
it. Every value is escaped (flight lines, file names and notes are user text).
"""

from __future__ import annotations

import base64
from html import escape

from linepatrol.report.view import Report, ReportDefect
from linepatrol.report.view import facts as summary_facts

STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 6px; text-align: left; font-size: 0.9em;
         vertical-align: top; }
.critical { background: #fdd; } .serious { background: #ffe9cc; }
img { max-width: 240px; max-height: 180px; }
"""


def _text(value: object) -> str:
    return "—" if value is None or value == "" else escape(str(value))


def _crop(report: Report, d: ReportDefect) -> str:
    data = report.crops.get(d.id)
    if data is None:
        return ""
    uri = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    return f'<img src="{uri}" alt="{escape(d.name_en)} {escape(d.id)}">'


def _row(report: Report, d: ReportDefect) -> str:
    row = d.row()
    where = (f"{row['lat']:.7f}, {row['lon']:.7f}" if d.placed
             else f"<small>{_text(d.geo_reason or 'not placed')}</small>")
    site = _text(d.tower) + (f" / {_text(d.span)}" if d.span else "")
    cells = [
        _text(d.id),
        f"{_text(d.name_zh)}<br><small>{_text(d.name_en)} ({_text(d.class_key)})</small>",
        f"{_text(d.severity_zh)} {_text(d.severity)}",
        _text(d.status),
        f"{d.confidence:.2f}",
        f"{_text(d.line)}<br>{site}",
        where,
        f"{_text(row['photo'])}<br><small>{_text(row['photos'])} photo(s)</small>",
        _crop(report, d),
    ]
    tds = "".join(f"<td>{c}</td>" for c in cells)
    return f'<tr class="{escape(d.severity or "")}">{tds}</tr>'


def to_html(report: Report) -> str:
    h = report.header
    facts = [escape(f) for f in summary_facts(report)]
    notes = f"<p>{_text(h.notes)}</p>" if h.notes else ""
    head = ("<tr><th>#</th><th>Class</th><th>Severity</th><th>Status</th><th>Confidence</th>"
            "<th>Line / tower / span</th><th>Position</th><th>Photo</th><th>Evidence</th></tr>")
    body = "\n".join(_row(report, d) for d in report.defects)
    return (
        '<!doctype html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(h.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(h.title)}</h1>\n<p>{' · '.join(facts)}</p>\n{notes}\n"
        f"<table>\n<thead>{head}</thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
        "</body>\n</html>\n"
    )
