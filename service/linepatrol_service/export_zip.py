"""A training export as a zip archive: the photos of an :mod:`~.export_plan` at full resolution
and their labels in YOLO, COCO or Label Studio form.

The archive is written to a file (photos copied from the store in chunks, never all in memory)
named by a hash of everything in it, and served from there (``FileResponse``: HTTP ``Range``
and ``If-Range`` on that hash as its ETag). The same export asked again — a download resumed
after a broken connection, or ``linepatrol data export-reviewed`` run again — gets the very
same bytes without building them again; a review in between changes the hash, so a resumed
download of stale bytes is refused by ``If-Range`` and starts over. Archives are kept for
:data:`KEEP_S` after they were built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from linepatrol import taxonomy
from linepatrol_datasets.model import Box
from linepatrol_datasets.yolo_writer import data_yaml_text, yolo_line
from linepatrol_service.export_plan import ExportPhoto, LabelBox

ARCHIVE_VERSION = 1  # part of every archive's hash: a change of layout builds them again
KEEP_S = 24 * 3600
CHUNK = 1024 * 1024
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same content gives the same bytes
NAMES: tuple[str, ...] = tuple(c.key for c in taxonomy.CLASSES)  # class ids, taxonomy order


class ExportFormat(StrEnum):
    YOLO = "yolo"  # data.yaml, images/, labels/*.txt (ultralytics)
    COCO = "coco"  # annotations.json, images/
    LABELSTUDIO = "labelstudio"  # tasks.json (+ label_config.xml), images/


@dataclass(frozen=True)
class Entry:
    """One file of the archive: text made here, or a photo copied from the store."""

    name: str
    digest: str  # SHA-256 of the content
    text: bytes | None = None
    photo: Path | None = None


@dataclass(frozen=True)
class Archive:
    path: Path
    key: str  # the hash of the content: the ETag
    photos: int


def _text(name: str, text: str) -> Entry:
    data = text.encode("utf-8")
    return Entry(name, hashlib.sha256(data).hexdigest(), text=data)


def _json(name: str, value: Any) -> Entry:
    return _text(name, json.dumps(value, indent=1, ensure_ascii=False) + "\n")


def _photo_entries(photos: Sequence[ExportPhoto], path_for: Callable[[str], Path]) -> list[Entry]:
    return [Entry(f"images/{p.file_name}", p.sha256, photo=path_for(p.sha256)) for p in photos]


def _manifest(photos: Sequence[ExportPhoto]) -> Entry:
    """Where each photo came from and what its labels are made of (as ``linepatrol data
    convert`` writes one: ``image``, ``source``, ``boxes``)."""
    return _json("manifest.json", [{
        "image": f"images/{p.file_name}", "source": f"image {p.image_id} of flight {p.flight_id}",
        "image_id": p.image_id, "flight_id": p.flight_id, "sha256": p.sha256,
        "boxes": len(p.positives),
        "negative": p.labelled and not p.reviewed,
        "corrected": sum(1 for b in p.positives if b.origin == "corrected"),
        "drawn": sum(1 for b in p.positives if b.origin == "drawn"),
        "components": sum(1 for b in p.positives if b.origin == "component"),
        "rejected": p.rejected, "unreviewed": len(p.pending),
    } for p in photos])


def _yolo(photos: Sequence[ExportPhoto]) -> list[Entry]:
    ids = {name: i for i, name in enumerate(NAMES)}
    labels = []
    for p in photos:
        lines = [yolo_line(Box(b.class_key, *b.xyxy), ids[b.class_key], p.width, p.height)
                 for b in p.positives]
        labels.append(_text(f"labels/{p.stem}.txt", "".join(line + "\n" for line in lines)))
    return [_text("data.yaml", data_yaml_text(NAMES, ())), *labels]


def _coco(photos: Sequence[ExportPhoto]) -> list[Entry]:
    ids = {name: i + 1 for i, name in enumerate(NAMES)}
    annotations: list[dict[str, Any]] = []
    for p in photos:
        for b in p.positives:
            x1, y1, x2, y2 = b.xyxy
            w, h = round(x2 - x1, 3), round(y2 - y1, 3)
            annotations.append({
                "id": len(annotations) + 1, "image_id": p.image_id,
                "category_id": ids[b.class_key], "bbox": [x1, y1, w, h],
                "area": round(w * h, 3), "iscrowd": 0,
                "defect_id": b.defect_id, "origin": str(b.origin)})
    return [_json("annotations.json", {
        "info": {"description": "LinePatrol reviewed photos", "version": str(ARCHIVE_VERSION)},
        "images": [{"id": p.image_id, "file_name": f"images/{p.file_name}", "width": p.width,
                    "height": p.height} for p in photos],
        "annotations": annotations,
        "categories": [{"id": ids[c.key], "name": c.key, "supercategory": c.category.value}
                       for c in taxonomy.CLASSES],
    })]


def _ls_result(p: ExportPhoto, b: LabelBox, score: bool) -> dict[str, Any]:
    x1, y1, x2, y2 = b.xyxy
    result: dict[str, Any] = {
        "id": (f"d{b.defect_id}_i{p.image_id}" if b.defect_id is not None
               else f"c{abs(hash(b.xyxy))}_i{p.image_id}"),
        "type": "rectanglelabels",
        "from_name": "label", "to_name": "image", "original_width": p.width,
        "original_height": p.height, "image_rotation": 0,
        "value": {"x": 100 * x1 / p.width, "y": 100 * y1 / p.height,
                  "width": 100 * (x2 - x1) / p.width, "height": 100 * (y2 - y1) / p.height,
                  "rotation": 0, "rectanglelabels": [b.class_key]},
    }
    if score:
        result["score"] = b.confidence
    return result


LABEL_CONFIG = "\n".join([
    "<View>", '  <Image name="image" value="$image"/>',
    '  <RectangleLabels name="label" toName="image">',
    *(f'    <Label value="{c.key}" hint="{c.en} {c.zh}"/>' for c in taxonomy.CLASSES),
    "  </RectangleLabels>", "</View>", ""])


def _labelstudio(photos: Sequence[ExportPhoto]) -> list[Entry]:
    """One task per photo: the review as its annotation (an empty result: a negative), the
    unreviewed items as predictions (pre-annotations for the labeller)."""
    tasks = []
    for p in photos:
        task: dict[str, Any] = {
            "data": {"image": f"images/{p.file_name}", "image_id": p.image_id,
                     "flight_id": p.flight_id}}
        if p.labelled:
            task["annotations"] = [{"result": [_ls_result(p, b, False) for b in p.positives]}]
        if p.pending:
            task["predictions"] = [{
                "model_version": "linepatrol",
                "score": min(b.confidence for b in p.pending),
                "result": [_ls_result(p, b, True) for b in p.pending]}]
        tasks.append(task)
    return [_json("tasks.json", tasks), _text("label_config.xml", LABEL_CONFIG)]


def entries(photos: Sequence[ExportPhoto], fmt: ExportFormat,
            path_for: Callable[[str], Path]) -> list[Entry]:
    """The archive's files. YOLO and COCO take the labelled photos only (Label Studio also
    those with only unreviewed items: it shows them as pre-annotations)."""
    if fmt != ExportFormat.LABELSTUDIO:
        photos = [p for p in photos if p.labelled]
    labels = {ExportFormat.YOLO: _yolo, ExportFormat.COCO: _coco,
              ExportFormat.LABELSTUDIO: _labelstudio}[fmt](photos)
    return [*labels, _manifest(photos), *_photo_entries(photos, path_for)]


def _write(items: Sequence[Entry], out: Path) -> None:
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        for e in items:
            info = zipfile.ZipInfo(e.name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            if e.photo is not None:  # photos are compressed already
                info.compress_type = zipfile.ZIP_STORED
                info.file_size = e.photo.stat().st_size
                with e.photo.open("rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, e.text or b"")


def sweep(root: Path, now: float | None = None) -> None:
    """Remove archives (and abandoned partial ones) built more than :data:`KEEP_S` ago."""
    limit = (now if now is not None else time.time()) - KEEP_S
    for path in root.glob("*.zip*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:  # another request swept it
            pass


def build(photos: Sequence[ExportPhoto], fmt: ExportFormat, path_for: Callable[[str], Path],
          root: Path) -> Archive:
    """The archive of ``photos`` in ``fmt`` under ``root``, built unless one with the same
    content is there already."""
    items = entries(photos, fmt, path_for)
    key = hashlib.sha256(json.dumps(
        [ARCHIVE_VERSION, [(e.name, e.digest) for e in items]]).encode()).hexdigest()
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{key}.zip"
    count = sum(1 for e in items if e.photo is not None)
    if path.is_file():
        os.utime(path)  # asked again: kept for another KEEP_S
        return Archive(path, key, count)
    sweep(root)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f"{key}.zip.", suffix=".part")
    os.close(fd)
    try:
        _write(items, Path(tmp))
        os.replace(tmp, path)  # atomic: a concurrent request serves a whole archive or builds
    finally:
        Path(tmp).unlink(missing_ok=True)
    return Archive(path, key, count)
