"""Model cards: what a shipped model is, what it was trained on, and how well it does.

Written by ``linepatrol evaluate --card`` from measured numbers only; the free-text sections a
person must write (how and where it was trained, known limits) come from a notes file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linepatrol import taxonomy
from linepatrol_models.dataset import instance_counts
from linepatrol_models.machine import machine_description

if TYPE_CHECKING:
    from linepatrol_models.evaluate import Evaluation


def _auto_rule(ev: Evaluation) -> str:
    """What ``auto`` means for this model (its metadata rule)."""
    if ev.auto_tile is None:
        return ", which for this model is one whole-photo pass (its metadata)"
    return f", which for this model is tiles of {ev.auto_tile:g} input sides on large photos"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"  # NaN-safe


def _variant_row(ev: Evaluation) -> str:
    m = ev.metrics
    per = " / ".join(_pct(c.ap50) for c in m.per_class)
    size_mb = ev.model.stat().st_size / 1e6
    return (f"| `{ev.model.name}` | {ev.precision} | `{ev.tile}` | {size_mb:.1f} MB | "
            f"{_pct(m.map50)} | {_pct(m.map50_95)} | {per} | {ev.speed_ms:.0f} ms |")


def _provenance(root: Path) -> str:
    """How the dataset was made, from the report ``linepatrol data convert`` leaves beside it."""
    report_path = root / "report.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    parts = []
    if report.get("command"):
        parts.append(f"Made with `{report['command']}`.")
    split = report.get("split") or {}
    groups = split.get("groups") or {}
    if groups:
        parts.append(
            f"Split by near-duplicate groups ({groups.get('groups')} groups, "
            f"{groups.get('duplicate_groups')} of them with near-duplicates holding "
            f"{groups.get('images_in_duplicate_groups')} images; "
            f"{(split.get('dedup') or {}).get('hash', 'perceptual hash')}), so pasted copies "
            "of one defective string do not straddle train and val."
        )
    return " ".join(parts)


def render_card(ev: Evaluation, variants: list[Evaluation], training_configs: list[Path],
                notes: str | None) -> str:
    m = ev.metrics
    # the scored classes (a wider model is scored on the keys it shares with the dataset)
    names = ev.classes.names
    columns = [ev.classes.data_names.index(n) for n in names]
    lines = [f"# {ev.model.stem}", ""]
    lines += [
        "| | |", "|---|---|",
        f"| file | `{ev.model.name}` ({ev.model.stat().st_size / 1e6:.1f} MB, sha256 "
        f"`{sha256(ev.model)[:16]}…`) |",
        f"| classes | {', '.join(f'`{n}` ({taxonomy.BY_KEY[n].zh})' if n in taxonomy.BY_KEY else n for n in ev.classes.model_names)} |",  # noqa: E501
        f"| input | {ev.input_size[0]}×{ev.input_size[1]} RGB, letterboxed; tiling `{ev.tile}`"
        f"{_auto_rule(ev) if ev.tile == 'auto' else ''} |",
        f"| evaluated | {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} |",
        "",
        "## Data and split", "",
        f"Dataset `{ev.dataset.yaml_path}`, evaluated on split `{ev.split}`. "
        + _provenance(ev.dataset.root), "",
        "| split | images | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    # a split that repeats another (a test set whose train and val are one folder) is one row,
    # named by every split that uses it
    by_source: dict[Any, list[str]] = {}
    for split in ("train", "val", "test"):
        source = ev.dataset.splits.get(split)
        if source:
            by_source.setdefault(source, []).append(split)
    for splits in by_source.values():
        n, counts = instance_counts(ev.dataset, splits[0])
        lines.append(f"| {' = '.join(splits)} | {n} | "
                     + " | ".join(str(int(counts[i])) for i in columns) + " |")
    if ev.classes.data_only:
        lines += ["", "Labelled classes the model does not detect (not scored): "
                  + ", ".join(f"`{n}`" for n in ev.classes.data_only) + "."]
    lines += ["", "## Metrics", "",
              f"Measured with `linepatrol evaluate` through the LinePatrol detector (the path of "
              f"`linepatrol detect`: letterbox, tiling `{ev.tile}`, NMS IoU {ev.iou}), COCO "
              f"metrics by faster-coco-eval over {m.images} images"
              + (f" ({len(ev.failed)} unreadable)" if ev.failed else "") + ". "
              f"Precision and recall at each class's operating threshold: conf ≥ {m.conf}, "
              "or the model's own threshold for that class.", "",
              f"**mAP50 {_pct(m.map50)}, mAP50-95 {_pct(m.map50_95)}**", "",
              "| class | instances | AP50 | AP50-95 | precision | recall | detections | "
              "at conf ≥ |",
              "|---|---|---|---|---|---|---|---|"]
    for c in m.per_class:
        lines.append(f"| `{c.name}` | {c.instances} | {_pct(c.ap50)} | {_pct(c.ap50_95)} | "
                     f"{_pct(c.precision)} | {_pct(c.recall)} | {c.detections} | {c.conf:g} |")
    lines += ["", "### Variants", "",
              "| model | precision | tiling | size | mAP50 | mAP50-95 | AP50 per class ("
              + " / ".join(names) + ") | CPU time per photo |",
              "|---|---|---|---|---|---|---|---|", _variant_row(ev)]
    lines += [_variant_row(v) for v in variants]
    lines += ["", "## Speed on this machine", "",
              f"{ev.speed_ms:.0f} ms per photo (decode + detect, conf {m.conf}, tiling "
              f"`{ev.tile}`, mean over up to 20 photos after a warm-up) on "
              f"{machine_description()}; providers {', '.join(ev.providers) or 'n/a'}. "
              "A rough figure: times on a small or shared machine move from run to run; "
              "`benchmarks/` measures speed side by side.", ""]
    if training_configs:
        lines += ["## Training configuration", ""]
    for cfg in training_configs:
        lines += [f"`{cfg.name}` (in `models/configs/`):", "", "```yaml",
                  cfg.read_text(encoding="utf-8").rstrip(), "```", ""]
    if notes:
        lines += [notes.strip(), ""]
    return "\n".join(lines)


def write_card(path: Path, ev: Evaluation, variants: list[Evaluation],
               training_configs: list[Path], notes: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_card(ev, variants, training_configs, notes), encoding="utf-8")
    return path
