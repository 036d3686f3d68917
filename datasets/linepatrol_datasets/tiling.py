"""Cut large photos into training tiles with their labels.

The grid is the core's :func:`linepatrol.slicing.tile_grid`, the same one the detector uses
at inference, so the model trains on the scale it will see. A box is clipped to each tile it
touches and kept when at least ``min_visible`` of its area is inside; a smaller remnant is
dropped (a sliver of an insulator labelled as a whole insulator teaches a wrong shape), and the
count of dropped remnants is reported so the threshold can be judged.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from linepatrol.images import ImageError, read_image
from linepatrol.slicing import Tile, tile_grid
from linepatrol_datasets.model import Box, Issue, IssueKind, Sample
from linepatrol_datasets.yolo_writer import data_yaml_text, unique_names, yolo_line


@dataclass(frozen=True)
class TileOptions:
    tile: int = 640
    overlap: float = 0.2
    min_visible: float = 0.5
    keep_empty: bool = True
    quality: int = 95


def boxes_in_tile(boxes: Sequence[Box], tile: Tile, min_visible: float) -> tuple[list[Box], int]:
    """Boxes clipped to ``tile`` in tile coordinates, and how many remnants were dropped.

    Boxes that do not touch the tile are neither kept nor counted as dropped.
    """
    kept: list[Box] = []
    dropped = 0
    for b in boxes:
        x1, y1 = max(b.x1, tile.x1), max(b.y1, tile.y1)
        x2, y2 = min(b.x2, tile.x2), min(b.y2, tile.y2)
        if x2 <= x1 or y2 <= y1:
            continue
        if (x2 - x1) * (y2 - y1) < min_visible * b.area:
            dropped += 1
            continue
        kept.append(Box(b.class_name, x1 - tile.x1, y1 - tile.y1, x2 - tile.x1, y2 - tile.y1))
    return kept, dropped


@dataclass
class TileResult:
    tiles: Counter[str] = field(default_factory=Counter)  # per split
    empty_skipped: int = 0
    boxes: Counter[str] = field(default_factory=Counter)  # per class, in tiles
    remnants_dropped: int = 0
    issues: list[Issue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"tiles": dict(self.tiles), "empty_tiles_skipped": self.empty_skipped,
                "boxes": dict(sorted(self.boxes.items())),
                "remnants_dropped": self.remnants_dropped}

    def text(self) -> str:
        tiles = ", ".join(f"{k} {v}" for k, v in sorted(self.tiles.items()))
        boxes = ", ".join(f"{k} {v}" for k, v in sorted(self.boxes.items()))
        return (f"tiles: {tiles}; boxes in tiles: {boxes}; remnants below --min-visible "
                f"dropped: {self.remnants_dropped}; empty tiles skipped: {self.empty_skipped}")


def slice_dataset(
    samples: Sequence[Sample], out: Path, names: Sequence[str], options: TileOptions
) -> TileResult:
    """Write tiles of every sample into ``out`` in the YOLO layout (``out`` must be prepared)."""
    ids = {name: i for i, name in enumerate(names)}
    result = TileResult()
    manifest = []
    stems = [Path(n).stem for n in unique_names([s.image_path for s in samples], None)]
    for sample, stem in zip(samples, stems, strict=True):
        try:
            pixels = read_image(sample.image_path).pixels
        except ImageError as exc:
            result.issues.append(Issue(sample.image_path, IssueKind.UNREADABLE_IMAGE, exc.reason))
            continue
        split = sample.split or "train"
        height, width = pixels.shape[:2]
        for tile in tile_grid(width, height, options.tile, options.overlap):
            boxes, dropped = boxes_in_tile(sample.boxes, tile, options.min_visible)
            result.remnants_dropped += dropped
            if not boxes and not options.keep_empty:
                result.empty_skipped += 1
                continue
            name = f"{stem}_x{tile.x1}_y{tile.y1}"
            img_dir, lbl_dir = out / "images" / split, out / "labels" / split
            img_dir.mkdir(parents=True, exist_ok=True)
            lbl_dir.mkdir(parents=True, exist_ok=True)
            crop = pixels[tile.y1:tile.y2, tile.x1:tile.x2]
            if not cv2.imwrite(str(img_dir / f"{name}.jpg"), crop,
                               [cv2.IMWRITE_JPEG_QUALITY, options.quality]):
                raise OSError(f"cannot write {img_dir / name}.jpg")
            lines = [yolo_line(b, ids[b.class_name], tile.width, tile.height) for b in boxes]
            (lbl_dir / f"{name}.txt").write_text("".join(x + "\n" for x in lines), "utf-8")
            result.tiles[split] += 1
            result.boxes.update(b.class_name for b in boxes)
            manifest.append({"image": f"images/{split}/{name}.jpg",
                             "source": str(sample.image_path), "split": split,
                             "tile": [tile.x1, tile.y1, tile.x2, tile.y2], "boxes": len(boxes)})
    splits = sorted(result.tiles) or ["train"]
    (out / "data.yaml").write_text(data_yaml_text(names, splits), encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return result
