"""The PDF report: what the HTML report shows, on A4 landscape pages, for printing and archiving.

Written with ReportLab (the ``pdf`` extra), which is pure Python and needs no system library.
Chinese text uses a CJK TrueType font that fontconfig finds (:mod:`linepatrol.fonts`),
embedded as a subset of the glyphs used, so every reader shows it; without one, ReportLab's
built-in ``STSong-Light``, a font every PDF reader with Chinese support knows by name and that
is therefore not embedded. Every value is escaped (user text goes into ReportLab's markup).

The table has one row per defect, each CSV column's value in it
(:data:`~linepatrol.report.view.COLUMNS`, grouped into cells as the HTML report groups them),
and the defect's evidence crop in its last cell.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import threading
from collections.abc import Callable
from html import escape
from typing import Any

from linepatrol.fonts import cjk_font
from linepatrol.report.view import Cell, Report, ReportDefect, facts

EXTRA = "pdf"
FALLBACK_FONT = "STSong-Light"  # ReportLab's Adobe-GB1 CID font: no font file needed
CROP_MAX_HEIGHT_MM = 40.0  # a crop fills its cell's width up to this height
CELL_PAD_MM = 2.2  # ReportLab's default cell padding (6 pt), each side
# Cell backgrounds by grade, as the HTML report's
SEVERITY_BACKGROUND = {"critical": "#ffdddd", "serious": "#ffe9cc"}
# (header, width in mm); the crop takes the rest of the page's width
HEADERS = (("#", 16.0), ("Class 类别", 38.0), ("Severity 等级", 22.0), ("Status", 20.0),
           ("Conf.", 12.0), ("Line / tower / span", 34.0), ("Position", 40.0),
           ("Photo", 38.0))


# ReportLab keeps fonts and their per-document subsets in module-level registries and documents
# its toolkit as not thread-safe; the service renders reports in a thread pool.
_BUILD_LOCK = threading.Lock()


class PdfUnavailableError(RuntimeError):
    """ReportLab, which writes PDF, is not installed: the message says how to get it."""

    def __init__(self) -> None:
        super().__init__(f"PDF reports need ReportLab: install the {EXTRA} extra: "
                         f"pip install 'linepatrol[{EXTRA}]'")


def available() -> bool:
    """Whether PDF reports can be written here (ReportLab is installed)."""
    return importlib.util.find_spec("reportlab") is not None


@functools.cache
def _font() -> str:
    """The registered font name for all text: an embedded system CJK font, else STSong-Light.

    ReportLab embeds only TrueType outlines; a CFF-based face (Noto CJK) is skipped for the
    fallback rather than failing the report."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    face = cjk_font(truetype=True)
    if face is not None:
        try:
            pdfmetrics.registerFont(TTFont("LinePatrolCJK", str(face.path),
                                           subfontIndex=face.index))
            return "LinePatrolCJK"
        except (TTFError, OSError):
            pass
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def _t(value: Cell | object) -> str:
    """A value as cell markup: escaped, "—" for nothing."""
    return "—" if value is None or value == "" else escape(str(value), quote=False)


def _cells(d: ReportDefect) -> list[str]:
    """The defect's CSV values, grouped into the table's text cells (markup)."""
    r = d.row()
    small = '<font size="6.5">{}</font>'.format
    position = (f"{r['lat']:.7f}, {r['lon']:.7f}<br/>alt {_t(r['alt_m'])} m {_t(r['alt_datum'])}"
                f"<br/>± {_t(r['uncertainty_m'])} m · {_t(r['placement'])}" if d.placed
                else f"not placed · {_t(r['placement'])}")
    if r["geo_reason"]:
        position += "<br/>" + small(_t(r["geo_reason"]))
    return [
        _t(r["id"]),
        f"{_t(r['name_zh'])}<br/>{small(_t(r['name_en']))}<br/>"
        + small(f"{_t(r['class'])} · {_t(r['category'])}"),
        f"{_t(r['severity_zh'])}<br/>{small(_t(r['severity']))}",
        f"{_t(r['status'])}<br/>{small(_t(r['assignee']))}",
        f"{float(d.confidence):.2f}",
        f"{_t(r['line'])}<br/>tower {_t(r['tower'])} / span {_t(r['span'])}"
        f"<br/>{small('to line ' + _t(r['distance_to_line_m']) + ' m')}",
        position,
        f"{_t(r['photo'])}<br/>{small('box ' + _t(r['xyxy']))}<br/>"
        + small(f"{_t(r['photos'])} photo(s): {_t(r['photo_files'])}"),
    ]


def _crop(data: bytes | None, width: float) -> Any:
    """The crop as a flowable fitted into ``width`` points and :data:`CROP_MAX_HEIGHT_MM`, or
    "" without one."""
    if data is None:
        return ""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    try:
        w, h = ImageReader(io.BytesIO(data)).getSize()
    except Exception:  # ReportLab raises plain exceptions for an unreadable image
        return ""
    scale = min(width / w, CROP_MAX_HEIGHT_MM * mm / h)
    return Image(io.BytesIO(data), width=w * scale, height=h * scale)


def _footer(title: str, font: str) -> Callable[[Any, Any], None]:
    def draw(canvas: Any, doc: Any) -> None:
        from reportlab.lib.units import mm

        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawString(doc.leftMargin, 8 * mm, title)
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 8 * mm,
                               f"page {doc.page}")
        canvas.restoreState()
    return draw


def to_pdf(report: Report) -> bytes:
    """The PDF file's bytes; :class:`PdfUnavailableError` without ReportLab.

    Written "invariant" (no creation time, fixed ids), so the same report gives the same bytes.
    """
    if not available():
        raise PdfUnavailableError
    with _BUILD_LOCK:
        return _build(report)


def _build(report: Report) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10)
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=19, spaceAfter=4)
    line = ParagraphStyle("facts", parent=body, fontSize=9, leading=12, spaceAfter=3)
    h = report.header
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
        topMargin=10 * mm, bottomMargin=14 * mm, title=h.title, author="LinePatrol",
        subject="Defect report", creator="LinePatrol", invariant=True, lang="zh",
    )
    story: list[Any] = [Paragraph(_t(h.title), title),
                        Paragraph(" · ".join(_t(f) for f in facts(report)), line)]
    if h.notes:
        story.append(Paragraph(_t(h.notes), line))
    story.append(Spacer(1, 2 * mm))

    widths = [w * mm for _, w in HEADERS]
    widths.append(doc.width - sum(widths))
    rows: list[list[Any]] = [[Paragraph(_t(name), body) for name, _ in HEADERS]
                             + [Paragraph("Evidence 证据", body)]]
    style: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
    ]
    for i, d in enumerate(report.defects, start=1):
        crop = _crop(report.crops.get(d.id), widths[-1] - 2 * CELL_PAD_MM * mm)
        rows.append([Paragraph(c, body) for c in _cells(d)] + [crop])
        if d.severity in SEVERITY_BACKGROUND:
            style.append(("BACKGROUND", (0, i), (-2, i),
                          colors.HexColor(SEVERITY_BACKGROUND[d.severity])))
    table = LongTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(style))
    story.append(table)
    footer = _footer(h.title, font)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
