"""The one view of a defect that every report format writes, for the CLI and the service alike.

A report is written from :class:`ReportDefect` records only, never from the geotagger's
:class:`linepatrol.geo.locate.Defect` or the service's rows directly: each side converts its
own object into this view once (:func:`from_geo` here, ``linepatrol_service.reports`` there),
so GeoJSON, KML, CSV and HTML show the same columns with the same values wherever they are
written. Values are rounded here, once: 7 decimals of a degree (about 1 cm) for positions, 2 for
altitudes, 1 for distances and pixels, 4 for confidences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from linepatrol import taxonomy
from linepatrol.geo.locate import Defect, Evidence

# The flat columns of a defect, in the order CSV, KML's ExtendedData and GeoJSON's properties
# list them. "status" and "assignee" come from the service's review; a CLI report leaves them
# empty.
COLUMNS: tuple[str, ...] = (
    "id", "class", "name_en", "name_zh", "category", "severity", "severity_zh", "status",
    "assignee", "confidence", "line", "tower", "span", "distance_to_line_m", "placement",
    "lat", "lon", "alt_m", "alt_datum", "uncertainty_m", "geo_reason", "photos", "photo",
    "xyxy", "photo_files",
)
Cell = str | int | float | None


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _r1(value: float) -> float:
    return round(float(value), 1)


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _floats(value: object, n: int) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) != n:
        raise ValueError(f"not {n} numbers: {value!r}")
    return [_number(v) or 0.0 for v in value]


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"not text: {value!r}")
    return value


@dataclass(frozen=True)
class ReportEvidence:
    """One sighting of a defect: which photo, which box, and where that view placed it."""

    photo: str  # the photo's file name (relative to the flight folder)
    class_key: str | None  # what the detector called it in this photo
    xyxy: tuple[float, float, float, float]
    confidence: float
    pixel: tuple[float, float] | None = None  # the point placed, photo pixels
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    placement: str | None = None
    range_m: float | None = None
    uncertainty_m: float | None = None
    note: str | None = None
    clipped: bool = False

    def rounded(self) -> ReportEvidence:
        """The same sighting with its numbers rounded as reports write them."""
        return replace(
            self, xyxy=(_r1(self.xyxy[0]), _r1(self.xyxy[1]), _r1(self.xyxy[2]),
                        _r1(self.xyxy[3])),
            confidence=round(float(self.confidence), 4),
            pixel=None if self.pixel is None else (_r1(self.pixel[0]), _r1(self.pixel[1])),
            lat=_r(self.lat, 7), lon=_r(self.lon, 7), alt=_r(self.alt, 2),
            range_m=_r(self.range_m, 1), uncertainty_m=_r(self.uncertainty_m, 1),
        )

    @classmethod
    def from_json(cls, data: Mapping[str, object], photo: str,
                  class_key: str | None) -> ReportEvidence:
        """A sighting as :meth:`to_json` wrote it (the ``photo`` and ``class`` keys aside: a
        store names them its own way); keys missing from older records read as None.
        ``ValueError`` for a value of the wrong type."""
        box = _floats(data.get("xyxy"), 4)
        pixel = data.get("pixel")
        return cls(
            photo=photo, class_key=class_key, xyxy=(box[0], box[1], box[2], box[3]),
            confidence=_number(data.get("confidence")) or 0.0,
            pixel=None if pixel is None else (_floats(pixel, 2)[0], _floats(pixel, 2)[1]),
            lat=_number(data.get("lat")), lon=_number(data.get("lon")),
            alt=_number(data.get("alt")), placement=_text(data.get("placement")),
            range_m=_number(data.get("range_m")),
            uncertainty_m=_number(data.get("uncertainty_m")), note=_text(data.get("note")),
            clipped=data.get("clipped") is True,
        )

    def to_json(self) -> dict[str, object]:
        r = self.rounded()
        return {
            "photo": r.photo, "class": r.class_key, "xyxy": list(r.xyxy),
            "confidence": r.confidence, "pixel": None if r.pixel is None else list(r.pixel),
            "lat": r.lat, "lon": r.lon, "alt": r.alt, "placement": r.placement,
            "range_m": r.range_m, "uncertainty_m": r.uncertainty_m, "note": r.note,
            "clipped": r.clipped,
        }


@dataclass(frozen=True)
class ReportDefect:
    """One defect as a report shows it; evidence best view first."""

    id: str
    class_key: str
    category: str | None
    severity: str | None
    confidence: float
    lat: float | None
    lon: float | None
    alt: float | None
    alt_datum: str | None
    placement: str | None
    uncertainty_m: float | None
    geo_reason: str | None
    line: str | None
    tower: str | None
    span: str | None
    distance_to_line_m: float | None
    evidence: tuple[ReportEvidence, ...] = ()
    status: str | None = None
    assignee: str | None = None

    @property
    def name_zh(self) -> str:
        info = taxonomy.BY_KEY.get(self.class_key)
        return info.zh if info else self.class_key

    @property
    def name_en(self) -> str:
        info = taxonomy.BY_KEY.get(self.class_key)
        return info.en if info else self.class_key

    @property
    def severity_zh(self) -> str | None:
        return taxonomy.Severity(self.severity).zh if self.severity else None

    @property
    def placed(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def best(self) -> ReportEvidence | None:
        return self.evidence[0] if self.evidence else None

    @property
    def photo_files(self) -> list[str]:
        return list(dict.fromkeys(e.photo for e in self.evidence))

    def row(self) -> dict[str, Cell]:
        """The flat columns (:data:`COLUMNS`), rounded, as every format writes them."""
        best = self.best
        row: dict[str, Cell] = {
            "id": self.id, "class": self.class_key, "name_en": self.name_en,
            "name_zh": self.name_zh, "category": self.category, "severity": self.severity,
            "severity_zh": self.severity_zh, "status": self.status, "assignee": self.assignee,
            "confidence": round(float(self.confidence), 4), "line": self.line,
            "tower": self.tower, "span": self.span,
            "distance_to_line_m": _r(self.distance_to_line_m, 1),
            "placement": self.placement, "lat": _r(self.lat, 7), "lon": _r(self.lon, 7),
            "alt_m": _r(self.alt, 2), "alt_datum": self.alt_datum,
            "uncertainty_m": _r(self.uncertainty_m, 1), "geo_reason": self.geo_reason,
            "photos": len(self.photo_files),
            "photo": best.photo if best else None,
            "xyxy": " ".join(f"{v:.1f}" for v in best.xyxy) if best else None,
            "photo_files": ";".join(self.photo_files),
        }
        return row


@dataclass(frozen=True)
class ReportHeader:
    """What a report says about its flight, above the defects."""

    title: str
    line: str | None = None
    date: str | None = None
    team: str | None = None
    drone: str | None = None
    notes: str | None = None
    photos: int | None = None
    photos_failed: int | None = None


@dataclass(frozen=True)
class Report:
    """A flight's defects and header; ``crops`` maps a defect id to a JPEG of its best view."""

    header: ReportHeader
    defects: tuple[ReportDefect, ...]
    crops: dict[str, bytes] = field(default_factory=dict)


def facts(report: Report) -> list[str]:
    """The line under a report's title, as plain text: the flight's facts and the defect count
    by grade. The HTML and the PDF report both print it, so their counts cannot differ."""
    h = report.header

    def text(value: object) -> str:
        return "—" if value is None or value == "" else str(value)

    grades = Counter(d.severity or "ungraded" for d in report.defects)
    out = [f"line {text(h.line)}", f"date {text(h.date)}", f"team {text(h.team)}",
           f"drone {text(h.drone)}"]
    if h.photos is not None:
        out.append(f"photos {h.photos} ({h.photos_failed or 0} unreadable)")
    out.append(f"defects {len(report.defects)}"
               + (" (" + ", ".join(f"{n} {g}" for g, n in grades.most_common()) + ")"
                  if grades else ""))
    return out


def evidence_from_geo(ev: Evidence, photo: str | None = None) -> ReportEvidence:
    """A geotagger's sighting as a report shows it (``photo`` defaults to its image id)."""
    p = ev.placement
    return ReportEvidence(
        photo=ev.image_id if photo is None else photo, class_key=ev.class_key,
        xyxy=ev.xyxy, confidence=ev.confidence, pixel=ev.pixel,
        lat=p.lat, lon=p.lon, alt=p.alt, placement=p.kind, range_m=p.range_m,
        uncertainty_m=p.uncertainty_m, note=p.reason, clipped=ev.clipped,
    )


def from_geo(d: Defect) -> ReportDefect:
    """The geotagger's defect (the CLI's): photos named by their image ids (relative paths)."""
    return ReportDefect(
        id=d.defect_id, class_key=d.class_key, category=d.category, severity=d.severity,
        confidence=d.confidence, lat=d.lat, lon=d.lon, alt=d.alt, alt_datum=d.alt_datum,
        placement=d.placement, uncertainty_m=d.uncertainty_m, geo_reason=d.geo_reason,
        line=d.line, tower=d.tower, span=d.span, distance_to_line_m=d.distance_to_line_m,
        evidence=tuple(evidence_from_geo(e) for e in d.evidence),
    )


def from_geo_all(defects: Sequence[Defect]) -> tuple[ReportDefect, ...]:
    return tuple(from_geo(d) for d in defects)
