"""Ground textures: crops of real UAV photos (CPLID), or a procedural fallback.

CPLID photos are close-range shots of insulator strings over real terrain. Crops are taken
where the photo's VOC labels show no insulator (with a margin), so the ground does not carry
unlabelled copies of a class the generator labels. Lattice steel in the photos is not labelled
in CPLID and can still appear in a crop: that is a known limitation, noted in the report.

A tile is built from 4x4 crops and mirrored into a 2x2 arrangement, so repeating it over the
ground plane leaves no seams.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .defaults import DEFAULT_BACKGROUNDS  # noqa: F401  (re-exported)

CROP = 256  # pixels of one crop in the tile
GRID = 4  # crops per side of a tile's block
STEEL_LINES = 4  # thresholds set by eye on a few dozen CPLID crops
STEEL_EDGES = 5
# Towers stand next to the insulator strings CPLID labels: keeping crops well away from the
# labelled boxes avoids much of the steel the detectors below would miss.
INSULATOR_MARGIN = 60


@dataclass(frozen=True)
class PhotoEntry:
    path: Path
    boxes: tuple[tuple[int, int, int, int], ...]  # labelled insulators, x0 y0 x1 y1


def index_photos(root: Path) -> list[PhotoEntry]:
    """Every ``*/images/*.jpg`` under ``root`` with the boxes of its VOC files, sorted by path
    (the order, and so every seeded choice, does not depend on the file system)."""
    from defusedxml import ElementTree

    xml_by_key: dict[tuple[Path, str], list[Path]] = {}
    for xml in sorted(root.glob("*/labels/**/*.xml")):
        dataset = xml.relative_to(root).parts[0]
        xml_by_key.setdefault((root / dataset, xml.stem), []).append(xml)
    entries = []
    for img in sorted(root.glob("*/images/*.jpg")):
        boxes: list[tuple[int, int, int, int]] = []
        for xml in xml_by_key.get((img.parent.parent, img.stem), []):
            try:
                tree = ElementTree.parse(xml)
            except Exception:  # a broken label file only costs us its boxes' exclusion zone
                continue
            for bb in tree.iter("bndbox"):
                try:
                    boxes.append(tuple(int(float(bb.findtext(k) or 0))  # type: ignore[arg-type]
                                       for k in ("xmin", "ymin", "xmax", "ymax")))
                except ValueError:
                    continue
        entries.append(PhotoEntry(img, tuple(boxes)))
    return entries


def _free_crop(entry: PhotoEntry, img: np.ndarray, rng: np.random.Generator,
               size: int, scale: float = 1.0) -> np.ndarray | None:
    """A square crop clear of the labelled insulators (boxes scaled by ``scale`` to ``img``),
    not showing steelwork or sky; None after a few tries."""
    h, w = img.shape[:2]
    size = min(size, h, w)
    margin = INSULATOR_MARGIN * scale
    boxes = [tuple(v * scale for v in b) for b in entry.boxes]
    for _ in range(8):
        x = int(rng.integers(0, w - size + 1))
        y = int(rng.integers(0, h - size + 1))
        if all(x + size <= bx0 - margin or x >= bx1 + margin or y + size <= by0 - margin
               or y >= by1 + margin for bx0, by0, bx1, by1 in boxes):
            crop = img[y:y + size, x:x + size]
            if not looks_like_steelwork(crop) and not looks_like_sky(crop):
                return crop
    return None


def looks_like_sky(crop: np.ndarray) -> bool:
    """True when much of a crop is sky or haze: bright, unsaturated, smooth (CPLID shots are
    often oblique and show the horizon)."""
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    grey = hsv[..., 2].astype(np.float32)
    local_var = cv2.blur(grey * grey, (9, 9)) - cv2.blur(grey, (9, 9)) ** 2
    blue = (hsv[..., 0] >= 90) & (hsv[..., 0] <= 130) & (hsv[..., 1] < 140)
    sky = (hsv[..., 2] > 150) & ((hsv[..., 1] < 45) | blue) & (local_var < 40)
    return float(sky.mean()) > 0.12


def looks_like_steelwork(crop: np.ndarray) -> bool:
    """True when a crop shows lattice steel or conductors (unlabelled in CPLID).

    Steel members and wires are thin, unsaturated and straight: thin structures are found
    with morphological top-hat/black-hat (bright or dark on their background), restricted to
    grey pixels, and counted as long Hough segments. Field rows are thin and straight too but
    coloured, which keeps most of them. Thresholds set by eye on a few dozen CPLID crops:
    some steel still gets through and some clean terrain is refused.
    """
    small = cv2.resize(crop, (256, 256), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    value = hsv[..., 2]
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    bright = cv2.morphologyEx(value, cv2.MORPH_TOPHAT, kernel)
    dark = cv2.morphologyEx(value, cv2.MORPH_BLACKHAT, kernel)
    thin = (((bright > 30) | (dark > 30)) & (hsv[..., 1] < 60)).astype(np.uint8) * 255
    lines = cv2.HoughLinesP(thin, 1, np.pi / 180, threshold=40, minLineLength=60, maxLineGap=3)
    if lines is not None and len(lines) >= STEEL_LINES:
        return True
    # Close-up members are too wide for the 7x7 top-hat: count long strong edges instead.
    edges = cv2.Canny(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), 60, 160)
    long_edges = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=30, minLineLength=50,
                                 maxLineGap=3)
    return long_edges is not None and len(long_edges) >= STEEL_EDGES


def crop_pool(entries: list[PhotoEntry], rng: np.random.Generator, size: int) -> list[np.ndarray]:
    """``size`` terrain crops (RGB, CROP x CROP), drawn once per run so a scene's tile costs
    only its assembly (reading photos per scene would cost more than rendering it)."""
    pool: list[np.ndarray] = []
    attempts = 0
    while len(pool) < size and attempts < size * 20:
        attempts += 1
        entry = entries[int(rng.integers(len(entries)))]
        # Full-size decode: the steelwork test's thresholds were set on full-resolution crops
        # (a half-size decode is faster but softens the thin members below them).
        bgr = cv2.imread(str(entry.path), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        crop = _free_crop(entry, bgr, rng, int(rng.integers(200, 400)))
        if crop is None:
            continue
        pool.append(np.ascontiguousarray(
            cv2.resize(crop, (CROP, CROP), interpolation=cv2.INTER_AREA)[..., ::-1]))
    return pool


def photo_tile(pool: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A seamless RGB tile from GRID x GRID pooled crops, each turned at random, mirrored."""
    crops = [np.rot90(pool[int(rng.integers(len(pool)))], int(rng.integers(4)))
             for _ in range(GRID * GRID)]
    block = np.vstack([np.hstack(crops[r * GRID:(r + 1) * GRID]) for r in range(GRID)])
    return _mirror(block)


def procedural_tile(rng: np.random.Generator, size: int = GRID * CROP) -> np.ndarray:
    """Fields-and-soil texture from summed noise octaves (used when no photos are available)."""
    base = np.zeros((size, size), np.float32)
    for octave, weight in ((4, 0.5), (16, 0.25), (64, 0.15), (256, 0.1)):
        noise = rng.random((octave, octave)).astype(np.float32)
        base += weight * cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    fields = cv2.resize(rng.random((3, 3)).astype(np.float32), (size, size),
                        interpolation=cv2.INTER_NEAREST)
    green = np.array([70, 110, 60], np.float32)
    soil = np.array([140, 120, 90], np.float32)
    mix = np.clip(fields * 0.7 + base * 0.6 - 0.2, 0, 1)[..., None]
    rgb = (green * mix + soil * (1 - mix)) * (0.75 + 0.5 * base[..., None])
    rows = (np.sin(np.arange(size) / rng.uniform(3, 8)) * 6).astype(np.float32)
    rgb += rows[:, None, None] * (fields[..., None] > 0.5)
    return _mirror(np.clip(rgb, 0, 255).astype(np.uint8))


def _mirror(tile: np.ndarray) -> np.ndarray:
    top = np.hstack([tile, tile[:, ::-1]])
    return np.ascontiguousarray(np.vstack([top, top[::-1]]))


class GroundSource:
    """Photo tiles when a CPLID-like folder is given and readable, else procedural tiles.

    The crop pool depends on ``seed`` only, so scene ``i`` of a seed is the same whatever the
    number of scenes generated.
    """

    def __init__(self, root: Path | None, seed: int = 0, pool_size: int = 40) -> None:
        entries = index_photos(root) if root is not None and root.is_dir() else []
        self.pool = crop_pool(entries, np.random.default_rng([seed, 0x6A0D]), pool_size) \
            if entries else []

    @property
    def kind(self) -> str:
        return f"photo crops ({len(self.pool)})" if self.pool else "procedural"

    def tile(self, rng: np.random.Generator) -> np.ndarray:
        return photo_tile(self.pool, rng) if self.pool else procedural_tile(rng)
