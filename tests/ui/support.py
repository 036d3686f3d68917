"""Test material for the web interface: tiny real JPEGs with DJI metadata near a tiny ledger."""

from __future__ import annotations

import cv2
import numpy as np

# Three towers ~250 m apart going north-east (the same shape as the bundled sample's ledger).
LINE = "500kV UI Test Line"
TOWERS = [("N1", 30.50000, 114.30000), ("N2", 30.50180, 114.30150), ("N3", 30.50360, 114.30300)]


def ledger_csv() -> str:
    rows = ["line,tower,lat,lon,ground_elev,height"]
    rows += [f"{LINE},{t},{lat:.6f},{lon:.6f},100,45" for t, lat, lon in TOWERS]
    return "\n".join(rows) + "\n"


def dji_photo(seed: int, lat: float, lon: float, width: int = 320, height: int = 240) -> bytes:
    """A real JPEG (random shapes, so each seed differs) with DJI EXIF and drone-dji XMP written by
    the project's own writer: the camera 60 m above take-off, looking straight down."""
    from linepatrol.geo import CameraPose, write_dji_metadata

    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 110, np.uint8)
    for _ in range(8):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(img, centre, int(rng.integers(5, 50)), colour, -1)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    pose = CameraPose(lat=lat, lon=lon, abs_alt=160.0, rel_alt=60.0, yaw=0.0, pitch=-90.0,
                      roll=0.0, fx=0.9 * width, fy=0.9 * width, cx=width / 2, cy=height / 2,
                      width=width, height=height)
    return bytes(write_dji_metadata(bytes(buf), pose))
