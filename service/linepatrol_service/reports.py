"""A flight's report in JSON, GeoJSON, KML, CSV or HTML, from the defects as reviewed now.

Reports are made from the database rows rather than from the geotagger's output, so a
reviewer's corrections (class, severity, status) show in the next download.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import simplekml
from jinja2 import Environment, PackageLoader, select_autoescape

from linepatrol import taxonomy
from linepatrol_service.models import Defect

FORMATS = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
CSV_COLUMNS = (
    "id", "class", "class_zh", "category", "severity", "status", "confidence", "lat", "lon",
    "alt", "alt_datum", "placement", "uncertainty_m", "line", "tower", "span",
    "distance_to_line_m", "geo_reason", "image_id", "assignee",
)


def defect_properties(d: Defect) -> dict[str, Any]:
    info = taxonomy.BY_KEY.get(d.class_key)
    return {
        "id": d.id,
        "flight_id": d.flight_id,
        "class": d.class_key,
        "class_zh": info.zh if info else None,
        "category": d.category,
        "severity": d.severity,
        "severity_zh": taxonomy.Severity(d.severity).zh if d.severity else None,
        "status": d.status,
        "confidence": d.confidence,
        "lat": d.lat,
        "lon": d.lon,
        "alt": d.alt,
        "alt_datum": d.alt_datum,
        "placement": d.placement,
        "uncertainty_m": d.uncertainty_m,
        "line": d.line,
        "tower": d.tower,
        "span": d.span,
        "distance_to_line_m": d.distance_to_line_m,
        "geo_reason": d.geo_reason,
        "image_id": d.image_id,
        "xyxy": d.xyxy,
        "assignee": d.assignee,
        "evidence": d.evidence,
    }


def to_json(flight: dict[str, Any], defects: Sequence[Defect]) -> str:
    return json.dumps(
        {"flight": flight, "defects": [defect_properties(d) for d in defects]},
        ensure_ascii=False, default=str, indent=1,
    )


def to_geojson(flight: dict[str, Any], defects: Sequence[Defect]) -> str:
    """RFC 7946: positions are [lon, lat(, alt)]; defects without a position keep a null
    geometry (allowed by the RFC) so the report still lists them."""
    features = []
    for d in defects:
        geometry = None
        if d.lat is not None and d.lon is not None:
            coords = [d.lon, d.lat] + ([d.alt] if d.alt is not None else [])
            geometry = {"type": "Point", "coordinates": coords}
        props = defect_properties(d)
        props.pop("lat"), props.pop("lon"), props.pop("alt")
        features.append({"type": "Feature", "id": d.id, "geometry": geometry,
                         "properties": props})
    return json.dumps(
        {"type": "FeatureCollection", "features": features,
         "properties": {"flight": flight}},
        ensure_ascii=False, default=str,
    )


def to_kml(flight: dict[str, Any], defects: Sequence[Defect]) -> str:
    kml = simplekml.Kml(name=f"LinePatrol flight {flight['id']} — {flight['line']}")
    for d in defects:
        if d.lat is None or d.lon is None:
            continue
        p = defect_properties(d)
        point = kml.newpoint(
            name=f"#{d.id} {p['class_zh'] or d.class_key}",
            coords=[(d.lon, d.lat, d.alt or 0.0)],
        )
        point.description = (
            f"{d.class_key} · {d.severity or '-'} · {d.status} · conf {d.confidence:.2f}"
            + (f" · tower {d.tower}" if d.tower else "")
        )
        for key in ("class", "severity", "status", "tower", "span", "confidence"):
            point.extendeddata.newdata(key, "" if p[key] is None else str(p[key]))
    return str(kml.kml())


def to_csv(flight: dict[str, Any], defects: Sequence[Defect]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for d in defects:
        writer.writerow({k: ("" if v is None else v) for k, v in defect_properties(d).items()})
    return buf.getvalue()


def to_html(flight: dict[str, Any], defects: Sequence[Defect], base: str) -> str:
    env = Environment(
        loader=PackageLoader("linepatrol_service", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("report.html").render(
        flight=flight, defects=[defect_properties(d) for d in defects], base=base
    )


def render(fmt: str, flight: dict[str, Any], defects: Sequence[Defect], base: str) -> str:
    if fmt == "json":
        return to_json(flight, defects)
    if fmt == "geojson":
        return to_geojson(flight, defects)
    if fmt == "kml":
        return to_kml(flight, defects)
    if fmt == "csv":
        return to_csv(flight, defects)
    return to_html(flight, defects, base)
