"""The tower ledger (杆塔台账): which towers a line has, where they stand, how tall they are.

CSV (UTF-8, an Excel BOM is fine) with a header row, or GeoJSON (a FeatureCollection of Points
whose properties carry ``line`` and ``tower``). Columns / properties:

====================  =========================================  =========
name                  also accepted                              required
====================  =========================================  =========
``line``              line_name, 线路, 线路名称                    yes
``tower``             tower_no, tower_number, number, 杆塔号       yes
``lat``               latitude, 纬度                              yes (CSV)
``lon``               lng, longitude, 经度                        yes (CSV)
``ground_elev``       elevation, ground_alt, 地面高程              no
``height``            tower_height, 呼高, 塔高                     no
====================  =========================================  =========

Towers of one line are taken in the order the file lists them; consecutive towers bound a span
(档). Every malformed row is a :class:`LedgerError` that names the row and what is wrong with it.
Elevations are in the same vertical datum as the photos' altitudes (see
:mod:`linepatrol.geo.pose`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_LEDGER_BYTES = 64 * 1024 * 1024

_ALIASES = {
    "line": ("line", "line_name", "线路", "线路名称"),
    "tower": ("tower", "tower_no", "tower_number", "number", "杆塔号"),
    "lat": ("lat", "latitude", "纬度"),
    "lon": ("lon", "lng", "longitude", "经度"),
    "ground_elev": ("ground_elev", "elevation", "ground_alt", "地面高程"),
    "height": ("height", "tower_height", "呼高", "塔高"),
}


class LedgerError(ValueError):
    """A ledger that cannot be used; the message names the file row (or feature) at fault."""


@dataclass(frozen=True)
class Tower:
    line: str
    tower: str
    lat: float
    lon: float
    ground_elev: float | None = None
    height: float | None = None


@dataclass(frozen=True)
class Span:
    """The stretch of line between two consecutive towers; named "12-13" after them."""

    line: str
    a: Tower
    b: Tower

    @property
    def name(self) -> str:
        return f"{self.a.tower}-{self.b.tower}"


@dataclass(frozen=True)
class Ledger:
    towers: tuple[Tower, ...]

    @property
    def spans(self) -> tuple[Span, ...]:
        spans: list[Span] = []
        by_line: dict[str, list[Tower]] = {}
        for t in self.towers:
            by_line.setdefault(t.line, []).append(t)
        for line, towers in by_line.items():
            spans.extend(Span(line, a, b) for a, b in itertools.pairwise(towers))
        return tuple(spans)

    def neighbours(self, tower: Tower) -> tuple[Tower | None, Tower | None]:
        """The towers before and after ``tower`` on its line (None at the line's ends)."""
        line = [t for t in self.towers if t.line == tower.line]
        i = line.index(tower)
        return (line[i - 1] if i > 0 else None), (line[i + 1] if i + 1 < len(line) else None)

    @classmethod
    def load(cls, path: str | Path) -> Ledger:
        """Read a ``.csv`` or ``.geojson``/``.json`` ledger file."""
        p = Path(path)
        suffix = p.suffix.lower()
        fmt = "geojson" if suffix in (".geojson", ".json") else "csv" if suffix == ".csv" else None
        if fmt is None:
            got = suffix or "no suffix"
            raise LedgerError(f"{p}: ledger must be .csv or .geojson, not {got!r}")
        try:
            if p.stat().st_size > MAX_LEDGER_BYTES:
                raise LedgerError(f"{p}: larger than {MAX_LEDGER_BYTES} bytes; not a ledger")
            raw = p.read_bytes()
        except OSError as exc:
            raise LedgerError(f"{p}: cannot read: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise LedgerError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        try:
            return cls.parse(text, fmt)
        except LedgerError as exc:
            raise LedgerError(f"{p}: {exc}") from None

    @classmethod
    def parse(cls, text: str, format: str) -> Ledger:
        """A ledger from text in ``format`` "csv" or "geojson"."""
        if format == "csv":
            rows = _csv_rows(text)
        elif format == "geojson":
            rows = _geojson_rows(text)
        else:
            raise LedgerError(f"unknown ledger format {format!r} (csv or geojson)")
        towers: list[Tower] = []
        seen: dict[tuple[str, str], str] = {}
        for where, row in rows:
            tower = _tower(where, row)
            key = (tower.line, tower.tower)
            if key in seen:
                raise LedgerError(
                    f"{where}: tower {tower.tower!r} of line {tower.line!r} is listed twice "
                    f"(first at {seen[key]})"
                )
            seen[key] = where
            towers.append(tower)
        if not towers:
            raise LedgerError("the ledger lists no towers")
        return cls(tuple(towers))


def _csv_rows(text: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise LedgerError("empty ledger (no header row)") from None
    except csv.Error as exc:
        raise LedgerError(f"row 1: not CSV: {exc}") from None
    columns = _columns(header)
    rows: list[tuple[str, Mapping[str, Any]]] = []
    try:
        for cells in reader:
            where = f"row {reader.line_num}"
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                raise LedgerError(f"{where}: {len(cells)} cells but the header names {len(header)}")
            rows.append((where, {field: cells[i] if i < len(cells) else ""
                                 for field, i in columns.items()}))
    except csv.Error as exc:
        raise LedgerError(f"row {reader.line_num}: not CSV: {exc}") from None
    return rows


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    columns: dict[str, int] = {}
    for field, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in names:
                columns[field] = names.index(alias)
                break
    missing = [f for f in ("line", "tower", "lat", "lon") if f not in columns]
    if missing:
        raise LedgerError(
            f"row 1: header lacks column(s) {', '.join(missing)} (found: {', '.join(header)})"
        )
    return columns


def _geojson_rows(text: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LedgerError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise LedgerError("GeoJSON ledger must be a FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise LedgerError("GeoJSON ledger has no features list")
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for i, feat in enumerate(features):
        where = f"feature {i}"
        if not isinstance(feat, dict):
            raise LedgerError(f"{where}: not an object")
        geom = feat.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            raise LedgerError(f"{where}: geometry must be a Point")
        coords = geom.get("coordinates")
        if not isinstance(coords, list) or len(coords) not in (2, 3):
            raise LedgerError(f"{where}: Point coordinates must be [lon, lat] or [lon, lat, elev]")
        props = feat.get("properties")
        if not isinstance(props, dict):
            raise LedgerError(f"{where}: no properties (line and tower are needed)")
        row: dict[str, Any] = {}
        lowered = {str(k).strip().lower(): v for k, v in props.items()}
        for field, aliases in _ALIASES.items():
            for alias in aliases:
                if alias in lowered:
                    row[field] = lowered[alias]
                    break
        row["lon"], row["lat"] = coords[0], coords[1]
        if len(coords) == 3 and row.get("ground_elev") in (None, ""):
            row["ground_elev"] = coords[2]
        rows.append((where, row))
    return rows


def _tower(where: str, row: Mapping[str, Any]) -> Tower:
    line = _text(where, row, "line")
    tower = _text(where, row, "tower")
    lat = _number(where, row, "lat", -90.0, 90.0, required=True)
    lon = _number(where, row, "lon", -180.0, 180.0, required=True)
    assert lat is not None and lon is not None
    elev = _number(where, row, "ground_elev", -1000.0, 9000.0, required=False)
    height = _number(where, row, "height", 0.5, 500.0, required=False)
    return Tower(line, tower, lat, lon, elev, height)


def _text(where: str, row: Mapping[str, Any], field: str) -> str:
    value = row.get(field)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None or isinstance(value, dict | list | bool) else str(value).strip()
    if not text:
        raise LedgerError(f"{where}: {field} is empty")
    if len(text) > 200:
        raise LedgerError(f"{where}: {field} is longer than 200 characters")
    return text


def _number(
    where: str, row: Mapping[str, Any], field: str, lo: float, hi: float, required: bool
) -> float | None:
    value = row.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise LedgerError(f"{where}: {field} is empty")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LedgerError(f"{where}: {field} must be a number, not {type(value).__name__}")
    try:
        num = float(value)
    except ValueError:
        raise LedgerError(f"{where}: {field} {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(num) or not lo <= num <= hi:
        raise LedgerError(f"{where}: {field} {num} is outside [{lo:g}, {hi:g}]")
    return num
