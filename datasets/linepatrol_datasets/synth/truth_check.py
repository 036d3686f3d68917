"""How far a flight report's findings lie from the truth of a synthetic flight.

Two uses:

* :func:`compare` scores any list of placed findings (from ``report.geojson`` written by
  ``linepatrol report``, or from :func:`oracle_findings`) against ``truth.json``, two ways:

  - *finding-centric* (the top-level keys): each finding is matched to the nearest true
    object of its class, however far, and the horizontal distances are summarised per class
    and overall. ``median_m`` therefore mixes precision into placement: one false detection
    150 m from any true object of its class weighs like a 150 m misplacement.
  - *truth-centric* (``matched``): each true defect or hazard (components are not scored) is
    paired with at most one finding of its class and each finding with at most one true
    object, greedily by increasing horizontal distance, only within a gate (default the
    report's own merge distance, ``GeoConfig.merge_distance_m``) — the way detection
    benchmarks separate localisation from precision/recall. ``matched.median_m`` is the
    placement error of the objects that were found; ``recall`` and ``false_findings`` beside
    it say how many were found and how many findings matched nothing. ``wrong_class_nearby``
    counts missed objects with a left-over finding of another class inside the gate (found,
    but named wrongly: a classification failure rather than a detection failure). Issue #8's
    "within 2 m (median) of their true positions" is ``matched.median_m``.

  Findings without a position (``unplaced``) and component findings take part in neither.
* :func:`oracle_findings` runs the core's geotagging (``linepatrol.geo.locate_flight``) on the
  flight's own *labels* instead of detector output. That measures the geometry chain (pose in
  the JPEG, rays, ledger towers and spans, ground) with the detector taken out, so a
  geotagging regression shows up even without a model trained on these classes.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from linepatrol.taxonomy import CLASSES

if TYPE_CHECKING:
    from linepatrol.detections import Detections

COMPONENTS = ("tower", "insulator", "damper")


def load_report(path: Path) -> list[dict[str, Any]]:
    """Findings of a ``report.geojson`` as flat dicts (class, lat, lon, ...)."""
    data = json.loads(path.read_text())
    return [dict(f.get("properties") or {}) for f in data.get("features", [])]


def label_detections(label_file: Path, width: int, height: int) -> Detections:
    """A YOLO label file's boxes as a detector's output (every score 1): what a perfect
    detector finds in the photo. Class ids index the taxonomy, as the flight's data.yaml."""
    from linepatrol.detections import Detections

    names = tuple(c.key for c in CLASSES)
    rows = [line.split() for line in label_file.read_text().splitlines()]
    xyxy = np.array([[(float(cx) - float(bw) / 2) * width, (float(cy) - float(bh) / 2) * height,
                      (float(cx) + float(bw) / 2) * width, (float(cy) + float(bh) / 2) * height]
                     for _, cx, cy, bw, bh in rows], dtype=np.float32).reshape(-1, 4)
    return Detections(xyxy, np.ones(len(rows), np.float32),
                      np.array([int(r[0]) for r in rows], np.int64), names)


def oracle_findings(flight: Path, include_components: bool = False) -> list[dict[str, Any]]:
    """Geotag the flight's labelled boxes (as if a perfect detector had found them)."""
    from PIL import Image

    from linepatrol.flight import FlightPhoto, detected_photo, locate_photos
    from linepatrol.geo.ledger import Ledger
    from linepatrol.geo.locate import GeoConfig

    observations = []
    for image in sorted(p for p in (flight / "images").iterdir() if p.suffix.lower() == ".jpg"):
        with Image.open(image) as im:
            w, h = im.size
        dets = label_detections(flight / "labels" / f"{image.stem}.txt", w, h)
        observations.append(detected_photo(FlightPhoto(image.name, image), w, h, dets))
    ledger = Ledger.load(flight / "ledger.csv")
    defects = locate_photos(observations, ledger,
                            GeoConfig(include_components=include_components))
    return [d.properties() for d in defects]


def default_gate_m() -> float:
    """The report's own merge distance: findings further apart than this are kept as two
    objects by the report, so a finding further than this from a true object is not it."""
    from linepatrol.geo.locate import GeoConfig

    return GeoConfig().merge_distance_m


def _summary(distances: list[float]) -> tuple[float | None, float | None]:
    """(median, 90th percentile) in metres, rounded to millimetres; None when empty."""
    if not distances:
        return None, None
    return (round(statistics.median(distances), 3),
            round(float(np.percentile(distances, 90)), 3))


def match_one_to_one(truth_classes: list[str], truth_xy: list[np.ndarray],
                     finding_classes: list[str], finding_xy: list[np.ndarray],
                     gate_m: float) -> list[tuple[int, int, float]]:
    """Greedy one-to-one pairs (truth index, finding index, metres) of the same class.

    Closest pair first, each truth object and each finding used at most once, pairs further
    apart than ``gate_m`` never made. Ties break on the indices, so the result is repeatable.
    """
    candidates = sorted(
        (float(np.linalg.norm(finding_xy[j] - truth_xy[i])), i, j)
        for i, tc in enumerate(truth_classes)
        for j, fc in enumerate(finding_classes)
        if fc == tc)
    used_truth: set[int] = set()
    used_finding: set[int] = set()
    pairs = []
    for d, i, j in candidates:
        if d > gate_m:
            break
        if i in used_truth or j in used_finding:
            continue
        used_truth.add(i)
        used_finding.add(j)
        pairs.append((i, j, d))
    return pairs


def _truth_centric(objects: list[dict[str, Any]], placed: list[tuple[str, np.ndarray]],
                   gate_m: float) -> dict[str, Any]:
    """The ``matched`` block of :func:`compare` (see the module docstring)."""
    targets = [obj for obj in objects if obj["class"] not in COMPONENTS]
    t_cls = [str(obj["class"]) for obj in targets]
    t_xy = [np.asarray(obj["enu"][:2], float) for obj in targets]
    f_cls = [key for key, _ in placed]
    f_xy = [xy for _, xy in placed]
    pairs = match_one_to_one(t_cls, t_xy, f_cls, f_xy, gate_m)
    found_truth = {i: d for i, _, d in pairs}
    used_findings = {j for _, j, _ in pairs}
    left_findings = [j for j in range(len(placed)) if j not in used_findings]

    per_class: dict[str, dict[str, Any]] = {}
    for key in sorted(set(t_cls)):
        ds = [d for i, d in found_truth.items() if t_cls[i] == key]
        per_class[key] = {"true": t_cls.count(key), "found": len(ds),
                          "median_m": _summary(ds)[0],
                          "false": sum(f_cls[j] == key for j in left_findings)}

    missed = []
    wrong_class_nearby = 0
    for i, obj in enumerate(targets):
        if i in found_truth:
            continue
        same = [float(np.linalg.norm(f_xy[j] - t_xy[i]))
                for j in range(len(placed)) if f_cls[j] == t_cls[i]]
        other = sorted((float(np.linalg.norm(f_xy[j] - t_xy[i])), f_cls[j])
                       for j in left_findings if f_cls[j] != t_cls[i])
        other = [pair for pair in other if pair[0] <= gate_m]
        wrong_class_nearby += bool(other)
        entry: dict[str, Any] = {"class": t_cls[i]}
        if "instance_id" in obj:
            entry["instance_id"] = obj["instance_id"]
        entry["enu"] = [round(float(v), 2) for v in obj["enu"]]
        entry["nearest_finding_m"] = round(min(same), 3) if same else None
        entry["wrong_class"] = other[0][1] if other else None
        missed.append(entry)

    distances = list(found_truth.values())
    median, p90 = _summary(distances)
    return {
        "gate_m": gate_m,
        "true_objects": len(targets),
        "found": len(pairs),
        "recall": round(len(pairs) / len(targets), 3) if targets else None,
        "median_m": median,
        "p90_m": p90,
        "per_class": per_class,
        "false_findings": len(left_findings),
        "wrong_class_nearby": wrong_class_nearby,
        "missed": missed,
    }


def compare(findings: list[dict[str, Any]], truth: dict[str, Any],
            gate_m: float | None = None) -> dict[str, Any]:
    """Score placed findings against the truth, finding-centric and truth-centric.

    Top level: horizontal distance from each finding to the nearest true object of its class
    (precision-sensitive). ``matched``: one-to-one pairs within ``gate_m`` (default
    :func:`default_gate_m`), with recall, false findings and the placement error of the
    objects found.
    """
    from linepatrol.geo.geodesy import LocalFrame

    if gate_m is None:
        gate_m = default_gate_m()
    o = truth["origin"]
    frame = LocalFrame(o["lat"], o["lon"], o["alt"])
    by_class: dict[str, list[tuple[np.ndarray, dict[str, Any]]]] = {}
    for obj in truth["objects"]:
        by_class.setdefault(obj["class"], []).append((np.asarray(obj["enu"][:2], float), obj))
    per_class: dict[str, list[float]] = {}
    placed: list[tuple[str, np.ndarray]] = []
    unplaced = unmatched = 0
    assigned = assigned_right = 0
    for f in findings:
        key = f.get("class")
        if key in COMPONENTS:
            continue
        if f.get("lat") is None or f.get("lon") is None:
            unplaced += 1
            continue
        enu = frame.to_enu(f["lat"], f["lon"], f.get("alt_m") or o["alt"])[0][:2]
        placed.append((str(key), np.asarray(enu, float)))
        if key not in by_class:
            unmatched += 1
            continue
        d, nearest = min(((float(np.linalg.norm(enu - t)), obj) for t, obj in by_class[key]),
                         key=lambda pair: pair[0])
        per_class.setdefault(str(key), []).append(d)
        # Line objects: was the right tower or span named? (the report places them *on* the
        # tower's axis or the span's centre line, so metres alone undersell it)
        for field in ("tower", "span"):
            if f.get(field) and nearest.get(field):
                assigned += 1
                assigned_right += f[field] == nearest[field]
    all_d = [d for ds in per_class.values() for d in ds]
    found = {k for k in per_class}
    missed = sorted(k for k in by_class if k not in found and k not in COMPONENTS)
    median, p90 = _summary(all_d)
    return {
        "findings": len(all_d),
        "median_m": median,
        "p90_m": p90,
        "per_class_median_m": {k: round(statistics.median(v), 3) for k, v in
                               sorted(per_class.items())},
        "per_class_count": {k: len(v) for k, v in sorted(per_class.items())},
        "tower_or_span_assigned": assigned,
        "tower_or_span_correct": assigned_right,
        "unplaced": unplaced,
        "class_not_in_truth": unmatched,
        "true_classes_never_found": missed,
        "matched": _truth_centric(truth["objects"], placed, gate_m),
    }
