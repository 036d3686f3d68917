"""GeoJSON (RFC 7946): one Feature per defect, placed or not.

Positions are [lon, lat] without a third value: RFC 7946 defines altitude as height above the
WGS84 ellipsoid, while LinePatrol's altitudes are in the photos' datum (often EGM96), so the
altitude goes into the ``alt_m`` / ``alt_datum`` properties instead. A defect that could not be
placed is a Feature with ``"geometry": null`` (allowed by RFC 7946 §3.2) and keeps its evidence
and ``geo_reason``.
"""

from __future__ import annotations

import json

from linepatrol.report.view import Report, ReportDefect
from linepatrol.tracking import Finding, Place


def feature(d: ReportDefect) -> dict[str, object]:
    row = d.row()
    geometry = None
    if d.placed:
        geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
    properties: dict[str, object] = {**row, "evidence": [e.to_json() for e in d.evidence]}
    return {"type": "Feature", "id": d.id, "geometry": geometry, "properties": properties}


def to_geojson(report: Report) -> dict[str, object]:
    return {"type": "FeatureCollection", "name": report.header.title,
            "features": [feature(d) for d in report.defects]}


def to_geojson_text(report: Report) -> str:
    return json.dumps(to_geojson(report), ensure_ascii=False, indent=1) + "\n"


def findings_of(data: object) -> list[tuple[str, Finding]]:
    """The defects of a report.geojson that :func:`to_geojson` wrote, as the line-over-time
    matching takes them (id, class, place); ValueError for a file that is not one."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    out: list[tuple[str, Finding]] = []
    for feat in data.get("features") or []:
        p = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(p, dict) or not isinstance(p.get("class"), str):
            raise ValueError("a feature without the report's properties (class, placement...)")
        place = Place(p.get("line"), p.get("placement"), p.get("tower"), p.get("span"),
                      _number(p.get("lat")), _number(p.get("lon")),
                      _number(p.get("uncertainty_m")))
        out.append((str(p.get("id", len(out) + 1)),
                    Finding(p["class"], str(p.get("category") or ""), place)))
    return out


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
