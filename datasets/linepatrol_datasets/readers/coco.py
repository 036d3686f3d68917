"""COCO detection JSON: ``images``, ``annotations`` (``bbox`` = x, y, width, height in pixels),
``categories``.

An image listed with no annotations is an explicit background image and is kept. A crowd
annotation (``iscrowd: 1``) marks a region of many objects, not one object, so it is reported
and skipped, as ultralytics' own COCO converter does. Problems
with one annotation (no such image or category, malformed bbox) are reported and skipped;
a file that is not COCO JSON at all is a ``ValueError``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linepatrol_datasets.model import Dataset, Issue, IssueKind, Sample
from linepatrol_datasets.readers.common import (
    DEFAULT_OPTIONS,
    ImageIndex,
    ReadOptions,
    unlabelled_samples,
)
from linepatrol_datasets.validate import RawBox, check_declared_size, clean_boxes, image_size


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ValueError(f"{path} is not a COCO file (no 'images' list)")
    return data


def read_coco(
    json_path: Path, images_root: Path | None = None, options: ReadOptions = DEFAULT_OPTIONS
) -> Dataset:
    data = _load(json_path)
    root = images_root or json_path.parent
    issues: list[Issue] = []
    categories = {c.get("id"): str(c.get("name")) for c in data.get("categories") or []
                  if isinstance(c, dict)}
    images: dict[Any, dict[str, Any]] = {}
    for entry in data["images"]:
        if isinstance(entry, dict) and "id" in entry and entry.get("file_name"):
            images[entry["id"]] = entry
        else:
            issues.append(Issue(json_path, IssueKind.UNREADABLE_LABEL,
                                f"image entry without id or file_name: {entry!r:.80}"))
    raw: dict[Any, list[RawBox]] = {key: [] for key in images}
    for ann in data.get("annotations") or []:
        ann_id = ann.get("id") if isinstance(ann, dict) else None
        if not isinstance(ann, dict) or ann.get("image_id") not in images:
            issues.append(Issue(json_path, IssueKind.LABEL_WITHOUT_IMAGE,
                                f"annotation {ann_id} refers to no listed image"))
            continue
        where = root / str(images[ann["image_id"]]["file_name"])
        if ann.get("category_id") not in categories:
            issues.append(Issue(where, IssueKind.UNKNOWN_CLASS,
                                f"annotation {ann_id}: no category {ann.get('category_id')!r}"))
            continue
        if ann.get("iscrowd"):
            issues.append(Issue(where, IssueKind.UNSUPPORTED_SHAPE,
                                f"annotation {ann_id}: crowd region (iscrowd=1) skipped"))
            continue
        bbox = ann.get("bbox")
        try:
            x, y, w, h = (float(v) for v in bbox)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            issues.append(Issue(where, IssueKind.UNREADABLE_LABEL,
                                f"annotation {ann_id}: bbox {bbox!r} is not [x, y, w, h]"))
            continue
        raw[ann["image_id"]].append((categories[ann["category_id"]], x, y, x + w, y + h))

    samples: list[Sample] = []
    used: set[Path] = set()
    for key, entry in images.items():
        path = root / str(entry["file_name"])
        used.add(path)
        size = image_size(path, json_path, issues)
        if size is None:
            continue
        declared = (int(entry.get("width") or 0), int(entry.get("height") or 0))
        check_declared_size(declared, size, path, issues)
        boxes = clean_boxes(raw[key], size[0], size[1], path, issues, options.tolerance)
        samples.append(Sample(path, size[0], size[1], boxes, (json_path,)))
    if root.is_dir():
        samples += unlabelled_samples(ImageIndex(root), used, options, issues)
    samples.sort(key=lambda s: s.image_path)
    names = [categories[k] for k in sorted(categories, key=str)]
    return Dataset(samples, issues, root, names)
