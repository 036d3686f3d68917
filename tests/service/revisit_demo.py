"""Issue #15's demonstration: one synthetic line flown twice through the service.

``sample_flight`` renders the first flight and, from the same seed, the revisit (one cap fixed,
one machine moved closer, one new bird nest, an end of the line skipped: truth.json's
``revisit``). Both go through the service's API as a patrol team would send them, with a
perfect detector in place of the model — each photo's detections are its YOLO labels, since the
tiny test models see nothing in rendered scenes — and every item is confirmed after the first
flight. :func:`run_demo` then reads each item's state back from the API and ties it to the
truth through its evidence: a box the service kept is a label of a known instance.

``test_revisit.py`` asserts the states; run as a module it prints them for any size::

    PYTHONPATH=tests:inspect:service:datasets:models \\
        python -m service.revisit_demo --out /tmp/revisit --photos 60 --size 4000x3000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from PIL import Image

from linepatrol.flight import DetectedPhoto, FlightPhoto, detected_photo
from linepatrol_datasets.synth.flight import sample_flight
from linepatrol_datasets.synth.truth_check import COMPONENTS, label_detections
from linepatrol_service import processing

from .conftest import Api

FIRST_DATE = dt.date(2026, 4, 1)
REVISIT_DATE = dt.date(2026, 4, 29)  # as the revisit's EXIF time (flight.REVISIT_AFTER)
UPLOAD_CHUNK = 20  # photos per upload request


def render_pair(out: Path, seed: int, photos: int, size: tuple[int, int],
                renderer: Any) -> tuple[Path, Path]:
    """The first flight and its revisit, rendered into ``out/first`` and ``out/revisit``."""
    dirs = (out / "first", out / "revisit")
    for folder, revisit in zip(dirs, (False, True), strict=True):
        sample_flight(folder, photos=photos, seed=seed, size=size, backgrounds=None,
                      progress=False, renderer=renderer, revisit=revisit)
    return dirs


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def perfect_detector(flights: Iterable[Path]) -> Iterator[None]:
    """The service's detection step (``processing.detect_photos``) answering with the photos'
    own labels: a stored photo is known by its bytes' hash, the way the service stores it."""
    labels = {_sha256(image.read_bytes()): flight / "labels" / f"{image.stem}.txt"
              for flight in flights for image in sorted((flight / "images").glob("*.JPG"))}

    def detect(detector: Any, photos: Iterable[FlightPhoto], max_pixels: int = 0,
               decode_threads: int | None = None) -> Iterator[DetectedPhoto]:
        for photo in photos:
            data = photo.path.read_bytes()
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
            yield detected_photo(photo, w, h, label_detections(labels[_sha256(data)], w, h))

    with mock.patch.object(processing, "detect_photos", detect):
        yield


def fly(api: Api, flight: Path, date: dt.date, timeout: float = 600.0) -> int:
    """Create, upload, submit and wait for one rendered flight; its id."""
    line = json.loads((flight / "truth.json").read_text())["line"]
    body = api.new_flight(line=line, date=date.isoformat())
    images = sorted((flight / "images").glob("*.JPG"))
    for start in range(0, len(images), UPLOAD_CHUNK):
        chunk = images[start:start + UPLOAD_CHUNK]
        r = api.upload(body["id"], [(p.name, p.read_bytes()) for p in chunk])
        assert r.status_code == 200 and r.json()["accepted"] == len(chunk), r.text
    assert api.post(f"/flights/{body['id']}/submit", "uploader").status_code in (200, 202)
    done = api.wait(body["id"], timeout=timeout)
    assert done["status"] == "done", done
    return int(body["id"])


def items(api: Api) -> list[dict[str, Any]]:
    r = api.get("/defects", "reviewer", params={"limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


@dataclass(frozen=True)
class ItemState:
    """One item as the service reports it after the revisit, beside what the truth says."""

    item_id: int
    class_key: str
    place: str  # tower N, span A-B, ground near N
    instances: tuple[int, ...]  # the truth instances its evidence boxes are labels of
    change: str  # fixed, moved, added, skipped (not flown), flown again
    status: str
    sightings: int
    not_seen_on_flight: int | None
    severity_before: str | None  # after the first flight; None for an item the revisit made
    severity_after: str | None
    distance_m: tuple[float | None, float | None]  # to the line, before and after (hazards)
    notes: tuple[str, ...] = ()


@dataclass
class Demo:
    first: int
    revisit: int
    truth: dict[str, Any]  # the revisit's truth.json
    states: list[ItemState]
    unfound: list[tuple[int, str, int]]  # truth instances no item stands for: id, class,
    # photos of the two flights that labelled it
    gaps: list[str]  # the revisit's coverage gaps: "tower 75", "span 74-75"
    covered: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def by_change(self, change: str) -> list[ItemState]:
        return [s for s in self.states if s.change == change]


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _photo_labels(api: Api, flight_id: int, flight: Path) -> dict[int, list[dict[str, Any]]]:
    """Each stored photo's truth labels (instance id, class, box), by the photo's row id."""
    truth = json.loads((flight / "truth.json").read_text())
    by_name = {Path(s["image"]).name: s["labels"] for s in truth["shots"]}
    rows = api.get(f"/flights/{flight_id}/images", params={"limit": 1000}).json()["items"]
    return {int(r["id"]): by_name[r["filename"]] for r in rows}


def _instances(detail: dict[str, Any], labels: dict[int, list[dict[str, Any]]]) -> tuple[int, ...]:
    """The truth instances an item's evidence boxes are (most views first): each box is
    matched to the label of its class it overlaps most in its photo."""
    votes: Counter[int] = Counter()
    for sighting in detail["sightings_list"]:
        for ev in sighting["evidence"]:
            candidates = [lab for lab in labels.get(ev["image_id"], [])
                          if lab["class"] == (ev.get("detected_class") or detail["class_key"])]
            if candidates:
                best = max(candidates, key=lambda lab: _iou(lab["xyxy"], ev["xyxy"]))
                votes[int(best["instance_id"])] += 1
    return tuple(i for i, _ in votes.most_common())


def _place(d: dict[str, Any]) -> str:
    if d["placement"] == "tower":
        return f"tower {d['tower']}"
    if d["placement"] == "span":
        return f"span {d['span']}"
    return f"{d['placement']} near {d['tower'] or d['span'] or '?'}"


def _change(instance: int | None, truth: dict[str, Any], first: dict[str, Any]) -> str:
    """What the revisit did to the object (by truth.json's ``revisit``)."""
    rv = truth["revisit"]
    if instance is None:
        return "unknown"
    for kind in ("fixed", "moved", "added"):
        if instance in {c["instance_id"] for c in rv[kind]}:
            return kind
    obj = next(o for o in first["objects"] if o["instance_id"] == instance)
    if obj["tower"] in rv["skipped"]["towers"] or obj["span"] in rv["skipped"]["spans"]:
        return "skipped"
    return "flown again"


def run_demo(api: Api, first_dir: Path, revisit_dir: Path) -> Demo:
    """Both flights through the service (ledger first, every item confirmed in between) and
    each item's state afterwards."""
    truth = json.loads((revisit_dir / "truth.json").read_text())
    first_truth = json.loads((first_dir / "truth.json").read_text())
    seconds: dict[str, float] = {}
    r = api.put(f"/lines/{truth['line']}/ledger",
                content=(first_dir / "ledger.csv").read_bytes(),
                headers={"Content-Type": "text/csv"})
    assert r.status_code in (200, 201), r.text
    with perfect_detector([first_dir, revisit_dir]):
        start = time.perf_counter()
        first = fly(api, first_dir, FIRST_DATE)
        seconds["first flight"] = time.perf_counter() - start
        before = {d["id"]: d for d in items(api)}
        for d in before.values():
            r = api.patch(f"/defects/{d['id']}", "reviewer", json={"status": "confirmed"})
            assert r.status_code == 200, r.text
        start = time.perf_counter()
        revisit = fly(api, revisit_dir, REVISIT_DATE)
        seconds["revisit"] = time.perf_counter() - start
    labels = {**_photo_labels(api, first, first_dir), **_photo_labels(api, revisit, revisit_dir)}
    states = []
    for d in items(api):
        detail = api.get(f"/defects/{d['id']}", "reviewer").json()
        found = _instances(detail, labels)
        history = api.get(f"/defects/{d['id']}/history", "reviewer").json()
        old = before.get(d["id"])
        states.append(ItemState(
            item_id=d["id"], class_key=d["class_key"], place=_place(d), instances=found,
            change=_change(found[0] if found else None, truth, first_truth),
            status=d["status"], sightings=d["sightings"],
            not_seen_on_flight=d["not_seen_on_flight"],
            severity_before=old["severity"] if old else None, severity_after=d["severity"],
            distance_m=(old["distance_to_line_m"] if old else None, d["distance_to_line_m"]),
            notes=tuple(e["note"] for e in history if e.get("note"))))
    seen = {i for s in states for i in s.instances}
    objects = {o["instance_id"]: o["class"] for o in (*first_truth["objects"], *truth["objects"])
               if o["class"] not in COMPONENTS}
    coverage = api.get(f"/flights/{revisit}/coverage", "reviewer").json()
    covered = [f"{i['kind']} {i['id']}" for i in (*coverage["towers"], *coverage["spans"])
               if i["covered"]]
    labelled = Counter(lab["instance_id"] for t in (first_truth, truth) for shot in t["shots"]
                       for lab in shot["labels"])
    return Demo(first, revisit, truth, sorted(states, key=lambda s: s.item_id),
                sorted((i, k, labelled[i]) for i, k in objects.items() if i not in seen),
                [f"{g['kind']} {g['id']}" for g in coverage["gaps"]], covered, seconds)


def _m(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} m"


def table(demo: Demo) -> str:
    """Each item's state as the service reported it, as a Markdown table."""
    head = ("| item | class | place | truth id | revisit change | status | sightings "
            "| not_seen_on_flight | severity before → after | distance to line |")
    rows = [head, "|" + "---|" * 10]
    for s in demo.states:
        before = s.severity_before or "—"
        distance = (f"{_m(s.distance_m[0])} → {_m(s.distance_m[1])}"
                    if s.distance_m[1] is not None else "")
        rows.append(f"| {s.item_id} | {s.class_key} | {s.place} | "
                    f"{', '.join(map(str, s.instances))} | {s.change} | {s.status} | "
                    f"{s.sightings} | {s.not_seen_on_flight or ''} | "
                    f"{before} → {s.severity_after} | {distance} |")
    return "\n".join(rows)


def summary(demo: Demo) -> str:
    rv = demo.truth["revisit"]
    lines = [f"line {demo.truth['line']}: flight {demo.first} ({FIRST_DATE}), "
             f"revisit flight {demo.revisit} ({REVISIT_DATE})",
             f"revisit changes (truth.json): {json.dumps(rv)}",
             "", table(demo), "",
             f"revisit coverage: covered {', '.join(demo.covered) or 'nothing'}; "
             f"gaps {', '.join(demo.gaps) or 'none'}"]
    if demo.unfound:
        lines.append("truth objects no item stands for: " + ", ".join(
            f"{i} {k} (labelled in {n} photos)" for i, k, n in demo.unfound))
    moved = demo.by_change("moved")
    for s in moved:
        lines += [f"item {s.item_id} history:"] + [f"  - {n}" for n in s.notes]
    lines.append("service seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                  demo.seconds.items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Render the pair at a chosen size, run it through a throwaway service, print the table."""
    from linepatrol.geo.coverage import MIN_OBJECT_PX
    from linepatrol_datasets.synth.cli import _size
    from linepatrol_datasets.synth.render import Renderer
    from support.service_settings import make_settings
    from support.tiny_onnx import make_yolo_onnx

    from .conftest import BOXES, NAMES, open_api

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--photos", type=int, default=60)
    p.add_argument("--size", type=_size, default=_size("4000x3000"))
    p.add_argument("--coverage-min-px-at-4000", type=float, default=MIN_OBJECT_PX,
                   help="coverage threshold for a 4000 px wide photo, scaled to --size "
                        "(default: the service's)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    first_dir, revisit_dir = render_pair(args.out, args.seed, args.photos, args.size, Renderer())
    rendered = time.perf_counter() - start
    model = make_yolo_onnx(args.out / "tiny.onnx", NAMES, BOXES, imgsz=64)
    settings = make_settings(args.out / "service", model, coverage_min_object_px=(
        args.coverage_min_px_at_4000 * args.size[0] / 4000))
    for api in open_api(settings):
        demo = run_demo(api, first_dir, revisit_dir)
        demo.seconds = {"rendering both": rendered, **demo.seconds}
        print(summary(demo))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
