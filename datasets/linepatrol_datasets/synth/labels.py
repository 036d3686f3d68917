"""Boxes from the rendered instance-id mask, and YOLO label files.

Rule (one place): an object's box is the tight box of the pixels where it is the *front-most*
surface in the frame (the id pass renders without anti-aliasing, so every pixel belongs to
exactly one object). Occluded and off-frame parts therefore never widen a box. An object is
labelled when at least ``MIN_PIXELS`` of it are visible and its box is at least ``MIN_SIDE``
pixels on each side; smaller remnants (a crane hidden behind a tower, a nest one pixel wide
at 150 m) are left out, as a human labeller would leave them out.

Coordinates: boxes are in pixel-edge coordinates (pixel i spans [i, i+1)), the convention of
YOLO labels; a pinhole projection u (pixel centres on integers) maps to u + 0.5 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linepatrol.taxonomy import CLASSES

MIN_PIXELS = 12
MIN_SIDE = 3
CLASS_IDS = {c.key: i for i, c in enumerate(CLASSES)}


@dataclass(frozen=True)
class Box:
    instance_id: int
    key: str
    x0: int  # inclusive pixel-edge coordinates: [x0, x1) x [y0, y1)
    y0: int
    x1: int
    y1: int
    pixels: int

    def yolo_line(self, width: int, height: int) -> str:
        cx = (self.x0 + self.x1) / 2 / width
        cy = (self.y0 + self.y1) / 2 / height
        w = (self.x1 - self.x0) / width
        h = (self.y1 - self.y0) / height
        return f"{CLASS_IDS[self.key]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def boxes_from_ids(ids: np.ndarray, keys: dict[int, str], min_pixels: int = MIN_PIXELS,
                   min_side: int = MIN_SIDE) -> list[Box]:
    """Boxes of the instances ``keys`` (id -> taxonomy key) visible in the id mask."""
    w = ids.shape[1]
    flat = ids.ravel()
    wanted = np.fromiter(keys, dtype=np.uint32, count=len(keys))
    idx = np.flatnonzero(np.isin(flat, wanted))
    if idx.size == 0:
        return []
    vals = flat[idx]
    order = np.argsort(vals, kind="stable")
    vals, idx = vals[order], idx[order]
    starts = np.flatnonzero(np.r_[True, vals[1:] != vals[:-1]])
    rows, cols = idx // w, idx % w
    out = []
    for s, e in zip(starts, np.r_[starts[1:], len(vals)], strict=True):
        r, c = rows[s:e], cols[s:e]
        box = Box(int(vals[s]), keys[int(vals[s])], int(c.min()), int(r.min()),
                  int(c.max()) + 1, int(r.max()) + 1, int(e - s))
        if box.pixels >= min_pixels and min(box.x1 - box.x0, box.y1 - box.y0) >= min_side:
            out.append(box)
    return out


def write_yolo(path: Path, boxes: list[Box], width: int, height: int) -> None:
    path.write_text("".join(b.yolo_line(width, height) + "\n" for b in boxes))


def write_data_yaml(root: Path) -> None:
    """``data.yaml`` naming every taxonomy key, so class ids are the same in every dataset.

    No ``path:`` key: ultralytics then resolves ``images`` next to the YAML, so the folder can
    be moved and two runs with one seed give identical files."""
    names = "\n".join(f"  {i}: {c.key}" for i, c in enumerate(CLASSES))
    root.joinpath("data.yaml").write_text(
        "# LinePatrol synthetic scenes; class names are LinePatrol taxonomy keys.\n"
        f"train: images\nval: images\nnames:\n{names}\n")
