"""How far a flight report's findings lie from the truth of a synthetic flight.

Two uses:

* :func:`compare` scores any list of placed findings (from ``report.geojson`` written by
  ``linepatrol report``, or from :func:`oracle_findings`) against ``truth.json``: each finding
  is matched to the nearest true object of its class, and the horizontal distances are
  summarised per class and overall.
* :func:`oracle_findings` runs the core's geotagging (``linepatrol.geo.locate_flight``) on the
  flight's own *labels* instead of detector output. That measures the geometry chain (pose in
  the JPEG, rays, ledger towers and spans, ground) with the detector taken out, so a
  geotagging regression shows up even without a model trained on these classes.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from linepatrol.taxonomy import CLASSES

COMPONENTS = ("tower", "insulator", "damper")


def load_report(path: Path) -> list[dict[str, Any]]:
    """Findings of a ``report.geojson`` as flat dicts (class, lat, lon, ...)."""
    data = json.loads(path.read_text())
    return [dict(f.get("properties") or {}) for f in data.get("features", [])]


def oracle_findings(flight: Path, include_components: bool = False) -> list[dict[str, Any]]:
    """Geotag the flight's labelled boxes (as if a perfect detector had found them)."""
    from linepatrol.detections import Detections
    from linepatrol.geo.ledger import Ledger
    from linepatrol.geo.locate import GeoConfig, locate_flight, make_observation

    names = tuple(c.key for c in CLASSES)
    observations = []
    for image in sorted(p for p in (flight / "images").iterdir() if p.suffix.lower() == ".jpg"):
        rows = [line.split() for line in
                (flight / "labels" / f"{image.stem}.txt").read_text().splitlines()]
        from PIL import Image

        with Image.open(image) as im:
            w, h = im.size
        xyxy = np.array([[(float(cx) - float(bw) / 2) * w, (float(cy) - float(bh) / 2) * h,
                          (float(cx) + float(bw) / 2) * w, (float(cy) + float(bh) / 2) * h]
                         for _, cx, cy, bw, bh in rows], dtype=np.float32).reshape(-1, 4)
        dets = Detections(xyxy, np.ones(len(rows), np.float32),
                          np.array([int(r[0]) for r in rows], np.int64), names)
        observations.append(make_observation(image.name, image, dets, w, h))
    ledger = Ledger.load(flight / "ledger.csv")
    defects = locate_flight(observations, ledger,
                            GeoConfig(include_components=include_components))
    return [d.properties() for d in defects]


def compare(findings: list[dict[str, Any]], truth: dict[str, Any]) -> dict[str, Any]:
    """Horizontal distance from each placed finding to the nearest true object of its class."""
    from linepatrol.geo.geodesy import LocalFrame

    o = truth["origin"]
    frame = LocalFrame(o["lat"], o["lon"], o["alt"])
    by_class: dict[str, list[tuple[np.ndarray, dict[str, Any]]]] = {}
    for obj in truth["objects"]:
        by_class.setdefault(obj["class"], []).append((np.asarray(obj["enu"][:2], float), obj))
    per_class: dict[str, list[float]] = {}
    unplaced = unmatched = 0
    assigned = assigned_right = 0
    for f in findings:
        key = f.get("class")
        if key in COMPONENTS:
            continue
        if f.get("lat") is None or f.get("lon") is None:
            unplaced += 1
            continue
        if key not in by_class:
            unmatched += 1
            continue
        enu = frame.to_enu(f["lat"], f["lon"], f.get("alt_m") or o["alt"])[0][:2]
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
    return {
        "findings": len(all_d),
        "median_m": round(statistics.median(all_d), 3) if all_d else None,
        "p90_m": round(float(np.percentile(all_d, 90)), 3) if all_d else None,
        "per_class_median_m": {k: round(statistics.median(v), 3) for k, v in
                               sorted(per_class.items())},
        "per_class_count": {k: len(v) for k, v in sorted(per_class.items())},
        "tower_or_span_assigned": assigned,
        "tower_or_span_correct": assigned_right,
        "unplaced": unplaced,
        "class_not_in_truth": unmatched,
        "true_classes_never_found": missed,
    }
