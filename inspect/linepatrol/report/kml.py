"""KML and KMZ (simplekml): one placemark per placed defect, styled and foldered by severity,
with every report column as ExtendedData so QGIS and Google Earth show the attributes.

A placemark needs a position, so a defect that could not be placed is not in the KML; GeoJSON,
CSV and HTML list it with its ``geo_reason``.
"""

from __future__ import annotations

import io
import zipfile
from html import escape

import simplekml

from linepatrol.report.view import Report, ReportDefect

# KML colours are aabbggrr.
SEVERITY_COLOURS = {"critical": "ff0000ff", "serious": "ff0080ff", "general": "ff00ffff"}
UNGRADED_COLOUR = "ffaaaaaa"
ICON = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"


def _styles() -> dict[str, simplekml.Style]:
    styles = {}
    for key, colour in (*SEVERITY_COLOURS.items(), ("ungraded", UNGRADED_COLOUR)):
        style = simplekml.Style()
        style.iconstyle.color = colour
        style.iconstyle.scale = 1.2
        style.iconstyle.icon.href = ICON
        style.labelstyle.scale = 0.8
        styles[key] = style
    return styles


def to_kml(report: Report, kmz: bool = False) -> bytes:
    """KML (or KMZ: the KML zipped as ``doc.kml``); Google Earth toggles the severity folders."""
    kml = simplekml.Kml(name=report.header.title)
    styles = _styles()
    folders: dict[str, simplekml.Folder] = {}
    for d in report.defects:
        if d.lat is None or d.lon is None:
            continue
        grade = d.severity or "ungraded"
        if grade not in folders:
            label = f"{d.severity_zh} {grade}" if d.severity else "ungraded"
            folders[grade] = kml.newfolder(name=label)
        row = d.row()
        point = folders[grade].newpoint(name=_name(d), coords=[(row["lon"], row["lat"])])
        point.description = _description(d)
        point.style = styles[grade]
        for key, value in row.items():
            point.extendeddata.newdata(key, "" if value is None else str(value))
    text: bytes = str(kml.kml()).encode("utf-8")
    if not kmz:
        return text
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", text)
    return buf.getvalue()


def _name(d: ReportDefect) -> str:
    where = f"#{d.tower}" if d.tower else f"span {d.span}" if d.span else ""
    return f"{d.id} {d.name_zh} {where}".strip()


def _description(d: ReportDefect) -> str:
    rows = [
        ("class", f"{d.name_zh} / {d.name_en} ({d.class_key})"),
        ("severity", f"{d.severity_zh or '-'} ({d.severity or '-'})"),
        ("confidence", f"{d.confidence:.2f}"),
        ("line / tower / span", f"{d.line or '-'} / {d.tower or '-'} / {d.span or '-'}"),
    ]
    if d.status:
        rows.append(("status", d.status))
    if d.distance_to_line_m is not None:
        rows.append(("distance to line", f"{d.distance_to_line_m:.1f} m"))
    if d.uncertainty_m is not None:
        rows.append(("uncertainty", f"±{d.uncertainty_m:.1f} m"))
    rows.append(("photos", "; ".join(f"{e.photo} ({e.confidence:.2f})" for e in d.evidence)))
    return "<br/>".join(f"<b>{escape(k)}</b>: {escape(v)}" for k, v in rows)
