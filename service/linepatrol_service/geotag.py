"""The geotag step: a flight's detected photos -> the flight's defects, merged across photos.

This is the one function of the service that calls :func:`linepatrol.geo.locate_flight`. It is
pure with respect to the database (it returns rows to insert), so the caller can run it and
then swap the flight's defects in one transaction — re-running it after a crash gives the same
defects, never a second copy.

``linepatrol.geo`` is imported lazily: when it is not importable the step degrades to one
defect per detection, without a position, and says why in ``geo_reason``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from linepatrol import taxonomy
from linepatrol.detections import Detections

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DetectedPhoto:
    image_id: int
    path: Path
    width: int
    height: int
    detections: list[dict[str, Any]]  # Detections.records() as stored
    pose: dict[str, Any] | None = None  # CameraPose.to_json() read at upload, if any


@dataclasses.dataclass(frozen=True)
class LedgerText:
    text: str
    format: str


def _geo() -> Any | None:
    try:
        import linepatrol.geo as geo

        for name in ("read_pose", "locate_flight", "Observation", "GeoConfig", "Ledger"):
            getattr(geo, name)
    except (ImportError, AttributeError) as exc:
        log.warning("geotagging unavailable: %s", exc)
        return None
    return geo


def geo_available() -> bool:
    return _geo() is not None


def read_pose_summary(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The photo's camera pose as JSON-able fields, or the reason there is none."""
    geo = _geo()
    if geo is None:
        return None, "geotagging unavailable"
    try:
        pose = geo.read_pose(path)
    except Exception as exc:  # PoseError and anything else a foreign file provokes
        return None, str(exc) or type(exc).__name__
    to_json = getattr(pose, "to_json", None)
    return _jsonable(to_json() if callable(to_json) else pose), None


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float | int | str | bool) or obj is None:
        return obj
    return str(obj)


def to_detections(records: Sequence[dict[str, Any]]) -> Detections:
    names = sorted({r["class"] for r in records})
    if not records:
        return Detections.empty(names)
    return Detections(
        np.array([r["xyxy"] for r in records], dtype=np.float32),
        np.array([r["confidence"] for r in records], dtype=np.float32),
        np.array([names.index(r["class"]) for r in records], dtype=np.int64),
        tuple(names),
    )


def _is_defect_class(key: str) -> bool:
    info = taxonomy.BY_KEY.get(key)
    return info is None or info.category is not taxonomy.Category.COMPONENT


def locate(
    photos: Sequence[DetectedPhoto], line: str, ledger: LedgerText | None
) -> list[dict[str, Any]]:
    """Defect rows (dicts of Defect columns) for one flight, in a deterministic order."""
    photos = sorted(photos, key=lambda p: p.image_id)
    geo = _geo()
    if geo is None:
        return _unlocated(photos, line, "geotagging unavailable (linepatrol.geo not installed)")
    observations = []
    for p in photos:
        pose = _pose_from_json(geo, p.pose) if p.pose else None
        pose_error = None
        if pose is None:  # not read at upload (or stored by another version): read it now
            try:
                pose = geo.read_pose(p.path)
            except Exception as exc:
                pose_error = str(exc) or type(exc).__name__
        observations.append(
            geo.Observation(
                image_id=str(p.image_id),
                pose=pose,
                pose_error=pose_error,
                width=p.width,
                height=p.height,
                detections=to_detections(p.detections),
            )
        )
    parsed_ledger = geo.Ledger.parse(ledger.text, ledger.format) if ledger else None
    defects = geo.locate_flight(observations, parsed_ledger, geo.GeoConfig())
    return [_row_from_geo(d, line) for d in defects]


def _pose_from_json(geo: Any, data: dict[str, Any]) -> Any | None:
    """The CameraPose stored at upload, so the flight's photos are not read again."""
    names = {f.name for f in dataclasses.fields(geo.CameraPose)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if isinstance(kwargs.get("distortion"), list):
        kwargs["distortion"] = tuple(kwargs["distortion"])
    try:
        return geo.CameraPose(**kwargs)
    except (TypeError, ValueError):
        return None


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if hasattr(obj, name):
            return getattr(obj, name)
    return default


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _row_from_geo(d: Any, line: str) -> dict[str, Any]:
    key = str(_enum_value(_get(d, "class_key", "key", "cls")))
    info = taxonomy.BY_KEY.get(key)
    evidence = []
    for ev in _get(d, "evidence", default=()) or ():
        image_id, xyxy, conf = (
            (ev.image_id, ev.xyxy, ev.confidence) if hasattr(ev, "image_id") else tuple(ev)
        )
        evidence.append(
            {
                "image_id": int(image_id),
                "xyxy": [round(float(v), 1) for v in xyxy],
                "confidence": round(float(conf), 4),
                # what the detector called it in this photo (a machine's views vote on its class)
                "detected_class": str(getattr(ev, "class_key", None) or key),
            }
        )
    best = evidence[0] if evidence else None
    severity = _enum_value(_get(d, "severity"))
    category = _enum_value(_get(d, "category"))
    return {
        "class_key": key,
        "detected_class": key,
        "category": str(category or (info.category.value if info else "line_defect")),
        "severity": severity if severity is not None else (
            info.severity.value if info and info.severity else None
        ),
        "confidence": round(float(_get(d, "confidence", default=0.0)), 4),
        "lat": _opt_float(_get(d, "lat")),
        "lon": _opt_float(_get(d, "lon")),
        "alt": _opt_float(_get(d, "alt")),
        "alt_datum": _opt_str(_get(d, "alt_datum")),
        "placement": _opt_str(_get(d, "placement")),
        "uncertainty_m": _opt_float(_get(d, "uncertainty_m")),
        "geo_reason": _get(d, "geo_reason"),
        "line": _get(d, "line") or line,
        "tower": _opt_str(_get(d, "tower")),
        "span": _opt_str(_get(d, "span")),
        "distance_to_line_m": _opt_float(_get(d, "distance_to_line_m")),
        "image_id": best["image_id"] if best else None,
        "xyxy": best["xyxy"] if best else None,
        "evidence": evidence,
    }


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _opt_str(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, tuple | list):
        return "-".join(str(x) for x in v)
    return str(v)


def _unlocated(photos: Sequence[DetectedPhoto], line: str, reason: str) -> list[dict[str, Any]]:
    rows = []
    for p in photos:
        for r in sorted(p.detections, key=lambda r: -r["confidence"]):
            key = r["class"]
            if not _is_defect_class(key):
                continue
            info = taxonomy.BY_KEY.get(key)
            ev = {"image_id": p.image_id, "xyxy": r["xyxy"], "confidence": r["confidence"],
                  "detected_class": key}
            rows.append(
                {
                    "class_key": key,
                    "detected_class": key,
                    "category": info.category.value if info else "line_defect",
                    "severity": info.severity.value if info and info.severity else None,
                    "confidence": r["confidence"],
                    "lat": None,
                    "lon": None,
                    "alt": None,
                    "alt_datum": None,
                    "placement": "none",
                    "uncertainty_m": None,
                    "geo_reason": reason,
                    "line": line,
                    "tower": None,
                    "span": None,
                    "distance_to_line_m": None,
                    "image_id": p.image_id,
                    "xyxy": r["xyxy"],
                    "evidence": [ev],
                }
            )
    return rows
