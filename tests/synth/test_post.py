"""Camera effects: noise has the modelled statistics in every channel, and is seeded."""

from __future__ import annotations

import numpy as np

from linepatrol_datasets.synth import post


def test_noise_in_every_channel_with_the_modelled_sigma() -> None:
    flat = np.full((300, 400, 3), (10, 128, 200), np.uint8)
    fx = post.CameraEffects(1.0, (1.0, 1.0, 1.0), 0.0, 0.0, 0, 0.0, 2.0, 90)
    out = post.apply(flat, fx, np.random.default_rng(4)).reshape(-1, 3).astype(float)
    np.testing.assert_allclose(out.mean(axis=0), (10, 128, 200), atol=0.1)
    expected = np.sqrt(2.0**2 + 0.02 * np.array([10, 128, 200]) + 1 / 12)  # + rounding
    np.testing.assert_allclose(out.std(axis=0), expected, rtol=0.05)


def test_same_generator_state_same_pixels_and_gain_per_channel() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 200, (60, 80, 3), dtype=np.uint8)
    fx = post.CameraEffects(1.1, (0.9, 1.0, 1.05), 0.2, 0.7, 3, 30.0, 1.0, 85)
    a = post.apply(img, fx, np.random.default_rng(9))
    b = post.apply(img, fx, np.random.default_rng(9))
    assert np.array_equal(a, b)
    ratio = a.reshape(-1, 3).astype(float).mean(0) / img.reshape(-1, 3).mean(0)
    assert ratio[0] < ratio[1] < ratio[2]
    jpeg = post.encode_jpeg(a, 85)
    assert jpeg[:2] == b"\xff\xd8"
