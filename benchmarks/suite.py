"""The suite: prepare inputs and models, run every section, collect one results dict.

``quick`` is the harness check the test suite runs (3 small photos, a random-weights model at
160 px, scaled-down "large" photos): it proves that every section runs and every output is
written, in well under a minute on 2 cores. ``full`` is the measurement.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import detection, large, memory, photos, variants
from benchmarks.machine import stamp
from benchmarks.weights import prepare_models

log = logging.getLogger(__name__)

DEFAULT_VAL = Path("/work/data/cplid-yolo/data.yaml")


@dataclass(frozen=True)
class Profile:
    name: str
    photos: int
    rounds: int
    stage_repeats: int
    large_sizes: tuple[tuple[int, int], ...]
    large_per_size: int
    large_objects: int
    large_rounds: int
    large_cap_scale: float  # missing caps on their strings: 1 = native size
    flight_photos: int
    memory_size: tuple[int, int]
    calibration: int
    val_limit: int | None
    random_imgsz: int


QUICK = Profile("quick", photos=3, rounds=2, stage_repeats=1, large_sizes=((648, 486),),
                large_per_size=1, large_objects=4, large_rounds=1, large_cap_scale=0.3,
                flight_photos=6, memory_size=(1600, 1200), calibration=3, val_limit=3,
                random_imgsz=160)
FULL = Profile("full", photos=24, rounds=9, stage_repeats=2,
               large_sizes=((5184, 3888), (8192, 5460)), large_per_size=2, large_objects=24,
               large_rounds=4, large_cap_scale=1.0, flight_photos=200, memory_size=(8000, 6000),
               calibration=32, val_limit=None, random_imgsz=320)


SECTIONS = ("detection", "large", "flight", "variants", "memory")


def _section(results: dict[str, Any], name: str, fn: Callable[[], Any],
             only: tuple[str, ...] = SECTIONS) -> None:
    """Run one section; a failure is recorded in the results and the other sections go on."""
    if name not in only:
        results[name] = {"error": "not run (--sections)"}
        return
    t0 = time.perf_counter()
    log.info("benchmark section %s ...", name)
    try:
        results[name] = fn()
    except Exception as exc:
        log.exception("section %s failed", name)
        results[name] = {"error": f"{type(exc).__name__}: {exc}",
                         "traceback": traceback.format_exc()[-4000:]}
    results.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t0, 1)


def validation_set(profile: Profile, val_yaml: Path | None,
                   fallback: list[Path]) -> tuple[list[variants.LabelledPhoto], str]:
    if val_yaml is not None and val_yaml.is_file():
        return (variants.yolo_split(val_yaml, "val", profile.val_limit),
                f"{val_yaml} (split 'val')")
    return (variants.cplid_subset(fallback),
            f"{len(fallback)} CPLID photos with their labels (no validation split given: "
            "not held out)")


def calibration_set(profile: Profile, val_yaml: Path | None) -> tuple[list[Path], str]:
    if val_yaml is not None and val_yaml.is_file():
        from linepatrol_models.export import pick_calibration_images

        return (pick_calibration_images(val_yaml.parent, profile.calibration, "train"),
                f"{profile.calibration} photos of the training split")
    picked = photos.cplid_photos(profile.calibration * 7)[::7][:profile.calibration]
    return picked, f"{len(picked)} CPLID photos"


def wanted_variants(device: str, only: tuple[str, ...]) -> tuple[str, ...]:
    """The ONNX variants to build besides fp32 for the sections that run.

    On a CPU, INT8 is what the core runs for a bundled model by default, so the detection and
    large-photo sections run it next to fp32 and the variants section scores it: it is built
    whenever any of them runs. A CUDA run has no INT8 side (a GPU runs the fp32 file, as a
    bundled model does there); it builds fp16, and only for the variants section.
    """
    if device == "cuda":
        return ("fp16",) if "variants" in only else ()
    return ("int8",) if {"detection", "large", "variants"} & set(only) else ()


def _default_service_flight(shots: list[Path], device: str, work: Path) -> dict[str, Any]:
    """The same flight through a service left at its defaults: the bundled default model set
    (linepatrol.model_store.DEFAULT_MODELS; on a CPU their INT8 files), whatever the run's
    own model is — what a user who configures nothing gets."""
    from linepatrol.pipeline import model_paths
    from linepatrol.settings import CoreSettings

    try:
        files = model_paths(None, CoreSettings(providers=["cuda"] if device == "cuda"
                                               else ["cpu"]))
        row = memory.flight_run(None, shots, device, work, "service")
        row["path"] = ("service at its defaults: bundled " + " + ".join(f"`{f.name}`"
                                                                      for f in files))
    except Exception as exc:
        log.exception("default service flight failed")
        row = {"path": "service at its defaults", "error": f"{type(exc).__name__}: {exc}"[:2000]}
    return row


def run_suite(
    profile: Profile,
    device: str,
    work: Path,
    weights: Path | None = None,
    onnx: Path | None = None,
    imgsz: int | None = None,
    val_yaml: Path | None = DEFAULT_VAL,
    note: str | None = None,
    only: tuple[str, ...] = SECTIONS,
    weights_from_onnx: Path | None = None,
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": stamp(device, note), "profile": profile.name}
    small = photos.cplid_photos(profile.photos)
    wanted = wanted_variants(device, only)
    calib, calib_source = calibration_set(profile, val_yaml)
    given = weights or weights_from_onnx
    models = prepare_models(work, weights, onnx,
                            imgsz or (None if given else profile.random_imgsz), wanted, calib,
                            weights_from_onnx)
    results["model"] = {**models.describe(), "calibration": calib_source}

    _section(results, "detection", lambda: detection.throughput(
        models, small, device, profile.rounds, profile.stage_repeats), only)

    def big() -> dict[str, Any]:
        made = [photos.make_large_photo(work / "photos", w, h, profile.large_objects, seed,
                                        cap_scale=profile.large_cap_scale)
                for (w, h) in profile.large_sizes for seed in range(profile.large_per_size)]
        return large.compare(models, made, device, profile.large_rounds)

    _section(results, "large", big, only)

    def flight() -> dict[str, Any]:
        """Through the service's embedded worker; the core pipeline alongside for reference."""
        # distinct files only: the service keeps one copy of a photo uploaded twice, so a
        # list that cycles over fewer photos than asked (a small photo set) would be counted
        # as more photos than it processed
        shots = list(dict.fromkeys(photos.cplid_photos(profile.flight_photos)))
        rows = []
        try:
            row = memory.flight_run(models.onnx["fp32"], shots, device, work, "service")
            row["path"] = "service: HTTP upload + submit, embedded worker, SQLite"
        except Exception as exc:
            log.exception("service flight failed")
            row = {"path": "service", "error": f"{type(exc).__name__}: {exc}"[:2000]}
        rows.append(row)
        row = memory.flight_run(models.onnx["fp32"], shots, device, work, "flight")
        row["path"] = "core pipeline (detect_files), same settings"
        rows.append(row)
        rows.append(_default_service_flight(shots, device, work))
        return {"photos": len(shots), "rows": rows}

    _section(results, "flight", flight, only)

    def variant_rows() -> dict[str, Any]:
        val, source = validation_set(profile, val_yaml, photos.cplid_photos(profile.photos))
        return variants.compare(models, small, val, source, device, profile.rounds)

    _section(results, "variants", variant_rows, only)

    def rss() -> dict[str, Any]:
        w, h = profile.memory_size
        photo = photos.make_large_photo(work / "photos", w, h, 0, 0)
        return memory.detect_rss(models.onnx["fp32"], photo.path, device, work / "rss.json")

    _section(results, "memory", rss, only)
    results["headline"] = headline(results)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return results


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The ratios the issue asks for, pulled out of the sections (None where a section failed)."""
    det = results.get("detection", {})
    rows = results.get("large", {}).get("rows", [])
    return {
        "detect_vs_ultralytics": det.get("ratio"),
        # the same work against ultralytics with torch on every core, as ONNX Runtime runs (CPU
        # runs; None on a GPU and in results made before it was measured)
        "detect_vs_ultralytics_all_cores": det.get("ratio_vs_all_cores"),
        "detect_vs_ultralytics_batch": det.get("ratio_vs_batch"),
        "detect_tile_auto_vs_ultralytics": det.get("ratio_tile_auto"),
        "detect_int8_vs_ultralytics": det.get("ratio_int8"),
        "detect_square_vs_ultralytics": det.get("ratio_square"),
        "large_vs_sahi": {r["size"]: r["ratio"] for r in rows},
        # INT8 through the core, where it ran (CPU runs; absent from results before it did)
        "large_int8_vs_sahi": {r["size"]: r["ratio_int8"] for r in rows
                               if r.get("ratio_int8") is not None},
        # against SAHI with torch on every core, where it ran (CPU runs)
        "large_vs_sahi_all_cores": {r["size"]: r["ratio_vs_all_cores"] for r in rows
                                    if r.get("ratio_vs_all_cores") is not None},
        "large_recall": {r["size"]: r["recall"] for r in rows},
        "recall_meaningful": results.get("large", {}).get("recall_meaningful"),
    }
