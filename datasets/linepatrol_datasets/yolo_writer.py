"""Write the ultralytics YOLO layout::

    OUT/data.yaml                 names: {0: insulator, 1: insulator_missing_cap}, train/val
    OUT/images/{train,val}/x.jpg  copies (or links) of the source images
    OUT/labels/{train,val}/x.txt  one line per box: class_id cx cy w h, normalised to [0, 1]
    OUT/manifest.json             output name -> source image, label files, split, group

``data.yaml`` has no ``path:`` key on purpose: ultralytics then takes the folder of the YAML
file as the dataset root, so the folder can be moved or copied to another machine.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from linepatrol_datasets.model import Box, Sample

LinkMode = Literal["copy", "symlink", "hardlink"]
OUR_ENTRIES = ("images", "labels", "data.yaml", "manifest.json", "report.json", "READY")


class OutputExistsError(FileExistsError):
    pass


@dataclass(frozen=True)
class WriteResult:
    out: Path
    data_yaml: Path
    images: dict[str, int]


def yolo_line(box: Box, class_id: int, width: int, height: int) -> str:
    cx = (box.x1 + box.x2) / 2 / width
    cy = (box.y1 + box.y2) / 2 / height
    return f"{class_id} {cx:.6f} {cy:.6f} {box.width / width:.6f} {box.height / height:.6f}"


def unique_names(paths: Sequence[Path], root: Path | None) -> list[str]:
    """Output file names: the source file name, or, where two sources share a name, the path
    below the dataset root joined with ``__`` (readable and traceable back to the source)."""
    counts: dict[str, int] = {}
    for p in paths:
        counts[p.name.lower()] = counts.get(p.name.lower(), 0) + 1
    names = []
    for p in paths:
        if counts[p.name.lower()] == 1:
            names.append(p.name)
            continue
        try:
            rel = p.relative_to(root) if root else p
        except ValueError:
            rel = p
        names.append("__".join(part for part in rel.parts if part not in ("/", "")))
    if len({n.lower() for n in names}) != len(names):  # pragma: no cover - needs equal paths
        raise ValueError("image paths are not unique")
    return names


def prepare_out(out: Path, overwrite: bool) -> None:
    """Refuse to mix a new dataset into an old one; with ``overwrite`` remove only what this
    writer creates (never other files the user keeps there)."""
    present = [e for e in OUR_ENTRIES if (out / e).exists()]
    if present and not overwrite:
        raise OutputExistsError(
            f"{out} already holds a dataset ({', '.join(present)}); pass --overwrite to replace it"
        )
    for entry in present:
        target = out / entry
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _place(src: Path, dst: Path, mode: LinkMode) -> None:
    if mode == "symlink":
        dst.symlink_to(src.resolve())
    elif mode == "hardlink":
        try:
            os.link(src, dst)
        except OSError:  # another file system, or links not allowed: copy instead
            shutil.copy2(src, dst)
    else:
        shutil.copy2(src, dst)


def write_yolo(
    samples: Sequence[Sample],
    out: Path,
    names: Sequence[str],
    *,
    root: Path | None = None,
    link: LinkMode = "copy",
    overwrite: bool = False,
    extra_manifest: Sequence[dict[str, Any]] | None = None,
) -> WriteResult:
    """Write samples (each with ``split`` set; ``None`` counts as train) as a YOLO dataset.

    ``names`` are the class keys in class-id order; a box of any other class is a bug upstream
    (mapping runs first), so it raises instead of writing a wrong id.
    """
    ids = {name: i for i, name in enumerate(names)}
    prepare_out(out, overwrite)
    file_names = unique_names([s.image_path for s in samples], root)
    counts: dict[str, int] = {}
    manifest = []
    for index, (sample, file_name) in enumerate(zip(samples, file_names, strict=True)):
        split = sample.split or "train"
        img_dir, lbl_dir = out / "images" / split, out / "labels" / split
        img_dir.mkdir(parents=True, exist_ok=True)
        lbl_dir.mkdir(parents=True, exist_ok=True)
        _place(sample.image_path, img_dir / file_name, link)
        lines = [yolo_line(b, ids[b.class_name], sample.width, sample.height) for b in sample.boxes]
        label = lbl_dir / (Path(file_name).stem + ".txt")
        label.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        counts[split] = counts.get(split, 0) + 1
        entry: dict[str, Any] = {
            "image": f"images/{split}/{file_name}",
            "source": str(sample.image_path),
            "labels": [str(p) for p in sample.label_paths],
            "split": split,
            "boxes": len(sample.boxes),
        }
        if extra_manifest is not None:
            entry.update(extra_manifest[index])
        manifest.append(entry)
    splits = sorted(counts) or ["train"]
    data_yaml = out / "data.yaml"
    data_yaml.write_text(data_yaml_text(names, splits), encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return WriteResult(out, data_yaml, counts)


def data_yaml_text(names: Sequence[str], splits: Sequence[str]) -> str:
    """``data.yaml`` of a dataset split into ``images/<split>`` folders; ``splits`` empty: one
    flat ``images/`` folder that is both train and val (an export of reviewed photos, which
    the user splits with ``linepatrol data convert``)."""
    lines = ["# Written by `linepatrol data`; class keys from linepatrol.taxonomy.",
             "# No `path:` key: the dataset root is this file's folder."]
    if not splits:
        train = val = "images"
    else:
        train = "images/train" if "train" in splits else f"images/{splits[0]}"
        val = "images/val" if "val" in splits else train
    lines += [f"train: {train}", f"val: {val}"]
    if "test" in splits:
        lines.append("test: images/test")
    lines.append("names:")
    lines += [f"  {i}: {name}" for i, name in enumerate(names)]
    return "\n".join(lines) + "\n"
