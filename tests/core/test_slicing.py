from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linepatrol.slicing import should_tile, tile_grid


def test_small_image_is_one_tile() -> None:
    assert [(t.x1, t.y1, t.x2, t.y2) for t in tile_grid(500, 300, 640)] == [(0, 0, 500, 300)]


def test_grid_hand_case() -> None:
    tiles = tile_grid(1000, 640, 640, overlap=0.25)  # step 480: x starts 0 and 360 (pushed back)
    assert [(t.x1, t.x2) for t in tiles] == [(0, 640), (360, 1000)]
    assert all((t.y1, t.y2) == (0, 640) for t in tiles)


@given(
    w=st.integers(1, 9000), h=st.integers(1, 6000), tile=st.integers(64, 2048),
    overlap=st.floats(0.0, 0.5),
)
def test_tiles_cover_the_image_with_full_size_tiles(w: int, h: int, tile: int, overlap: float) -> None:
    tiles = tile_grid(w, h, tile, overlap)
    xs = sorted({(t.x1, t.x2) for t in tiles})
    ys = sorted({(t.y1, t.y2) for t in tiles})
    for spans, length in ((xs, w), (ys, h)):
        assert spans[0][0] == 0 and spans[-1][1] == length
        for (_, a2), (b1, _) in itertools.pairwise(spans):
            assert b1 <= a2  # no gap
            assert a2 - b1 >= round(tile * overlap) - 1 or b1 == length - tile
        assert all(b - a == min(tile, length) for a, b in spans)
    # every pixel is in some tile
    cover = np.zeros((min(h, 50), min(w, 50)), bool)
    for t in tiles:
        cover[t.y1 : t.y2, t.x1 : t.x2] = True
    assert cover.all()


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        tile_grid(0, 10, 64)
    with pytest.raises(ValueError):
        tile_grid(10, 10, 64, overlap=1.0)


def test_auto_tiling_rule() -> None:
    assert not should_tile(1152, 864, 640)
    assert should_tile(5472, 3648, 640)
