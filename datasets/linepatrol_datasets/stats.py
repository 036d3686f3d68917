"""Dataset statistics: what a trainer needs to know before choosing imgsz or tiling.

Box size is given relative to the image (``sqrt(box area / image area)``, plus width and height
fractions), because that is what survives resizing; and in pixels at the training ``imgsz``
(long side resized to it, as ultralytics letterboxes), because objects whose short side falls
to a few pixels there are the ones the model will miss.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from linepatrol_datasets.model import Sample

PERCENTILES = (5, 25, 50, 75, 95)
# Log-spaced edges of the relative size sqrt(area fraction): tiny ... whole image.
SIZE_BINS = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0)
ALL = "(all)"


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values, dtype=float)
    return {f"p{p}": round(float(np.percentile(arr, p)), 4) for p in PERCENTILES}


def _describe(rows: list[tuple[float, float, float, float]]) -> dict[str, Any]:
    """rows: (relative size, width fraction, height fraction, short side px at imgsz)."""
    rel = [r[0] for r in rows]
    hist = np.histogram(np.clip(rel, 0.0, 1.0), bins=SIZE_BINS)[0].tolist() if rel else []
    return {
        "boxes": len(rows),
        "relative_size": _percentiles(rel),
        "width_fraction": _percentiles([r[1] for r in rows]),
        "height_fraction": _percentiles([r[2] for r in rows]),
        "short_side_px_at_imgsz": _percentiles([r[3] for r in rows]),
        "relative_size_histogram": {
            f"{lo:g}-{hi:g}": int(n)
            for lo, hi, n in zip(SIZE_BINS[:-1], SIZE_BINS[1:], hist, strict=False)
        },
    }


def compute_stats(samples: Sequence[Sample], imgsz: int = 640) -> dict[str, Any]:
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    images_with: Counter[str] = Counter()
    splits: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for s in samples:
        splits[s.split or "(none)"] += 1
        sizes[f"{s.width}x{s.height}"] += 1
        scale = imgsz / max(s.width, s.height)
        for name in {b.class_name for b in s.boxes}:
            images_with[name] += 1
        for b in s.boxes:
            row = (
                float(np.sqrt(b.area / (s.width * s.height))),
                b.width / s.width,
                b.height / s.height,
                min(b.width, b.height) * scale,
            )
            rows.setdefault(b.class_name, []).append(row)
            rows.setdefault(ALL, []).append(row)
    return {
        "images": len(samples),
        "background_images": sum(1 for s in samples if not s.boxes),
        "images_per_split": dict(sorted(splits.items())),
        "image_sizes": dict(sizes.most_common(10)),
        "boxes": sum(len(s.boxes) for s in samples),
        "imgsz": imgsz,
        "classes": {
            name: {"images": images_with[name], **_describe(r)}
            for name, r in sorted(rows.items()) if name != ALL
        },
        "all_boxes": _describe(rows.get(ALL, [])),
    }


def stats_text(stats: dict[str, Any]) -> str:
    lines = [
        f"images: {stats['images']} ({stats['background_images']} without boxes); "
        f"by split: {', '.join(f'{k} {v}' for k, v in stats['images_per_split'].items())}",
        f"image sizes: {', '.join(f'{k} ({v})' for k, v in stats['image_sizes'].items())}",
        f"boxes: {stats['boxes']}",
        f"{'class':24s} {'boxes':>6s} {'images':>6s}  relative size p5/p50/p95   "
        f"short side px @{stats['imgsz']} p5/p50",
    ]
    for name, c in [*stats["classes"].items(), ("(all)", stats["all_boxes"])]:
        rel, px = c["relative_size"], c["short_side_px_at_imgsz"]
        if not rel:
            continue
        lines.append(
            f"{name:24s} {c['boxes']:6d} {c.get('images', ''):>6}  "
            f"{rel['p5']:.3f} / {rel['p50']:.3f} / {rel['p95']:.3f}          "
            f"{px['p5']:.1f} / {px['p50']:.1f}"
        )
    hist = stats["all_boxes"]["relative_size_histogram"]
    if hist:
        lines.append("relative size histogram (all boxes): "
                     + "  ".join(f"{k}: {v}" for k, v in hist.items()))
    return "\n".join(lines)
