"""Writing the results: ``results.json`` (everything), ``results.md`` (tables), ``results.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _pair(per_class: Any) -> str:
    """``cap / insulator`` values of a per-class dict."""
    if not isinstance(per_class, dict):
        return _fmt(per_class)
    return " / ".join(_fmt(per_class.get(k)) for k in ("insulator_missing_cap", "insulator"))


def _error(section: Any) -> str | None:
    return section.get("error") if isinstance(section, dict) else "not run"


def _trained(model: dict[str, Any]) -> str:
    if not model.get("trained"):
        return "random weights"
    epoch = model.get("epoch")
    return "trained" if epoch is None else f"trained, checkpoint after epoch {epoch + 1}"


def stamp_lines(m: dict[str, Any]) -> list[str]:
    v = m.get("versions", {})
    ort = v.get("onnxruntime-gpu") or v.get("onnxruntime")
    gpu = "; ".join(m.get("gpus") or []) or "none"
    lines = [
        f"- Date: {m.get('date')}, commit {m.get('git_commit')}, device **{m.get('device')}**",
        f"- CPU: {m.get('cpu')} ({m.get('cpu_count')} logical cores), RAM {m.get('ram_gib')} GiB,"
        f" GPU: {gpu}; load average at start {m.get('load_average_at_start')}",
        f"- Versions: Python {v.get('python')}, onnxruntime {ort}, ultralytics "
        f"{v.get('ultralytics')}, torch {v.get('torch')}, sahi {v.get('sahi')}, linepatrol "
        f"{v.get('linepatrol')}, numpy {v.get('numpy')}, OpenCV {v.get('opencv-python-headless')}",
    ]
    if m.get("note"):
        lines.append(f"- Conditions: {m['note']}")
    return lines


def _all_have(rows: list[dict[str, Any]], side: str) -> bool:
    """Whether every large-photo row measured ``side`` (results of older runs carry the
    no-spin prototype instead of INT8; a CUDA run has neither)."""
    return bool(rows) and all(side in row.get("s_per_photo", {}) for row in rows)


def _large_int8_line(size: str, ratio: Any, recall: dict[str, Any], meaningful: bool) -> str:
    """The headline line of the INT8 side at one large size, next to the fp32 one."""
    ours, sahi = recall.get("linepatrol_int8") or {}, recall.get("sahi") or {}
    recalls = "; ".join(f"{k} LinePatrol INT8 {_fmt(ours.get(k))}, SAHI {_fmt(sahi.get(k))}"
                        for k in ours)
    return (f"- Large {size}, LinePatrol INT8 variant (a bundled model's default on a CPU) / "
            f"SAHI fp32 `.pt` = **{_fmt(ratio)}×**; small-object recall {recalls}"
            + ("" if meaningful else " (random weights: not meaningful)"))


def _cores(r: dict[str, Any], section: dict[str, Any], side: str) -> str:
    """How many threads the all-cores side's torch ran on: as measured during the run, else
    the machine's core count."""
    n = (section.get("torch_threads") or {}).get(side) or r["machine"].get("cpu_count")
    return "?" if n is None else str(n)


def _default_threads(section: dict[str, Any], side: str) -> str:
    """`` = M`` where the run recorded torch's thread count on the default side."""
    n = (section.get("torch_threads") or {}).get(side)
    return "" if n is None else f" = {n}"


def _threads(n: int) -> str:
    return f"{n} thread" + ("" if n == 1 else "s")


def _large_all_cores(r: dict[str, Any], lg: dict[str, Any]) -> list[str]:
    """The SAHI-on-all-cores rows (CPU runs since it was measured), a table of their own so
    the main table keeps its width."""
    rows = lg["rows"]
    if not _all_have(rows, "sahi_all_cores"):
        return []
    n = _cores(r, lg, "sahi_all_cores")
    lines = ["", f"SAHI with torch on all {n} cores (not ultralytics' default of "
             f"min(8, cpu_count − 1){_default_threads(lg, 'sahi')}), the same slices and "
             "batch; the ratio is LinePatrol fp32 to it (equal threads):", "",
             "| size | SAHI, all cores s/photo | LinePatrol / SAHI all cores | recall SAHI all "
             "cores |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['size']} | {row['s_per_photo']['sahi_all_cores']} | "
                     f"**{_fmt(row.get('ratio_vs_all_cores'))}×** | "
                     f"{_pair(row['recall'].get('sahi_all_cores'))} |")
    return lines


def _large_table(rows: list[dict[str, Any]]) -> list[str]:
    """The large-photo table; INT8 columns when every row ran the INT8 side (CPU runs)."""
    int8 = _all_have(rows, "linepatrol_int8")
    head = ("| size | photos | tiles/photo | objects (cap / insulator) | LinePatrol s/photo "
            "| SAHI s/photo | ratio | recall LinePatrol | recall SAHI |")
    cols = 9
    if int8:
        head += (" LinePatrol INT8 s/photo | ratio INT8 | recall LinePatrol INT8 |")
        cols += 3
    lines = [head, "|---" * cols + "|"]
    for row in rows:
        line = (f"| {row['size']} ({row['megapixels']} MP) | {row['photos']} | "
                f"{row['tiles_per_photo']} | {_pair(row['small_objects'])} | "
                f"{row['s_per_photo']['linepatrol']} | {row['s_per_photo']['sahi']} | "
                f"**{row['ratio']}×** | {_pair(row['recall']['linepatrol'])} | "
                f"{_pair(row['recall']['sahi'])} |")
        if int8:
            line += (f" {row['s_per_photo']['linepatrol_int8']} | {_fmt(row.get('ratio_int8'))}× "
                     f"| {_pair(row['recall'].get('linepatrol_int8'))} |")
        lines.append(line)
    if int8:
        lines += ["", "INT8 columns: the INT8 variant through the shipped core (`detect_files`, "
                  "tile auto) — what a bundled model runs on a CPU by default; its ratio is to "
                  "SAHI running the fp32 `.pt`. The headline ratio stays fp32 against fp32 "
                  "(same weights)."]
    return lines


def markdown(r: dict[str, Any]) -> str:
    model = r.get("model", {})
    out = [f"# LinePatrol benchmark ({r.get('profile')})", "", *stamp_lines(r["machine"])]
    if r.get("parts"):  # a run made in parts (python -m benchmarks merge)
        out.append(f"- Run in {len(r['parts'])} parts (`--sections`), merged: " + "; ".join(
            f"{', '.join(p['sections'])} at {p['date']} (load {p['load_average_at_start']})"
            for p in r["parts"]))
    out += [f"- After the run: {c}" for c in r.get("corrections", [])]
    out += [f"- Model: `{Path(model.get('weights', '?')).name}` at {model.get('imgsz')} px "
            f"({_trained(model)}); LinePatrol runs its "
            "ONNX export, ultralytics and SAHI the `.pt`"]
    out += [f"- Note: {n}" for n in model.get("notes", [])]
    h = r.get("headline", {})
    out += ["", "## Headline", "",
            f"- Detection, same work (one pass per photo): LinePatrol / ultralytics = "
            f"**{_fmt(h.get('detect_vs_ultralytics'))}×**"]
    d = r.get("detection", {})
    if h.get("detect_vs_ultralytics_all_cores") is not None:  # CPU runs since it was measured
        out.append(f"- Detection, same work: LinePatrol / ultralytics with torch on all "
                   f"{_cores(r, d, 'ultralytics_all_cores')} cores (equal threads) = "
                   f"**{_fmt(h.get('detect_vs_ultralytics_all_cores'))}×**")
    if h.get("detect_vs_ultralytics_batch") is not None:  # GPU runs since it was measured
        out.append(f"- Detection, same work: LinePatrol / ultralytics asked for the same batch "
                   f"of {d.get('photos_per_call')} photos per call (its default is 1) = "
                   f"**{_fmt(h.get('detect_vs_ultralytics_batch'))}×**")
    out.append(f"- Detection, LinePatrol default `--tile auto` / ultralytics = "
               f"{_fmt(h.get('detect_tile_auto_vs_ultralytics'))}×")
    # A --device cuda run builds no INT8 variant (the fp16 one instead): no line, not a "–".
    if h.get("detect_int8_vs_ultralytics") is not None or r["machine"].get("device") != "cuda":
        out.append(f"- Detection, LinePatrol INT8 variant (a bundled model's default on a CPU) / "
                   f"ultralytics fp32 `.pt` = **{_fmt(h.get('detect_int8_vs_ultralytics'))}×**")
    if h.get("detect_square_vs_ultralytics") is not None:
        out.append(f"- Detection, the same weights exported with a fixed square input (every "
                   f"photo letterboxed to the square, as exports were before) / ultralytics = "
                   f"{_fmt(h.get('detect_square_vs_ultralytics'))}×")
    for size, ratio in (h.get("large_vs_sahi") or {}).items():
        rec = (h.get("large_recall") or {}).get(size, {})
        ours, sahi = rec.get("linepatrol") or {}, rec.get("sahi") or {}
        recalls = "; ".join(f"{k} LinePatrol {_fmt(ours.get(k))}, SAHI {_fmt(sahi.get(k))}"
                            for k in ours)
        out.append(f"- Large {size}: LinePatrol / SAHI = **{_fmt(ratio)}×**; small-object recall "
                   f"{recalls}"
                   + ("" if h.get("recall_meaningful") else " (random weights: not meaningful)"))
        all_cores = (h.get("large_vs_sahi_all_cores") or {}).get(size)
        if all_cores is not None:  # CPU runs since it was measured
            out.append(f"- Large {size}: LinePatrol / SAHI with torch on all "
                       f"{_cores(r, r.get('large', {}), 'sahi_all_cores')} cores (equal "
                       f"threads) = **{_fmt(all_cores)}×**")
        int8 = (h.get("large_int8_vs_sahi") or {}).get(size)
        if int8 is not None:  # CPU runs since the INT8 side replaced the no-spin prototype
            out.append(_large_int8_line(size, int8, rec, bool(h.get("recall_meaningful"))))

    out += ["", "## Detection throughput (photos/s, median of interleaved rounds)", ""]
    if _error(d):
        out.append(f"Failed: {_error(d)}")
    else:
        shape = d.get("input_shape")
        rect = (f" (whole-photo input {shape[1]}×{shape[0]}, as ultralytics' rect letterbox)"
                if shape else "")
        out += [f"{d['photos']} real photos of {d['photo_size'][0]}×{d['photo_size'][1]}, "
                f"{d['rounds']} rounds, input {d['imgsz']} px{rect}; providers "
                f"{', '.join(d['active_providers'])}; ultralytics on {d['ultralytics_device']}.",
                "", "| side | photos/s | ms/photo | ratio to ultralytics |", "|---|---|---|---|"]
        label = {"linepatrol": "LinePatrol `detect_files`, tile off (same work)",
                 "linepatrol_tile_auto": "LinePatrol `detect_files`, tile auto "
                 f"(crops per photo: {d['tile_auto_crops_per_photo']})",
                 "ultralytics": "ultralytics `YOLO.predict`" + (
                     f" (its default: torch on {_threads(d['torch_threads']['ultralytics'])})"
                     if "ultralytics_all_cores" in d["photos_per_s"]
                     and "ultralytics" in d.get("torch_threads", {}) else ""),
                 "ultralytics_all_cores": "ultralytics `YOLO.predict`, torch on all "
                 f"{_cores(r, d, 'ultralytics_all_cores')} cores (not its default of "
                 f"min(8, cpu_count − 1){_default_threads(d, 'ultralytics')})",
                 "ultralytics_batch": "ultralytics `YOLO.predict`, batch="
                 f"{d.get('photos_per_call')} (LinePatrol's photos per call on this device; "
                 "not ultralytics' default of 1)",
                 "prototype_no_spin": "*prototype*: tile off, the export's float input (the "
                 "core before its uint8 image input), ORT threads without spin-wait",
                 "prototype_fast_path": "*prototype*: float input, no spin, bilinear "
                 "letterbox, reduced-size decode, one photo per call",
                 "linepatrol_int8": "LinePatrol `detect_files`, INT8 variant (what a bundled "
                 "model runs on a CPU)",
                 "linepatrol_square": "LinePatrol `detect_files`, tile off, the same weights "
                 f"with a fixed {d['imgsz']}×{d['imgsz']} input (exports before rect input)"}
        for key in label:
            if key not in d["photos_per_s"]:
                continue
            ratio = d["photos_per_s"][key] / d["photos_per_s"]["ultralytics"]
            out.append(f"| {label[key]} | {d['photos_per_s'][key]} | {d['ms_per_photo'][key]} "
                       f"| {ratio:.2f} |")
        s = d["stages_ms"]
        ours, ul = s["linepatrol"], s["ultralytics"]
        out += ["", "Per-stage latency (ms per photo, median):", "",
                "| stage | LinePatrol | ultralytics |", "|---|---|---|",
                f"| decode | {ours['decode']} (reduced-size DCT decode: "
                f"{ours['decode_reduced']}) | {_fmt(ul.get('decode'))} (its loader's `imread`, "
                "timed separately) |",
                f"| preprocess | {ours['preprocess']} | {_fmt(ul.get('preprocess'))} |",
                f"| inference | {ours['inference']} | {_fmt(ul.get('inference'))} |",
                f"| postprocess | {ours['postprocess']} | {_fmt(ul.get('postprocess'))} |", "",
                "*Prototype* rows are suggested core changes measured through the core's own "
                "extension points (`benchmarks/prototype.py`) and are never in the headline; "
                "the core adopted no-spin threads and the bilinear letterbox in 8f2f34b; "
                "since it feeds the model uint8 images normalised inside the graph (runs "
                "from 2026-11-26 15:00 UTC on) the prototype rows keep the export's float "
                "input, so they show what that change is worth."]

    lg = r.get("large", {})
    out += ["", "## Large photos: tiled inference vs SAHI `get_sliced_prediction`", ""]
    if _error(lg):
        out.append(f"Failed: {_error(lg)}")
    else:
        rule = (" (the core's default on this device, `Detector.batch_size`: 2 on a CPU, 8 "
                "on a GPU)" if lg.get("batch_rule") == "core default" else "")
        out += [f"Tiles {lg['tile']} px, overlap {lg['overlap']}, plus a whole-photo pass, "
                f"batch {lg['batch']}{rule} on both sides; {lg['rounds']} interleaved rounds. "
                "Photos: "
                "real CPLID photos upscaled into a 2×2 mosaic, with real missing caps on the "
                "insulator strings that carry them (native size) and insulator strings (half "
                "size) pasted at known positions; recall per class (cap / insulator)."
                + ("" if lg["recall_meaningful"] else " **Random weights: recall is not "
                   "meaningful.**"), "",
                *_large_table(lg["rows"]), *_large_all_cores(r, lg)]
        if _all_have(lg["rows"], "prototype_no_spin"):  # results made before 8f2f34b's core
            out += ["", "*Prototype* (suggested core change, not in the headline): the same tiled "
                    "inference with ORT threads that do not spin-wait — "
                    + "; ".join(f"{row['size']}: {row['s_per_photo']['prototype_no_spin']} "
                                f"s/photo, {row['ratio_prototype_no_spin']}× SAHI, recall "
                                f"{_pair(row['recall']['prototype_no_spin'])}"
                                for row in lg["rows"]) + "."]

    fl = r.get("flight", {})
    out += ["", "## A whole flight", ""]
    if _error(fl):
        out.append(f"Failed: {_error(fl)}")
    else:
        out += [f"{fl['photos']} real CPLID photos, default detector settings (tile auto); "
                "photos/s counts processing only (the service's own start-to-finish timing; "
                "upload separately); peak RSS of the whole process.", "",
                "| path | photos/s | processing s | upload s | peak RSS MiB |", "|---" * 5 + "|"]
        for row in fl["rows"]:
            if "error" in row:
                out.append(f"| {row['path']} | failed: {row['error'][:300]} | | | |")
            else:
                out.append(f"| {row['path']} | {row['photos_per_s']} | {row['run_s']} | "
                           f"{_fmt(row.get('upload_s'))} | {row['peak_rss_mib']} |")

    va = r.get("variants", {})
    out += ["", "## Model variants", ""]
    if _error(va):
        out.append(f"Failed: {_error(va)}")
    else:
        out += [f"mAP50 on {va['val_photos']} photos: {va['val_source']}"
                + ("" if va["map_meaningful"] else " — random weights: mAP is not meaningful"),
                "", "| variant | file MiB | photos/s | ms/photo | mAP50 |", "|---|---|---|---|---|"]
        for row in va["rows"]:
            if "skipped" in row:
                out.append(f"| {row['variant']} | skipped: {row['skipped']} | | | |")
            else:
                out.append(f"| {row['variant']} | {row['file_mib']} | {row['photos_per_s']} | "
                           f"{row['ms_per_photo']} | {_fmt(row['map50'])} |")

    me = r.get("memory", {})
    out += ["", "## Memory", ""]
    if _error(me):
        out.append(f"Failed: {_error(me)}")
    else:
        out += [f"Peak RSS of `{me['command']}` on a {me['photo']} ({me['megapixels']} MP) photo: "
                f"**{me['peak_rss_mib']} MiB** (wall {me['wall_s']} s, model load included)."]
    out += ["", f"Total run time {r.get('total_seconds')} s; per section: "
            f"{r.get('section_seconds')}.", ""]
    return "\n".join(out)


def plot(r: dict[str, Any], path: Path) -> None:
    """Bar charts of the three comparisons, with the machine stamp as the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # the detection chart has up to 8 bars: a wider panel keeps their labels apart
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), width_ratios=(1.4, 1, 1))
    d = r.get("detection", {})
    ax = axes[0]
    if not _error(d):
        bars = [("linepatrol", "LinePatrol\n(tile off)", "C0", ""),
                ("linepatrol_tile_auto", "LinePatrol\n(tile auto)", "C9", ""),
                ("ultralytics", "ultralytics", "C1", ""),
                ("ultralytics_all_cores", "ultralytics\nall cores", "C1", "//"),
                ("ultralytics_batch", "ultralytics\nbatch", "C1", "//"),
                ("prototype_no_spin", "prototype:\nno spin", "C7", "//"),
                ("prototype_fast_path", "prototype:\nfast path", "C7", "xx"),
                ("linepatrol_int8", "LinePatrol\nINT8", "C2", ""),
                ("linepatrol_square", "LinePatrol\nsquare input", "C0", "..")]
        bars = [b for b in bars if b[0] in d["photos_per_s"]]
        ax.bar([b[1] for b in bars], [d["photos_per_s"][b[0]] for b in bars],
               color=[b[2] for b in bars], hatch=[b[3] for b in bars])
        ax.tick_params(axis="x", labelsize=8 if len(bars) < 8 else 7)
    ax.set_title("Detection throughput")
    ax.set_ylabel("photos/s (higher is better)")
    lg = r.get("large", {})
    ax = axes[1]
    if not _error(lg):
        sizes = [row["size"] for row in lg["rows"]]
        series = [("linepatrol", "LinePatrol tiled", "C0", ""),
                  ("sahi", "SAHI sliced", "C1", ""),
                  ("sahi_all_cores", "SAHI sliced, torch on all cores", "C1", "//"),
                  ("linepatrol_int8", "LinePatrol tiled, INT8 (CPU default)", "C2", "")]
        if not _all_have(lg["rows"], "linepatrol_int8"):  # results made before 8f2f34b's core
            series.append(("prototype_no_spin", "prototype: no spin", "C7", "//"))
        series = [s for s in series if _all_have(lg["rows"], s[0])]
        width = 0.8 / max(1, len(series))
        for k, (key, name, colour, hatch) in enumerate(series):
            offset = (k - (len(series) - 1) / 2) * width
            ax.bar([i + offset for i in range(len(sizes))],
                   [row["s_per_photo"][key] for row in lg["rows"]],
                   width, label=name, color=colour, hatch=hatch)
        ax.set_xticks(list(range(len(sizes))), sizes)
        ax.legend(loc="upper left", fontsize=8)  # the small size's bars are the short ones
    ax.set_title("Large photos")
    ax.set_ylabel("seconds per photo (lower is better)")
    va = r.get("variants", {})
    ax = axes[2]
    if not _error(va):
        rows = [row for row in va["rows"] if "skipped" not in row]
        ax.bar([row["variant"] for row in rows], [row["photos_per_s"] for row in rows],
               color="C2")
        for i, row in enumerate(rows):
            ax.annotate(f"mAP50 {_fmt(row['map50'])}", (i, row["photos_per_s"]),
                        ha="center", va="bottom", fontsize=8)
    ax.set_title("Model variants (LinePatrol)")
    ax.set_ylabel("photos/s")
    m = r["machine"]
    gpu = "; ".join(m.get("gpus") or []) or "no GPU"
    fig.suptitle(f"LinePatrol benchmark ({r.get('profile')}, device {m.get('device')}) — "
                 f"{m.get('cpu')} ×{m.get('cpu_count')}, {gpu} — {m.get('date')}, "
                 f"commit {m.get('git_commit')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(results: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "results.md",
             "png": out / "results.png"}
    paths["json"].write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(markdown(results), encoding="utf-8")
    plot(results, paths["png"])
    return paths
