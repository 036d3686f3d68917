"""The benchmark harness runs end to end on a tiny input, so that it does not rot.

No timing is asserted: only that every section ran, every output was written, and the pieces
with a right answer (recall matching, pasted boxes, peak-memory measurement) give it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CPLID = Path("/work/shared/datasets/cplid")
needs_cplid = pytest.mark.skipif(not CPLID.is_dir(), reason="CPLID photos not on this machine")


def test_found_objects_counts_iou_and_centre_matches() -> None:
    from benchmarks.large import found_objects

    truth = [(100.0, 100.0, 140.0, 130.0), (500.0, 500.0, 520.0, 520.0),
             (800.0, 50.0, 840.0, 90.0)]
    dets = np.array([
        [102, 101, 141, 131],  # IoU > 0.5 with the first
        [495, 495, 530, 528],  # contains the second's centre, < 4x its area
        [600, 0, 1000, 400],  # contains the third's centre but is 100x its area: no
    ], np.float32)
    assert found_objects(truth, dets) == 2
    assert found_objects(truth, np.zeros((0, 4), np.float32)) == 0
    assert found_objects([], dets) == 0


@needs_cplid
def test_pasted_objects_are_where_the_boxes_say(tmp_path: Path) -> None:
    from benchmarks.photos import insulator_crops, missing_cap_crops, mosaic, paste_objects

    crops = missing_cap_crops()
    canvas = np.zeros((3000, 4000, 3), np.uint8)
    before = canvas.copy()
    taken: list[tuple[int, int, int, int]] = []
    boxes = paste_objects(canvas, crops, 5, seed=1, margin=0.1, taken=taken)
    assert len(boxes) == 5 and len(taken) == 5
    for (x1, y1, x2, y2), (tx1, ty1, tx2, ty2) in zip(boxes, taken, strict=True):
        assert 0 <= x1 < x2 <= 4000 and 0 <= y1 < y2 <= 3000
        region = canvas[int(y1):int(y2), int(x1):int(x2)]
        assert region.any() and not np.array_equal(region, before[int(y1):int(y2),
                                                                   int(x1):int(x2)])
        # each cap is pasted on its insulator string: the pasted area is string-sized (CPLID
        # strings are 640-1016 px long, caps 53-86 px) and holds the cap's box
        assert tx1 <= x1 and ty1 <= y1 and x2 <= tx2 and y2 <= ty2
        assert max(tx2 - tx1, ty2 - ty1) >= 5 * max(x2 - x1, y2 - y1)
    # Pasted areas do not overlap each other.
    for i, a in enumerate(taken):
        for b in taken[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    big = mosaic([crops[0].image], 400, 300)
    assert big.shape == (300, 400, 3)
    # Scaled pastes keep clear of what is taken and land where their boxes say.
    canvas2 = np.zeros((3000, 4000, 3), np.uint8)
    taken = []
    caps = paste_objects(canvas2, crops, 3, seed=2, margin=0.1, taken=taken)
    strings = paste_objects(canvas2, insulator_crops(), 3, seed=3, margin=0.1, scale=0.5,
                            taken=taken)
    assert len(caps) == 3 and len(strings) == 3 and len(taken) == 6
    for x1, y1, x2, y2 in strings:
        assert canvas2[int(y1) + 1:int(y2) - 1, int(x1) + 1:int(x2) - 1].any()
        for tx1, ty1, tx2, ty2 in taken[:3]:  # clear of the caps' strings
            assert x2 <= tx1 or tx2 <= x1 or y2 <= ty1 or ty2 <= y1


@needs_cplid
def test_every_missing_cap_comes_with_the_string_that_carries_it() -> None:
    from benchmarks.photos import _covered, missing_cap_crops

    crops = missing_cap_crops()
    assert len(crops) == 210  # every CPLID defect has its string
    for c in crops:
        assert c.context is not None and _covered(c.xyxy, c.context) == 1.0
        cw, ch = c.context[2] - c.context[0], c.context[3] - c.context[1]
        assert cw * ch >= 10 * (c.xyxy[2] - c.xyxy[0]) * (c.xyxy[3] - c.xyxy[1])


def test_peak_rss_is_the_commands_own() -> None:
    """A child that touches ~300 MiB reports about that, not the (larger) parent's memory."""
    from benchmarks.memory import peak_rss_of

    ballast = np.ones(400 * 2**20, np.uint8)  # the parent holds 400 MiB
    code = "import numpy as np; a = np.ones(300 * 2**20, np.uint8); print(int(a.sum()))"
    small = peak_rss_of([sys.executable, "-c", "print(1)"])
    big = peak_rss_of([sys.executable, "-c", code])
    assert ballast.sum() > 0
    assert big["returncode"] == 0 and big["stdout"].strip() == str(300 * 2**20)
    assert 300 <= big["peak_rss_mib"] < 380
    assert small["peak_rss_mib"] < 100


@needs_cplid
@pytest.mark.slow
def test_quick_run_writes_every_output(tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "--quick", "--out", str(out),
         "--work", str(work), "--val", "cplid", "--note", "test run"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    machine = results["machine"]
    for key in ("date", "cpu", "cpu_count", "ram_gib", "gpus", "versions", "git_commit"):
        assert key in machine
    assert {"python", "ultralytics", "torch", "sahi", "linepatrol"} <= set(machine["versions"])
    assert "onnxruntime-gpu" in machine["versions"] or "onnxruntime" in machine["versions"]
    assert results["model"]["trained"] is False
    det = results["detection"]
    assert det["photos"] == 3
    assert set(det["photos_per_s"]) == {"linepatrol", "linepatrol_tile_auto", "ultralytics",
                                        "ultralytics_all_cores", "prototype_no_spin",
                                        "prototype_fast_path", "linepatrol_int8",
                                        "linepatrol_square"}
    # on a CPU ultralytics also runs with torch on every core, and only that side does
    cores = os.cpu_count() or 1
    assert det["torch_threads"] == {"ultralytics": min(8, max(1, cores - 1)),
                                    "ultralytics_all_cores": cores}
    assert det["ratio_vs_all_cores"] > 0
    assert results["headline"]["detect_vs_ultralytics_all_cores"] == det["ratio_vs_all_cores"]
    assert det["input_shape"] == [128, 160]  # 1152x864 at 160 px, rect as ultralytics runs it
    assert results["headline"]["detect_square_vs_ultralytics"] == det["ratio_square"]
    assert det["ultralytics_device"] == "cpu"  # where its predictor ran (--device cpu)
    assert all(v > 0 for v in det["photos_per_s"].values())
    assert set(det["stages_ms"]["linepatrol"]) == {
        "decode", "decode_reduced", "preprocess", "inference", "postprocess"}
    assert {"decode", "preprocess", "inference", "postprocess"} <= set(
        det["stages_ms"]["ultralytics"])
    (row,) = results["large"]["rows"]
    assert row["small_objects"] == {"insulator_missing_cap": 4, "insulator": 4}
    # the INT8 variant through the core sits next to fp32 on a CPU run (no prototype side),
    # and SAHI runs a second time with torch on every core
    sides = {"linepatrol", "sahi", "sahi_all_cores", "linepatrol_int8"}
    assert set(row["recall"]) == set(row["s_per_photo"]) == sides
    assert set(row["recall"]["sahi"]) == set(row["recall"]["linepatrol_int8"]) == set(
        row["recall"]["sahi_all_cores"]) == {"insulator_missing_cap", "insulator"}
    assert row["ratio_int8"] > 0 and row["ratio_vs_all_cores"] > 0
    assert results["headline"]["large_int8_vs_sahi"] == {row["size"]: row["ratio_int8"]}
    assert results["headline"]["large_vs_sahi_all_cores"] == {
        row["size"]: row["ratio_vs_all_cores"]}
    assert results["large"]["torch_threads"] == {"sahi": min(8, max(1, cores - 1)),
                                                 "sahi_all_cores": cores}
    # both sides at the core's CPU default batch (Detector.batch_size)
    assert (results["large"]["batch"], results["large"]["batch_rule"]) == (2, "core default")
    assert results["large"]["recall_meaningful"] is False
    flight = results["flight"]
    assert flight["photos"] == 6
    # the service's embedded worker, the core pipeline, then a service left at its defaults
    assert len(flight["rows"]) == 3 and "bundled" in flight["rows"][2]["path"]
    for row in flight["rows"]:
        assert "error" not in row, row
        assert row["photos_per_s"] > 0 and row["peak_rss_mib"] > 0
    variants = {r["variant"]: r for r in results["variants"]["rows"]}
    assert "skipped" in variants["fp16"] and variants["int8"]["photos_per_s"] > 0
    assert variants["fp32"]["map50"] is not None
    assert results["memory"]["peak_rss_mib"] > 0
    assert results["headline"]["detect_vs_ultralytics"] == det["ratio"]
    md = (out / "results.md").read_text()
    for heading in ("## Headline", "## Detection throughput", "## Large photos",
                    "## A whole flight", "## Model variants", "## Memory"):
        assert heading in md
    assert machine["cpu"] in md and "Failed" not in md
    assert f"- Large {results['large']['rows'][0]['size']}, LinePatrol INT8 variant" in md
    assert "ratio INT8" in md and "no spin" not in md.split("## Large photos")[1]
    # ratios print as the report prints floats (``:g``: a ratio of 3.0 reads "3×")
    assert (f"LinePatrol / ultralytics with torch on all {cores} cores (equal threads) = "
            f"**{det['ratio_vs_all_cores']:g}×**") in md
    assert f"ultralytics `YOLO.predict`, torch on all {cores} cores" in md
    big = results["large"]["rows"][0]  # (``row`` is a flight row by now)
    assert (f"- Large {big['size']}: LinePatrol / SAHI with torch on all {cores} cores (equal "
            f"threads) = **{big['ratio_vs_all_cores']:g}×**") in md
    assert "batch 2 (the core's default on this device" in md
    png = out / "results.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cv2.imread(str(png)) is not None


def test_ultralytics_device_is_where_its_predictor_ran() -> None:
    """``predict(device=0)`` moves the predictor's network to the GPU while the wrapper's own
    ``model.device`` stays "cpu": the GPU run of 2026-11-26 reported "ultralytics on cpu"."""
    from types import SimpleNamespace

    from benchmarks.detection import predicted_on

    wrapper = SimpleNamespace(device="cpu", predictor=SimpleNamespace(device="cuda:0"))
    assert predicted_on(wrapper) == "cuda:0"
    assert predicted_on(SimpleNamespace(device="cpu", predictor=None)) == "not run"


def _part(sections: dict[str, dict], date: str, seconds: float) -> dict:
    from benchmarks.merge import NOT_RUN
    from benchmarks.suite import SECTIONS

    result = {"machine": {"host": "h", "device": "cuda", "gpus": ["G"], "date": date,
                          "load_average_at_start": [1.0, 1.0, 1.0], "note": "part"},
              "profile": "full",
              "model": {"weights": "w.pt", "imgsz": 640, "onnx": {f"v{date}": "x.onnx"}},
              "section_seconds": {k: 1.0 for k in sections}, "total_seconds": seconds}
    for name in SECTIONS:
        result[name] = sections.get(name, {"error": NOT_RUN})
    return result


def test_parts_merge_into_one_run_and_refuse_what_does_not_fit() -> None:
    from benchmarks.merge import NOT_RUN, merge
    from benchmarks.report import markdown

    rows = [{"size": "9x9", "ratio": 1.5, "recall": {"linepatrol": {}, "sahi": {}}}]
    detection = {"ratio": 0.86, "ratio_tile_auto": 0.85, "ratio_int8": None,
                 "ratio_square": 0.75}
    a = _part({"detection": detection}, "10:04", 14.9)
    b = _part({"large": {"rows": rows, "recall_meaningful": True}}, "10:05", 40.5)
    merged = merge([a, b], note="three parts")
    assert merged["detection"] is detection and merged["large"]["rows"] == rows
    assert merged["flight"] == {"error": NOT_RUN}
    assert merged["headline"]["detect_vs_ultralytics"] == 0.86
    assert merged["headline"]["large_vs_sahi"] == {"9x9": 1.5}
    assert merged["model"]["onnx"] == {"v10:04": "x.onnx", "v10:05": "x.onnx"}
    assert merged["machine"]["note"] == "three parts"
    assert [p["sections"] for p in merged["parts"]] == [["detection"], ["large"]]
    assert merged["total_seconds"] == 55.4
    assert merged["section_seconds"] == {"detection": 1.0, "large": 1.0}
    md = markdown({**merged, "detection": {"error": "tables not under test"},
                   "large": {"error": "tables not under test"}})
    assert "Run in 2 parts" in md and "INT8" not in md.split("## Detection throughput")[0]
    with pytest.raises(ValueError, match="more than one part"):
        merge([a, _part({"detection": detection}, "10:06", 1.0)])
    other = _part({}, "10:06", 1.0)
    other["machine"]["gpus"] = ["another card"]
    with pytest.raises(ValueError, match="gpus"):
        merge([a, other])


def _large_row(size: str, sides: tuple[str, ...]) -> dict:
    recall = {"insulator_missing_cap": 0.5, "insulator": 0.25}
    row = {"size": size, "megapixels": 20.2, "photos": 2, "tiles_per_photo": 21,
           "small_objects": {"insulator_missing_cap": 4, "insulator": 4},
           "s_per_photo": {k: 1.0 for k in ("linepatrol", "sahi", *sides)},
           "ratio": 1.5, "recall": {k: recall for k in ("linepatrol", "sahi", *sides)}}
    ratio_key = {"linepatrol_int8": "ratio_int8", "sahi_all_cores": "ratio_vs_all_cores"}
    for side in sides:
        row[ratio_key.get(side, f"ratio_{side}")] = 1.8
    return row


@pytest.mark.parametrize("sides", [("linepatrol_int8", "sahi_all_cores"), ("linepatrol_int8",),
                                   ("prototype_no_spin",), ()],
                         ids=["cpu", "before-all-cores", "before-int8", "cuda"])
def test_large_report_reads_every_shape_of_row(sides: tuple[str, ...], tmp_path: Path) -> None:
    """Large rows with the INT8 and SAHI-on-all-cores sides (CPU runs), with INT8 alone (before
    the all-cores side), with the no-spin prototype INT8 replaced (older results files, still
    merged and re-reported) and with neither (CUDA runs) all report."""
    from benchmarks.report import markdown, plot
    from benchmarks.suite import headline

    large = {"tile": 1280, "overlap": 0.2, "batch": 8, "rounds": 2, "recall_meaningful": True,
             "rows": [_large_row("5184x3888", sides), _large_row("8192x5460", sides)]}
    results = {"machine": {"device": "cpu", "cpu_count": 2}, "profile": "full", "large": large,
               **{k: {"error": "not run (--sections)"}
                  for k in ("detection", "flight", "variants", "memory")}}
    results["headline"] = headline(results)
    md = markdown(results)
    int8 = "linepatrol_int8" in sides
    all_cores = "sahi_all_cores" in sides
    assert results["headline"]["large_int8_vs_sahi"] == (
        {"5184x3888": 1.8, "8192x5460": 1.8} if int8 else {})
    line = ("- Large 8192x5460, LinePatrol INT8 variant (a bundled model's default on a CPU) "
            "/ SAHI fp32 `.pt` = **1.8×**")
    assert (line in md) == int8 and ("Large 5184x3888, LinePatrol INT8" in md) == int8
    assert ("| ratio INT8 |" in md) == int8
    assert results["headline"]["large_vs_sahi_all_cores"] == (
        {"5184x3888": 1.8, "8192x5460": 1.8} if all_cores else {})
    assert ("- Large 8192x5460: LinePatrol / SAHI with torch on all 2 cores (equal threads) = "
            "**1.8×**" in md) == all_cores
    assert ("| SAHI, all cores s/photo |" in md) == all_cores
    assert ("ORT threads that do not spin-wait" in md) == (sides == ("prototype_no_spin",))
    plot(results, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_wanted_variants_build_int8_for_every_section_that_runs_it() -> None:
    from benchmarks.suite import wanted_variants

    assert wanted_variants("cpu", ("large",)) == ("int8",)
    assert wanted_variants("cpu", ("detection",)) == ("int8",)
    assert wanted_variants("cpu", ("variants", "memory")) == ("int8",)
    assert wanted_variants("cpu", ("flight", "memory")) == ()
    assert wanted_variants("cuda", ("detection", "large")) == ()
    assert wanted_variants("cuda", ("variants",)) == ("fp16",)


def test_readme_update_replaces_only_the_marked_block(tmp_path: Path) -> None:
    from benchmarks.__main__ import update_readme

    readme = tmp_path / "README.md"
    readme.write_text("# Top\nintro\n<!-- latest-results -->\nold\n<!-- /latest-results -->\nend\n")
    results = tmp_path / "results.md"
    results.write_text("# LinePatrol benchmark (full)\n\n## Headline\n\n- 2.1×\n")
    update_readme(results, readme)
    text = readme.read_text()
    assert text.startswith("# Top\nintro\n<!-- latest-results -->\n### LinePatrol benchmark")
    assert "### Headline" in text and "- 2.1×" in text and "old" not in text
    assert text.endswith("<!-- /latest-results -->\nend\n")
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        update_readme(results, readme)


def test_checkpoint_recovered_from_an_export_runs_the_same_weights(tmp_path: Path) -> None:
    """``--weights-from-onnx``: the rebuilt checkpoint gives the export's outputs, and a file
    that is not the named architecture is refused."""
    from benchmarks.weights import build_random_checkpoint, checkpoint_from_onnx, checkpoint_info

    from linepatrol_models.export import export_fp32, onnx_outputs, torch_outputs

    original = build_random_checkpoint(tmp_path / "random.pt", 64)
    exported, _ = export_fp32(original, tmp_path / "random.onnx", 64)
    back = checkpoint_from_onnx(exported, tmp_path / "back.pt")
    size, names, trained, epoch = checkpoint_info(back)
    assert (size, names, trained, epoch) == (64, ("insulator", "insulator_missing_cap"), True,
                                             None)
    blob = np.random.default_rng(0).random((1, 3, 64, 96), dtype=np.float32)
    reference = onnx_outputs(exported, blob)
    assert np.abs(torch_outputs(back, blob) - reference).max() < 1e-3 * np.abs(reference).max()
    with pytest.raises(ValueError, match="does not hold a fused yolov8s.yaml"):
        checkpoint_from_onnx(exported, tmp_path / "s.pt", arch="yolov8s.yaml")


def test_commit_stamp_can_be_named_for_a_copied_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import machine

    monkeypatch.delenv(machine.COMMIT_ENV, raising=False)
    from_git = machine.git_commit()
    assert from_git  # this checkout is a git repository
    monkeypatch.setenv(machine.COMMIT_ENV, " 1b8f1b1 ")
    assert machine.git_commit() == "1b8f1b1"
