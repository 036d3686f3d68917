"""Defect reports for the CLI (``linepatrol report``) and the service, from one view.

Both sides turn their defects into :class:`~linepatrol.report.view.ReportDefect` records and
call :func:`render`; the formats are written only here, so a flight's GeoJSON, KML, CSV and
HTML carry the same features, columns and values whichever side wrote them. Files are named
``{stem}.{extension}`` by :func:`file_name` on both sides. PDF needs the ``pdf`` extra
(:mod:`linepatrol.report.pdf`); every other format needs nothing beyond the core.
"""

from __future__ import annotations

from enum import StrEnum

from linepatrol.report.geojson import to_geojson, to_geojson_text
from linepatrol.report.kml import to_kml
from linepatrol.report.page import to_html
from linepatrol.report.pdf import PdfUnavailableError, to_pdf
from linepatrol.report.table import (
    CHANGES_COLUMNS,
    COVERAGE_COLUMNS,
    changes_to_csv_bytes,
    coverage_to_csv,
    coverage_to_csv_bytes,
    neutralise,
    to_csv,
    to_csv_bytes,
)
from linepatrol.report.view import (
    COLUMNS,
    Report,
    ReportDefect,
    ReportEvidence,
    ReportHeader,
    evidence_from_geo,
    from_geo,
)


class Format(StrEnum):
    """The file formats both the CLI and the service write."""

    GEOJSON = "geojson"
    KML = "kml"
    KMZ = "kmz"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    Format.GEOJSON: "application/geo+json",
    Format.KML: "application/vnd.google-earth.kml+xml",
    Format.KMZ: "application/vnd.google-earth.kmz",
    Format.CSV: "text/csv; charset=utf-8",
    Format.HTML: "text/html; charset=utf-8",
    Format.PDF: "application/pdf",
}


def file_name(stem: str, fmt: str) -> str:
    """The one naming rule: ``report.csv`` from the CLI, ``flight-7.csv`` from the service
    (``fmt`` is a :class:`Format` or the service's JSON)."""
    return f"{stem}.{fmt}"


def render(fmt: Format, report: Report) -> bytes:
    """The report in one format, as the bytes of its file; PDF raises
    :class:`PdfUnavailableError` where ReportLab is not installed."""
    if fmt is Format.GEOJSON:
        return to_geojson_text(report).encode("utf-8")
    if fmt is Format.KML or fmt is Format.KMZ:
        return to_kml(report, kmz=fmt is Format.KMZ)
    if fmt is Format.CSV:
        return to_csv_bytes(report)
    if fmt is Format.PDF:
        return to_pdf(report)
    return to_html(report).encode("utf-8")


__all__ = [
    "CHANGES_COLUMNS",
    "COLUMNS",
    "COVERAGE_COLUMNS",
    "Format",
    "PdfUnavailableError",
    "Report",
    "ReportDefect",
    "ReportEvidence",
    "ReportHeader",
    "changes_to_csv_bytes",
    "coverage_to_csv",
    "coverage_to_csv_bytes",
    "evidence_from_geo",
    "file_name",
    "from_geo",
    "neutralise",
    "render",
    "to_csv",
    "to_geojson",
    "to_html",
    "to_kml",
    "to_pdf",
]
