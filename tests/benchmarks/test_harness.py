"""The benchmark harness runs end to end on a tiny input, so that it does not rot.

No timing is asserted: only that every section ran, every output was written, and the pieces
with a right answer (recall matching, pasted boxes, peak-memory measurement) give it.
"""

from __future__ import annotations

import json
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
    canvas = np.zeros((900, 1200, 3), np.uint8)
    before = canvas.copy()
    boxes = paste_objects(canvas, crops, 5, seed=1)
    assert len(boxes) == 5
    for x1, y1, x2, y2 in boxes:
        assert 0 <= x1 < x2 <= 1200 and 0 <= y1 < y2 <= 900
        region = canvas[int(y1):int(y2), int(x1):int(x2)]
        assert region.any() and not np.array_equal(region, before[int(y1):int(y2),
                                                                   int(x1):int(x2)])
    # Boxes do not overlap each other.
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    big = mosaic([crops[0].image], 400, 300)
    assert big.shape == (300, 400, 3)
    # Scaled pastes keep clear of what is taken and land where their boxes say.
    canvas2 = np.zeros((1500, 2000, 3), np.uint8)
    taken: list[tuple[int, int, int, int]] = []
    caps = paste_objects(canvas2, crops, 3, seed=2, taken=taken)
    strings = paste_objects(canvas2, insulator_crops(), 3, seed=3, margin=0.1, scale=0.5,
                            taken=taken)
    assert len(caps) == 3 and len(strings) == 3 and len(taken) == 6
    for x1, y1, x2, y2 in strings:
        assert canvas2[int(y1) + 1:int(y2) - 1, int(x1) + 1:int(x2) - 1].any()
        for cx1, cy1, cx2, cy2 in caps:
            assert x2 <= cx1 or cx2 <= x1 or y2 <= cy1 or cy2 <= y1


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
                                        "prototype_no_spin", "prototype_fast_path",
                                        "linepatrol_int8"}
    assert all(v > 0 for v in det["photos_per_s"].values())
    assert set(det["stages_ms"]["linepatrol"]) == {
        "decode", "decode_reduced", "preprocess", "inference", "postprocess"}
    assert {"decode", "preprocess", "inference", "postprocess"} <= set(
        det["stages_ms"]["ultralytics"])
    (row,) = results["large"]["rows"]
    assert row["small_objects"] == {"insulator_missing_cap": 4, "insulator": 4}
    assert set(row["recall"]) == {"linepatrol", "sahi", "prototype_no_spin"}
    assert set(row["recall"]["sahi"]) == {"insulator_missing_cap", "insulator"}
    assert results["large"]["recall_meaningful"] is False
    flight = results["flight"]
    assert flight["photos"] == 6
    for row in flight["rows"]:  # the service's embedded worker, then the core pipeline
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
    png = out / "results.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cv2.imread(str(png)) is not None


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
