"""YOLO txt labels in the ultralytics layout.

``SRC/images/<split>/x.jpg`` goes with ``SRC/labels/<split>/x.txt`` (the last ``images``
folder of the path replaced by ``labels``, as ultralytics does); a ``.txt`` next to the image
is accepted too. Each line is ``class_id cx cy w h`` normalised to 0..1, or ``class_id x1 y1
x2 y2 ...`` (a segment; its bounding box is used). Class names come from ``SRC/data.yaml``
(``names:`` list or ``{id: name}``) or ``SRC/classes.txt`` (one per line); without either, the
names are the ids ("0", "1", ...) and a mapping file must name them. The split folder
(``train``/``val``/``test``) is kept as the sample's split. Every image under SRC is read;
``train:``/``val:`` entries of data.yaml that point elsewhere are not followed. A ``.txt``
under a ``labels`` folder with no image is reported (other .txt files may be notes).
"""

from __future__ import annotations

from pathlib import Path

from linepatrol_datasets.model import Dataset, Issue, IssueKind, Sample
from linepatrol_datasets.readers.common import (
    DEFAULT_OPTIONS,
    ImageIndex,
    ReadOptions,
    unlabelled_samples,
)
from linepatrol_datasets.validate import RawBox, clean_boxes, image_size

SPLITS = ("train", "val", "test")


def class_names(root: Path) -> list[str] | None:
    """Names from data.yaml or classes.txt; ``None`` when neither exists."""
    for candidate in (root / "data.yaml", root / "dataset.yaml"):
        if candidate.is_file():
            import yaml

            try:
                data = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"{candidate}: not valid YAML: {exc}") from None
            names = data.get("names") if isinstance(data, dict) else None
            if isinstance(names, list):
                return [str(n) for n in names]
            if isinstance(names, dict):
                try:
                    ids = sorted(int(k) for k in names)
                except ValueError:
                    raise ValueError(f"{candidate}: names keys must be class ids") from None
                if ids != list(range(len(ids))):
                    raise ValueError(f"{candidate}: class ids must be 0..{len(ids) - 1}")
                return [str(names[i] if i in names else names[str(i)]) for i in ids]
            raise ValueError(f"{candidate} has no 'names:' list or mapping")
    classes = root / "classes.txt"
    if classes.is_file():
        return [line.strip() for line in classes.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    return None


def label_path_for(image: Path) -> Path:
    """ultralytics' rule: the last ``images`` folder of the path becomes ``labels``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def split_of(image: Path, root: Path) -> str | None:
    rel = image.relative_to(root).parts if root in image.parents else image.parts
    for part in rel[:-1]:
        if part in SPLITS:
            return part
    return None


def parse_lines(
    text: str, names: list[str] | None, width: int, height: int, label: Path, issues: list[Issue]
) -> list[RawBox]:
    """Pixel boxes from a YOLO label file's text; bad lines are reported and skipped."""
    raw: list[RawBox] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            class_id = int(fields[0])
            values = [float(v) for v in fields[1:]]
        except ValueError:
            issues.append(Issue(label, IssueKind.UNREADABLE_LABEL, f"line {number}: {line!r}"))
            continue
        if len(values) == 4:
            cx, cy, w, h = values
            x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        elif len(values) >= 6 and len(values) % 2 == 0:  # a segment: use its bounding box
            xs, ys = values[0::2], values[1::2]
            x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        else:
            issues.append(Issue(label, IssueKind.UNREADABLE_LABEL,
                                f"line {number}: expected 'class cx cy w h', got {line!r}"))
            continue
        if names is not None and not 0 <= class_id < len(names):
            issues.append(Issue(
                label, IssueKind.UNKNOWN_CLASS,
                f"line {number}: class id {class_id} is not in 0..{len(names) - 1}",
            ))
            continue
        name = names[class_id] if names is not None else str(class_id)
        raw.append((name, x1 * width, y1 * height, x2 * width, y2 * height))
    return raw


def read_yolo(root: Path, options: ReadOptions = DEFAULT_OPTIONS) -> Dataset:
    names = class_names(root)
    index = ImageIndex(root)
    issues: list[Issue] = []
    samples: list[Sample] = []
    used: set[Path] = set()
    claimed_labels: set[Path] = set()
    for image in index.paths:
        label = label_path_for(image)
        if not label.is_file():
            label = image.with_suffix(".txt")
            if not label.is_file():
                continue  # reported below as an image without a label
        claimed_labels.add(label)
        used.add(image)
        size = image_size(image, label, issues)
        if size is None:
            continue
        try:
            text = label.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(label, IssueKind.UNREADABLE_LABEL, str(exc)))
            continue
        raw = parse_lines(text, names, size[0], size[1], label, issues)
        boxes = clean_boxes(raw, size[0], size[1], label, issues, options.tolerance)
        samples.append(Sample(image, size[0], size[1], boxes, (label,), split_of(image, root)))
    for label in sorted(root.rglob("*.txt")):
        if label in claimed_labels or label.name == "classes.txt" or "labels" not in label.parts:
            continue
        issues.append(Issue(label, IssueKind.LABEL_WITHOUT_IMAGE, "no image with this name"))
    samples += unlabelled_samples(index, used, options, issues)
    samples.sort(key=lambda s: s.image_path)
    return Dataset(samples, issues, root, names or [])
