"""Near-duplicate groups, so a split never puts the same object on both sides.

Why: CPLID's defective images are composites (one segmented defective string pasted onto
several backgrounds, sometimes mirrored; backgrounds reused too). A validation image that shows
a string the model trained on measures memory, not detection. Two kinds of evidence link two
images:

* a crop of a chosen class (default: the line-defect classes, the pasted objects) whose
  perceptual hash is within ``crop_distance`` bits of a crop in the other image, comparing
  against the mirrored and flipped crop as well;
* the whole images' perceptual hashes within ``image_distance`` bits (repeated photos,
  repeated backgrounds, burst frames).

Linked images are joined with union-find; every connected set is one group. The perceptual
hash is imagehash's DCT hash (pHash), which survives JPEG re-encoding, scaling and small
crops; the comparison itself is written here with numpy because imagehash compares one pair
at a time and this compares every pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from linepatrol import taxonomy
from linepatrol_datasets.model import Sample

MIN_CROP_PX = 8  # smaller crops hash to noise
Progress = Callable[[Iterable[int]], Iterable[int]]


def default_crop_classes() -> frozenset[str]:
    return frozenset(c.key for c in taxonomy.CLASSES if c.category is taxonomy.Category.LINE_DEFECT)


@dataclass(frozen=True)
class DedupConfig:
    crop_classes: frozenset[str] = field(default_factory=default_crop_classes)
    # Of 64 bits. On CPLID, crop pairs at distances 2..10 were checked by eye: nearly all show
    # the same pasted string (often mirrored). A false link only coarsens the split; a missed
    # one leaks, so the threshold leans generous.
    crop_distance: int = 10
    image_distance: int = 4
    hash_size: int = 8


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    reason: str  # "crop" or "image"
    distance: int


@dataclass
class DuplicateGroups:
    """``group_of[i]`` is the group id of sample ``i``; ids are the smallest member index."""

    group_of: list[int]
    links: list[Link]

    def groups(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for index, group in enumerate(self.group_of):
            out.setdefault(group, []).append(index)
        return out

    def summary(self) -> dict[str, int]:
        sizes = [len(m) for m in self.groups().values()]
        multi = [s for s in sizes if s > 1]
        return {
            "groups": len(sizes),
            "duplicate_groups": len(multi),
            "images_in_duplicate_groups": sum(multi),
            "largest_group": max(sizes, default=0),
            "crop_links": sum(1 for link in self.links if link.reason == "crop"),
            "image_links": sum(1 for link in self.links if link.reason == "image"),
        }


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller index becomes the root, so group ids are stable
            self.parent[max(ra, rb)] = min(ra, rb)


def _pack(bits: NDArray[np.bool_]) -> NDArray[np.uint64]:
    """Boolean hash bits (..., n*64) -> (..., n) uint64 words for XOR + popcount."""
    packed = np.packbits(bits, axis=-1, bitorder="little")  # (..., n*8) bytes
    return np.ascontiguousarray(packed).view(np.uint64)


def hamming_pairs(
    base: NDArray[np.uint64], variants: NDArray[np.uint64], owner: Sequence[int], limit: int,
    max_elements: int = 16_000_000,
) -> list[tuple[int, int, int]]:
    """Pairs (i, j, distance) of hashes from different owners within ``limit`` bits.

    ``base`` is (m, w); ``variants`` is (m, v, w): the distance of i and j is the smallest over
    j's variants (mirrored, flipped...). Computed in row chunks of at most ``max_elements``
    64-bit words (128 MB) so 10 000 crops compare without running out of memory.
    """
    chunk = max(1, max_elements // max(1, variants.size))
    owners = np.asarray(owner)
    best: dict[tuple[int, int], int] = {}  # both directions are checked: flips are not symmetric
    for start in range(0, len(base), chunk):
        rows = base[start:start + chunk]
        xor = rows[:, None, None, :] ^ variants[None, :, :, :]
        dist = np.bitwise_count(xor).sum(axis=-1).min(axis=-1)
        for i, j in zip(*np.nonzero(dist <= limit), strict=True):
            a, b = start + int(i), int(j)
            if owners[a] != owners[b]:
                key = (min(a, b), max(a, b))
                best[key] = min(best.get(key, limit), int(dist[i, j]))
    return sorted((a, b, d) for (a, b), d in best.items())


def _hashes(
    samples: Sequence[Sample], config: DedupConfig, progress: Progress
) -> tuple[list[NDArray[np.bool_]], list[list[NDArray[np.bool_]]], list[int]]:
    import imagehash
    from PIL import Image, ImageOps

    image_bits: list[NDArray[np.bool_]] = []
    crop_variants: list[list[NDArray[np.bool_]]] = []
    crop_owner: list[int] = []
    for index in progress(range(len(samples))):
        sample = samples[index]
        with Image.open(sample.image_path) as opened:
            img = ImageOps.exif_transpose(opened).convert("L")
        image_bits.append(imagehash.phash(img, config.hash_size).hash.flatten())
        for box in sample.boxes:
            if box.class_name not in config.crop_classes:
                continue
            if min(box.width, box.height) < MIN_CROP_PX:
                continue
            crop = img.crop((int(box.x1), int(box.y1), round(box.x2), round(box.y2)))
            views = (crop, ImageOps.mirror(crop), ImageOps.flip(crop), crop.rotate(180))
            crop_variants.append(
                [imagehash.phash(v, config.hash_size).hash.flatten() for v in views]
            )
            crop_owner.append(index)
    return image_bits, crop_variants, crop_owner


def find_near_duplicates(
    samples: Sequence[Sample],
    config: DedupConfig = DedupConfig(),
    progress: Progress = lambda it: it,
) -> DuplicateGroups:
    """Group the samples (reads every image once)."""
    image_bits, crop_variants, crop_owner = _hashes(samples, config, progress)
    links: list[Link] = []
    if image_bits:
        packed = _pack(np.array(image_bits))
        for a, b, d in hamming_pairs(packed, packed[:, None, :], range(len(samples)),
                                     config.image_distance):
            links.append(Link(a, b, "image", d))
    if crop_variants:
        variants = _pack(np.array(crop_variants))
        for a, b, d in hamming_pairs(variants[:, 0, :], variants, crop_owner, config.crop_distance):
            links.append(Link(crop_owner[a], crop_owner[b], "crop", d))
    uf = UnionFind(len(samples))
    for link in links:
        uf.union(link.a, link.b)
    return DuplicateGroups([uf.find(i) for i in range(len(samples))], links)
