"""Tiny datasets written by the tests themselves: real image files (cv2) and real label files
in each format, small enough that every test runs in well under a second."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

Obj = tuple[str, float, float, float, float]  # name, x1, y1, x2, y2 in pixels


def texture(seed: int, width: int, height: int) -> np.ndarray:
    """A smooth random colour texture (low-frequency noise upscaled), photo-like enough for a
    perceptual hash to be stable under JPEG and distinct between seeds."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def write_image(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def background(path: Path, seed: int, width: int = 128, height: int = 96) -> np.ndarray:
    pixels = texture(seed, width, height)
    write_image(path, pixels)
    return pixels


def paste(pixels: np.ndarray, patch: np.ndarray, x: int, y: int, mirror: bool = False) -> None:
    if mirror:
        patch = patch[:, ::-1]
    h, w = patch.shape[:2]
    pixels[y:y + h, x:x + w] = patch


def voc_xml(path: Path, filename: str, width: int, height: int, objects: Sequence[Obj]) -> Path:
    objs = "".join(
        f"<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{x1:g}</xmin>"
        f"<ymin>{y1:g}</ymin><xmax>{x2:g}</xmax><ymax>{y2:g}</ymax></bndbox></object>"
        for n, x1, y1, x2, y2 in objects
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<annotation><folder>images</folder><filename>{filename}</filename>"
        f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
        f"{objs}</annotation>",
        encoding="utf-8",
    )
    return path


def yolo_txt(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def labelme_json(path: Path, image_path: str, width: int, height: int,
                 shapes: Sequence[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "5.4.1", "shapes": list(shapes),
                                "imagePath": image_path, "imageData": None,
                                "imageWidth": width, "imageHeight": height}), encoding="utf-8")
    return path


# Defect patches of the CPLID-like set: patch id -> images it is pasted into (mirrored or not).
CPLID_PASTES = {
    "000": (0, False), "001": (0, True), "002": (0, False),  # one string, three backgrounds
    "003": (1, False), "004": (1, True),
    "005": (2, False),
}
PATCH_W, PATCH_H = 40, 24


def make_cplid_like(root: Path, normal: int = 4) -> Path:
    """CPLID's layout: Normal_Insulators/{images,labels} and Defective_Insulators/images with
    labels/insulator/*.xml and labels/defect/*.xml (one file per class per image)."""
    w, h = 128, 96
    for i in range(normal):
        name = f"{i:04d}"
        background(root / "Normal_Insulators/images" / f"{name}.jpg", 100 + i, w, h)
        voc_xml(root / "Normal_Insulators/labels" / f"{name}.xml", name, w, h,
                [("insulator", 10, 20, 110, 60)])
    patches = [texture(1000 + k, PATCH_W, PATCH_H) for k in range(3)]
    for k, (name, (patch_id, mirror)) in enumerate(sorted(CPLID_PASTES.items())):
        pixels = texture(200 + k, w, h)
        x, y = 20 + 8 * (k % 3), 30 + 4 * (k % 2)
        paste(pixels, patches[patch_id], x, y, mirror)
        write_image(root / "Defective_Insulators/images" / f"{name}.jpg", pixels)
        labels = root / "Defective_Insulators/labels"
        voc_xml(labels / "insulator" / f"{name}.xml", name, w, h,
                [("insulator", x - 10, y - 6, x + PATCH_W + 30, y + PATCH_H + 6)])
        voc_xml(labels / "defect" / f"{name}.xml", name, w, h,
                [("defect", x, y, x + PATCH_W, y + PATCH_H)])
    return root
