"""Ground textures: the photo-crop filters and the procedural fallback."""

from __future__ import annotations

import cv2
import numpy as np

from linepatrol_datasets.synth.backgrounds import (
    GroundSource,
    looks_like_sky,
    looks_like_steelwork,
    procedural_tile,
)


def _field(rng: np.random.Generator) -> np.ndarray:
    noise = cv2.resize(rng.random((32, 32)).astype(np.float32), (300, 300))
    bgr = np.stack([40 + 30 * noise, 110 + 60 * noise, 60 + 20 * noise], axis=-1)
    return np.clip(bgr + rng.normal(0, 6, bgr.shape), 0, 255).astype(np.uint8)


def test_lattice_steel_is_refused_and_plain_fields_pass() -> None:
    rng = np.random.default_rng(0)
    field = _field(rng)
    assert not looks_like_steelwork(field)
    assert not looks_like_sky(field)
    lattice = field.copy()
    for k in range(-300, 600, 45):  # grey diagonal members in both directions, 3 px wide
        cv2.line(lattice, (k, 0), (k + 300, 300), (165, 165, 165), 3)
        cv2.line(lattice, (k, 300), (k + 300, 0), (165, 165, 165), 3)
    assert looks_like_steelwork(lattice)


def test_hazy_sky_is_refused() -> None:
    sky = np.full((300, 300, 3), (225, 215, 205), np.uint8)
    sky[250:] = _field(np.random.default_rng(1))[250:]
    assert looks_like_sky(sky)


def test_procedural_ground_is_seamless_and_seeded() -> None:
    a = procedural_tile(np.random.default_rng(3), size=64)
    b = procedural_tile(np.random.default_rng(3), size=64)
    assert a.shape == (128, 128, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    # mirrored halves: the tile's edges meet their neighbours without a seam
    assert np.array_equal(a[:, 0], a[:, -1]) and np.array_equal(a[0], a[-1])
    source = GroundSource(None)
    assert source.kind == "procedural" and source.tile(np.random.default_rng(0)).ndim == 3
