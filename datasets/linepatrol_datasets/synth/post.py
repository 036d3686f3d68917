"""Camera effects applied to a rendered frame: exposure and white balance, vignetting, focus or
motion blur, sensor noise, JPEG compression. None of them moves a pixel, so labels and
geometry stay exact."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CameraEffects:
    gain: float
    white_balance: tuple[float, float, float]
    vignette: float  # relative darkening at the corners
    blur_sigma: float  # Gaussian (focus) blur, pixels
    motion_px: int  # length of a linear motion blur, 0 for none
    motion_angle: float
    noise_sigma: float  # Gaussian read noise, 8-bit levels
    jpeg_quality: int

    @classmethod
    def sample(cls, rng: np.random.Generator) -> CameraEffects:
        return cls(
            gain=float(rng.uniform(0.85, 1.15)),
            white_balance=tuple(rng.uniform(0.93, 1.07, 3).tolist()),
            vignette=float(rng.uniform(0.0, 0.25)),
            blur_sigma=float(rng.uniform(0.0, 1.0)) if rng.random() < 0.5 else 0.0,
            motion_px=int(rng.integers(2, 7)) if rng.random() < 0.15 else 0,
            motion_angle=float(rng.uniform(0, 180)),
            noise_sigma=float(rng.uniform(0.5, 4.0)),
            jpeg_quality=int(rng.integers(72, 96)),
        )


def apply(rgb: np.ndarray, fx: CameraEffects, rng: np.random.Generator) -> np.ndarray:
    """The frame as the camera would record it (before JPEG), uint8 RGB.

    Written with OpenCV's array functions rather than numpy expressions: at 4000x3000 they are
    several times faster (multi-threaded, no temporaries), which matters for sample flights.
    """
    h, w = rgb.shape[:2]
    gain = np.float32(fx.gain) * np.asarray(fx.white_balance, np.float32)
    # a 4-tuple is OpenCV's Scalar (per channel); OpenCV's stubs before 5.1 know no Scalar
    # overload here and 5.1's do, so the call goes through an untyped name for both
    multiply: Callable[..., np.ndarray] = cv2.multiply
    img = multiply(rgb.astype(np.float32), (*(float(g) for g in gain), 0.0))
    if fx.vignette > 0:
        # Smooth radial falloff computed on a coarse grid and resized (cheap at any size).
        y, x = np.mgrid[0:49, 0:65].astype(np.float32)
        r2 = ((x - 32) / 32) ** 2 + ((y - 24) / 24) ** 2
        coarse = (1 - fx.vignette * r2 / 2).astype(np.float32)
        vig = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        img = cv2.multiply(img, cv2.merge([vig, vig, vig]))
    if fx.blur_sigma > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), fx.blur_sigma)
    if fx.motion_px > 1:
        k = np.zeros((fx.motion_px, fx.motion_px), np.float32)
        k[fx.motion_px // 2, :] = 1.0 / fx.motion_px
        rot = cv2.getRotationMatrix2D(((fx.motion_px - 1) / 2, (fx.motion_px - 1) / 2),
                                      fx.motion_angle, 1.0)
        k = np.asarray(cv2.warpAffine(k, rot, (fx.motion_px, fx.motion_px)), dtype=np.float32)
        img = cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))
    # Shot noise grows with the signal, read noise does not: sigma = sqrt(read^2 + 0.02 I).
    # (img >= 0 here: non-negative pixels times positive gains and blur kernels.)
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))  # OpenCV's generator, seeded from ours
    noise = np.empty_like(img)
    cv2.randn(noise, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # type: ignore[call-overload]
    # per-channel Scalars (the stubs know none here): a bare float would
    # fill only the first channel (OpenCV reads it as Scalar(v, 0, 0, 0))
    sigma = cv2.sqrt(cv2.addWeighted(img, 0.02, img, 0.0, fx.noise_sigma ** 2))
    img = cv2.add(img, cv2.multiply(noise, sigma))
    _, img = cv2.threshold(img, 0.0, 0.0, cv2.THRESH_TOZERO)  # negatives to 0, per channel
    return np.asarray(cv2.convertScaleAbs(img))  # rounds and saturates at 255


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
