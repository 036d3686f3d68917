"""Defect reports as GeoJSON (RFC 7946), KML/KMZ (simplekml) and CSV.

GeoJSON positions are [lon, lat] without a third value: RFC 7946 defines altitude as height
above the WGS84 ellipsoid, while LinePatrol's altitudes are in the photos' datum (often EGM96),
so the altitude goes into the ``alt_m`` / ``alt_datum`` properties instead. Defects that could
not be placed are Features with ``"geometry": null`` (allowed by RFC 7946 §3.2) and keep their
evidence and ``geo_reason``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from html import escape
from typing import Any

from linepatrol.geo.locate import Defect

# KML colours are aabbggrr.
SEVERITY_COLOURS = {"critical": "ff0000ff", "serious": "ff0080ff", "general": "ff00ffff"}
UNGRADED_COLOUR = "ffaaaaaa"
ICON = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"

CSV_COLUMNS = (
    "id", "class", "name_zh", "name_en", "category", "severity", "severity_zh", "confidence",
    "line", "tower", "span", "distance_to_line_m", "placement", "lat", "lon", "alt_m",
    "alt_datum", "uncertainty_m", "geo_reason", "photos", "best_image", "best_xyxy", "images",
)


def to_geojson(defects: Sequence[Defect]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection, one Point Feature per defect (null geometry if unplaced)."""
    features = []
    for d in defects:
        geometry = None
        if d.lat is not None and d.lon is not None:
            geometry = {"type": "Point", "coordinates": [round(d.lon, 8), round(d.lat, 8)]}
        features.append({
            "type": "Feature", "id": d.defect_id, "geometry": geometry,
            "properties": d.properties(),
        })
    return {"type": "FeatureCollection", "features": features}


def to_geojson_text(defects: Sequence[Defect]) -> str:
    return json.dumps(to_geojson(defects), ensure_ascii=False, indent=1) + "\n"


def to_kml(defects: Sequence[Defect], kmz: bool = False, name: str = "LinePatrol defects") -> bytes:
    """KML (or KMZ: the KML zipped as ``doc.kml``) with one placemark per placed defect.

    Placemarks are styled by severity (red critical, orange serious, yellow general) and grouped
    in one folder per severity so Google Earth can toggle them.
    """
    import simplekml

    kml = simplekml.Kml(name=name)
    styles: dict[str, Any] = {}
    for key, colour in (*SEVERITY_COLOURS.items(), ("ungraded", UNGRADED_COLOUR)):
        style = simplekml.Style()
        style.iconstyle.color = colour
        style.iconstyle.scale = 1.2
        style.iconstyle.icon.href = ICON
        style.labelstyle.scale = 0.8
        styles[key] = style
    folders: dict[str, Any] = {}
    for d in defects:
        if d.lat is None or d.lon is None:
            continue
        grade = d.severity or "ungraded"
        if grade not in folders:
            label = f"{d.severity_zh} {grade}" if d.severity else "ungraded"
            folders[grade] = kml.newfolder(name=label)
        where = f"#{d.tower}" if d.tower else f"span {d.span}" if d.span else ""
        point = folders[grade].newpoint(
            name=f"{d.defect_id} {d.name_zh} {where}".strip(),
            coords=[(d.lon, d.lat)],
        )
        point.description = _kml_description(d)
        point.style = styles[grade]
    text: bytes = str(kml.kml()).encode("utf-8")
    if not kmz:
        return text
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", text)
    return buf.getvalue()


def _kml_description(d: Defect) -> str:
    rows = [
        ("class", f"{d.name_zh} / {d.name_en} ({d.class_key})"),
        ("severity", f"{d.severity_zh or '-'} ({d.severity or '-'})"),
        ("confidence", f"{d.confidence:.2f}"),
        ("line / tower / span", f"{d.line or '-'} / {d.tower or '-'} / {d.span or '-'}"),
    ]
    if d.distance_to_line_m is not None:
        rows.append(("distance to line", f"{d.distance_to_line_m:.1f} m"))
    if d.uncertainty_m is not None:
        rows.append(("uncertainty", f"±{d.uncertainty_m:.1f} m"))
    evidence = "; ".join(f"{e.image_id} ({e.confidence:.2f})" for e in d.evidence)
    rows.append(("photos", evidence))
    return "<br/>".join(f"<b>{escape(k)}</b>: {escape(v)}" for k, v in rows)


def to_csv(defects: Sequence[Defect]) -> str:
    """One row per defect; the best view's photo and box, and all photos, as columns."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for d in defects:
        row = d.properties()
        best = d.evidence[0] if d.evidence else None
        row["best_image"] = best.image_id if best else ""
        row["best_xyxy"] = " ".join(f"{v:.1f}" for v in best.xyxy) if best else ""
        row["images"] = ";".join(dict.fromkeys(e.image_id for e in d.evidence))
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return buf.getvalue()
