"""Tile geometry for large photos: pure functions, no pixels.

After sahi's slicing: tiles of a fixed size with a fractional overlap, the last row and column
pushed back inside the image so every tile has full size (no thin slivers that the model sees
as a different scale), and never more tiles than needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1


def _starts(length: int, tile: int, overlap: float) -> list[int]:
    if length <= tile:
        return [0]
    step = max(1, round(tile * (1.0 - overlap)))
    count = math.ceil((length - tile) / step) + 1
    starts = [min(i * step, length - tile) for i in range(count)]
    return sorted(set(starts))


def tile_grid(width: int, height: int, tile: int, overlap: float = 0.2) -> list[Tile]:
    """Tiles of ``tile`` x ``tile`` pixels covering a ``width`` x ``height`` image.

    Adjacent tiles overlap by at least ``overlap`` of the tile size; an image side shorter than
    the tile gets one tile of the image's size along that side.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid image size {width}x{height}")
    if tile <= 0:
        raise ValueError(f"invalid tile size {tile}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    return [
        Tile(x, y, min(x + tile, width), min(y + tile, height))
        for y in _starts(height, tile, overlap)
        for x in _starts(width, tile, overlap)
    ]


def should_tile(width: int, height: int, input_size: int, factor: float = 2.5) -> bool:
    """``--tile auto``: tile when the photo's long side is well beyond the model's input.

    Below ``factor`` times the input size a whole-image pass keeps enough detail; above it a
    cap tens of pixels wide would shrink to a few pixels.
    """
    return max(width, height) > factor * input_size
