"""Readers: one per label format, all returning :class:`linepatrol_datasets.model.Dataset`."""

from __future__ import annotations

from pathlib import Path

from linepatrol_datasets.model import Dataset
from linepatrol_datasets.readers.common import DEFAULT_OPTIONS, ReadOptions

FORMATS: dict[str, str] = {
    "voc": "Pascal VOC XML, one file per image or one per class per image (CPLID); "
    "images found next to the XML or in an images/ or JPEGImages/ folder above it",
    "coco": "COCO detection JSON (SRC is the .json file; images relative to --images, "
    "default: the JSON's folder)",
    "yolo": "YOLO txt (ultralytics layout images/... + labels/...; names from data.yaml or "
    "classes.txt); an existing train/val split is kept",
    "labelme": "LabelMe JSON, one per image (rectangles and polygons; polygons become their "
    "bounding box)",
}


def read_dataset(
    fmt: str, src: Path, options: ReadOptions = DEFAULT_OPTIONS, images: Path | None = None
) -> Dataset:
    """Read ``src`` in format ``fmt`` (a key of :data:`FORMATS`); readers import lazily."""
    if fmt == "voc":
        from linepatrol_datasets.readers.voc import read_voc

        return read_voc(src, options)
    if fmt == "coco":
        from linepatrol_datasets.readers.coco import read_coco

        return read_coco(src, images, options)
    if fmt == "yolo":
        from linepatrol_datasets.readers.yolo import read_yolo

        return read_yolo(src, options)
    if fmt == "labelme":
        from linepatrol_datasets.readers.labelme import read_labelme

        return read_labelme(src, options)
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
