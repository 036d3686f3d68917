"""YOLO-layout datasets as ultralytics reads them: ``data.yaml``, image lists, label files.

Only what training and evaluation need: find the data.yaml, read its class names, and list a
split's images with their label files (``.../images/...`` -> ``.../labels/...*.txt``, the
ultralytics convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from linepatrol_datasets.readers.yolo import label_path_for

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


class DatasetError(ValueError):
    """The dataset is missing, malformed, or not in the YOLO layout."""


@dataclass(frozen=True)
class YoloDataset:
    yaml_path: Path
    root: Path
    names: tuple[str, ...]
    splits: dict[str, Any]

    def images(self, split: str) -> list[Path]:
        """The image files of a split (a folder, a list file, or a list of either)."""
        if split not in self.splits or self.splits[split] in (None, ""):
            raise DatasetError(f"{self.yaml_path}: no '{split}' split")
        entries = self.splits[split]
        entries = entries if isinstance(entries, list) else [entries]
        found: list[Path] = []
        for entry in entries:
            p = Path(entry)
            p = p if p.is_absolute() else self.root / p
            if p.is_dir():
                found += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
            elif p.is_file() and p.suffix == ".txt":
                for line in p.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        q = Path(line.strip())
                        found.append(q if q.is_absolute() else (p.parent / q).resolve())
            else:
                raise DatasetError(f"{self.yaml_path}: split '{split}' path {p} does not exist")
        return found


# Where ultralytics looks for an image's labels: one rule, kept by the dataset tools.
label_path = label_path_for


def read_labels(path: Path, width: int, height: int) -> tuple[npt.NDArray[np.float32],
                                                              npt.NDArray[np.int64]]:
    """A YOLO label file -> (xyxy boxes in pixels, class ids); a missing file = no objects."""
    if not path.is_file():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    if any(len(r) != 5 for r in rows):
        raise DatasetError(f"{path}: each line must be 'class cx cy w h' (detection labels)")
    arr = np.asarray(rows, dtype=np.float64)
    cx, cy, w, h = arr[:, 1] * width, arr[:, 2] * height, arr[:, 3] * width, arr[:, 4] * height
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return xyxy, arr[:, 0].astype(np.int64)


def find_data_yaml(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        for name in ("data.yaml", "dataset.yaml", "data.yml"):
            if (path / name).is_file():
                return path / name
        raise DatasetError(f"{path}: no data.yaml in this folder (expected the YOLO layout)")
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file or folder")
    return path


def load_dataset(path: Path) -> YoloDataset:
    """Read a YOLO dataset from its folder or its data.yaml."""
    yaml_path = find_data_yaml(path)
    try:
        raw = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DatasetError(f"{yaml_path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict) or "names" not in raw:
        raise DatasetError(f"{yaml_path}: no 'names' (class list)")
    names_raw = raw["names"]
    if isinstance(names_raw, dict):
        items = sorted((int(k), str(v)) for k, v in names_raw.items())
        if [k for k, _ in items] != list(range(len(items))):
            raise DatasetError(f"{yaml_path}: class indices are not 0..n-1")
        names = tuple(v for _, v in items)
    elif isinstance(names_raw, list):
        names = tuple(str(v) for v in names_raw)
    else:
        raise DatasetError(f"{yaml_path}: 'names' must be a list or a mapping")
    base = yaml_path.parent
    root = Path(raw["path"]) if raw.get("path") else base
    root = root if root.is_absolute() else (base / root).resolve()
    splits = {k: raw.get(k) for k in ("train", "val", "test")}
    return YoloDataset(yaml_path=yaml_path.resolve(), root=root, names=names, splits=splits)


def instance_counts(dataset: YoloDataset, split: str) -> tuple[int, np.ndarray]:
    imgs = dataset.images(split)
    counts = np.zeros(len(dataset.names), dtype=int)
    for p in imgs:
        lp = label_path(p)
        if lp.is_file():
            for line in lp.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    counts[int(float(line.split()[0]))] += 1
    return len(imgs), counts
