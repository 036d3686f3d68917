"""LabelMe JSON: one file per image with ``imagePath``, ``imageWidth``/``imageHeight`` and
``shapes`` (``label``, ``points``, ``shape_type``).

Detection needs boxes: a rectangle is its two corners, a polygon its bounding box, a circle
its centre and a point on its rim. Points, lines and line strips have no area and are
reported as ``unsupported_shape``.
"""

from __future__ import annotations

import json
import math
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


class _BadShape(ValueError):
    pass


def shape_box(shape: dict[str, Any]) -> tuple[float, float, float, float]:
    """The bounding box of one LabelMe shape; ``_BadShape`` when it has no area by nature."""
    kind = shape.get("shape_type") or "polygon"  # LabelMe < 3 wrote no shape_type
    try:
        points = [(float(p[0]), float(p[1])) for p in shape["points"]]
    except (KeyError, TypeError, ValueError, IndexError):
        raise _BadShape(f"shape {shape.get('label')!r} has unreadable points") from None
    if kind == "circle" and len(points) == 2:
        (cx, cy), (px, py) = points
        r = math.hypot(px - cx, py - cy)
        return cx - r, cy - r, cx + r, cy + r
    if (kind == "rectangle" and len(points) == 2) or (kind == "polygon" and len(points) >= 3):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return min(xs), min(ys), max(xs), max(ys)
    raise _BadShape(f"shape {shape.get('label')!r} of type {kind!r} with {len(points)} points "
                    "is not a box, polygon or circle; ignored")


def read_labelme(root: Path, options: ReadOptions = DEFAULT_OPTIONS) -> Dataset:
    index = ImageIndex(root)
    issues: list[Issue] = []
    samples: list[Sample] = []
    used: set[Path] = set()
    for path in sorted(root.rglob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            shapes = doc["shapes"]
            if not isinstance(shapes, list):
                raise TypeError("'shapes' is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            issues.append(Issue(path, IssueKind.UNREADABLE_LABEL,
                                f"not LabelMe JSON ({exc}); its image is skipped"))
            same_name = index.find_near(path, [path.stem])
            if same_name is not None:  # broken label: never mistaken for a background image
                used.add(same_name)
            continue
        image_ref = str(doc.get("imagePath") or "").replace("\\", "/")
        image = (path.parent / image_ref).resolve() if image_ref else None
        if image is None or not image.is_file():
            image = index.find_near(path, [path.stem, Path(image_ref).name])
        if image is None:
            issues.append(Issue(path, IssueKind.LABEL_WITHOUT_IMAGE,
                                f"image {image_ref or path.stem + '.*'} not found"))
            continue
        size = image_size(image, path, issues)
        if size is None:
            continue
        used.add(image)
        declared = (int(doc.get("imageWidth") or 0), int(doc.get("imageHeight") or 0))
        check_declared_size(declared, size, path, issues)
        raw: list[RawBox] = []
        for shape in shapes:
            try:
                raw.append((str(shape.get("label", "")).strip(), *shape_box(shape)))
            except _BadShape as exc:
                issues.append(Issue(path, IssueKind.UNSUPPORTED_SHAPE, str(exc)))
            except AttributeError:
                issues.append(Issue(path, IssueKind.UNREADABLE_LABEL, f"shape {shape!r:.60}"))
        boxes = clean_boxes(raw, size[0], size[1], path, issues, options.tolerance)
        samples.append(Sample(image, size[0], size[1], boxes, (path,)))
    samples += unlabelled_samples(index, used, options, issues)
    samples.sort(key=lambda s: s.image_path)
    return Dataset(samples, issues, root)
