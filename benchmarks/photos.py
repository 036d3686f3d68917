"""Benchmark inputs made from real CPLID photos: small photos as they are, large ones built.

Large photos (5184x3888, 8192x5460, a 48 MP one for the memory line) are mosaics of real photos,
upscaled, with real small objects pasted at known random positions: missing caps (CPLID's
``defect`` labels) on the insulator string that carries them, at native size, and whole
insulator strings (CPLID's ``insulator`` labels) at half size — each with its ground-truth box,
so recall of the small objects can be measured for any method, per class. A missing cap is a
gap in a string: pasted alone, without its string, it is no longer what the model learned to
find (an earlier version did that, and no method found any). Nothing here is committed;
photos are written to a work folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from defusedxml import ElementTree

CPLID = Path("/work/shared/datasets/cplid")
JPEG_QUALITY = 90


class PhotoError(RuntimeError):
    """The photo source is missing or unusable."""


@dataclass(frozen=True)
class LabelledBox:
    image: Path
    xyxy: tuple[int, int, int, int]
    name: str  # the dataset's class name
    # What is pasted around the object (a missing cap's insulator string); None: the object
    context: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class LargePhoto:
    path: Path
    width: int
    height: int
    # pasted small objects per taxonomy class, photo pixels
    objects: dict[str, list[tuple[float, float, float, float]]]

    def as_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "width": self.width, "height": self.height,
                "objects": {k: [list(b) for b in v] for k, v in self.objects.items()}}


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.jpg"))


def cplid_photos(count: int, root: Path = CPLID) -> list[Path]:
    """``count`` real photos spread evenly over both CPLID folders (deterministic)."""
    files = _images(root / "Normal_Insulators" / "images") + _images(
        root / "Defective_Insulators" / "images")
    if not files:
        raise PhotoError(f"{root}: no CPLID photos (expected */images/*.jpg)")
    step = max(1, len(files) // max(1, count))
    picked = files[::step][:count]
    while len(picked) < count:  # fewer photos than asked: cycle (a flight repeats none in reality)
        picked.append(files[len(picked) % len(files)])
    return picked


def read_voc(xml: Path) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(class name, xyxy) of each object of a Pascal VOC file."""
    root = ElementTree.parse(str(xml)).getroot()
    out = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if bb is None or not name:
            continue
        box = tuple(int(float(bb.findtext(k) or 0)) for k in ("xmin", "ymin", "xmax", "ymax"))
        out.append((name, (box[0], box[1], box[2], box[3])))
    return out


def cplid_labels(image: Path, root: Path = CPLID) -> list[LabelledBox]:
    """All labelled objects of a CPLID photo (the defective folder keeps one XML per class)."""
    folder = image.parent.parent / "labels"
    xmls = [folder / f"{image.stem}.xml"] + [folder / sub / f"{image.stem}.xml"
                                             for sub in ("insulator", "defect")]
    boxes = []
    for xml in xmls:
        if xml.is_file():
            boxes += [LabelledBox(image, box, name) for name, box in read_voc(xml)]
    return boxes


def insulator_crops(root: Path = CPLID) -> list[LabelledBox]:
    """Every ``insulator`` box of CPLID's normal photos (whole strings, no defect)."""
    folder = root / "Normal_Insulators" / "labels"
    images = root / "Normal_Insulators" / "images"
    out = [LabelledBox(images / f"{xml.stem}.jpg", box, name)
           for xml in sorted(folder.glob("*.xml")) for name, box in read_voc(xml)
           if name == "insulator"]
    if not out:
        raise PhotoError(f"{folder}: no 'insulator' labels to paste")
    return out


def _covered(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> float:
    """Fraction of ``inner``'s area inside ``outer``."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return max(0, w) * max(0, h) / area if area > 0 else 0.0


def missing_cap_crops(root: Path = CPLID) -> list[LabelledBox]:
    """Every ``defect`` (missing cap) box of CPLID, with the ``insulator`` string that carries
    it as its context (the string box that covers most of the cap, at least half of it; caps
    without one are left out — in CPLID every cap has one)."""
    labels = root / "Defective_Insulators" / "labels"
    images = root / "Defective_Insulators" / "images"
    out = []
    for xml in sorted((labels / "defect").glob("*.xml")):
        strings_xml = labels / "insulator" / xml.name
        strings = ([b for n, b in read_voc(strings_xml) if n == "insulator"]
                   if strings_xml.is_file() else [])
        for name, cap in read_voc(xml):
            if name != "defect" or not strings:
                continue
            string = max(strings, key=lambda s: _covered(cap, s))
            if _covered(cap, string) < 0.5:
                continue
            context = (min(cap[0], string[0]), min(cap[1], string[1]),
                       max(cap[2], string[2]), max(cap[3], string[3]))
            out.append(LabelledBox(images / f"{xml.stem}.jpg", cap, name, context))
    if not out:
        raise PhotoError(f"{labels}: no 'defect' labels on 'insulator' strings to paste")
    return out


def _box(b: list[float]) -> tuple[float, float, float, float]:
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _read(path: Path) -> npt.NDArray[np.uint8]:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise PhotoError(f"{path}: unreadable photo")
    return np.asarray(img, np.uint8)


def mosaic(backgrounds: list[Path], width: int, height: int) -> npt.NDArray[np.uint8]:
    """A 2x2 mosaic of real photos upscaled to ``width`` x ``height`` (a plausible scene)."""
    canvas = np.empty((height, width, 3), np.uint8)
    xs, ys = [0, width // 2, width], [0, height // 2, height]
    k = 0
    for r in range(2):
        for c in range(2):
            cell = _read(backgrounds[k % len(backgrounds)])
            k += 1
            w, h = xs[c + 1] - xs[c], ys[r + 1] - ys[r]
            canvas[ys[r]:ys[r + 1], xs[c]:xs[c + 1]] = cv2.resize(
                cell, (w, h), interpolation=cv2.INTER_CUBIC)
    return canvas


def paste_objects(
    canvas: npt.NDArray[np.uint8], crops: list[LabelledBox], count: int, seed: int,
    margin: float = 0.5, scale: float = 1.0,
    taken: list[tuple[int, int, int, int]] | None = None,
) -> list[tuple[float, float, float, float]]:
    """Paste ``count`` crops (each object's context, or the object, with ``margin`` of its size
    around it, resized by ``scale``) at random places that overlap neither each other nor the
    areas in ``taken`` (which is extended with the pasted areas).

    Returns the pasted objects' boxes (the labelled box, not the context) in canvas pixels.
    """
    rng = np.random.default_rng(seed)
    h, w = canvas.shape[:2]
    taken = [] if taken is None else taken
    boxes: list[tuple[float, float, float, float]] = []
    cache: dict[Path, npt.NDArray[np.uint8]] = {}
    tries = 0
    while len(boxes) < count and tries < count * 50:
        tries += 1
        item = crops[int(rng.integers(len(crops)))]
        src = cache.setdefault(item.image, _read(item.image))
        x1, y1, x2, y2 = item.xyxy
        rx1, ry1, rx2, ry2 = item.context or item.xyxy
        mx, my = int((rx2 - rx1) * margin), int((ry2 - ry1) * margin)
        cx1, cy1 = max(0, rx1 - mx), max(0, ry1 - my)
        cx2, cy2 = min(src.shape[1], rx2 + mx), min(src.shape[0], ry2 + my)
        patch = src[cy1:cy2, cx1:cx2]
        if scale != 1.0:
            patch = np.asarray(cv2.resize(patch, (max(1, round(patch.shape[1] * scale)),
                                                  max(1, round(patch.shape[0] * scale))),
                                          interpolation=cv2.INTER_AREA), dtype=np.uint8)
        ph, pw = patch.shape[:2]
        if pw >= w or ph >= h or pw < 4 or ph < 4:
            continue
        px, py = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
        cand = (px, py, px + pw, py + ph)
        if any(not (cand[2] <= t[0] or cand[0] >= t[2] or cand[3] <= t[1] or cand[1] >= t[3])
               for t in taken):
            continue
        canvas[py:py + ph, px:px + pw] = patch
        taken.append(cand)
        boxes.append((px + (x1 - cx1) * scale, py + (y1 - cy1) * scale,
                      px + (x2 - cx1) * scale, py + (y2 - cy1) * scale))
    return boxes


INSULATOR_SCALE = 0.5  # whole strings are 150-400 px in CPLID: halved, they are small here


def make_large_photo(
    out_dir: Path, width: int, height: int, objects: int, seed: int, root: Path = CPLID,
    cap_scale: float = 1.0,
) -> LargePhoto:
    """Build (or reuse, same arguments -> same file) a large photo with ``objects`` pasted
    missing caps (on their strings, resized by ``cap_scale``: 1 is native size, smaller only
    lets the harness check's small photos hold them) and as many half-size insulator strings."""
    key = hashlib.sha1(
        f"v3-{width}x{height}-{objects}-{seed}-{root}-{cap_scale}".encode()).hexdigest()[:10]
    path = out_dir / f"large-{width}x{height}-{seed}-{key}.jpg"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        data = json.loads(meta.read_text())
        return LargePhoto(path, width, height,
                          {k: [_box(b) for b in v] for k, v in data["objects"].items()})
    out_dir.mkdir(parents=True, exist_ok=True)
    normal = _images(root / "Normal_Insulators" / "images")
    if not normal:
        raise PhotoError(f"{root}: no CPLID photos")
    rng = np.random.default_rng(seed)
    backgrounds = [normal[int(i)] for i in rng.choice(len(normal), 4, replace=False)]
    canvas = mosaic(backgrounds, width, height)
    boxes: dict[str, list[tuple[float, float, float, float]]] = {}
    if objects:
        taken: list[tuple[int, int, int, int]] = []
        boxes["insulator_missing_cap"] = paste_objects(canvas, missing_cap_crops(root), objects,
                                                       seed, margin=0.1, scale=cap_scale,
                                                       taken=taken)
        boxes["insulator"] = paste_objects(canvas, insulator_crops(root), objects, seed + 1000,
                                           margin=0.1, scale=INSULATOR_SCALE, taken=taken)
    if not cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise PhotoError(f"{path}: cannot write")
    photo = LargePhoto(path, width, height, boxes)
    meta.write_text(json.dumps(photo.as_dict()))
    return photo
