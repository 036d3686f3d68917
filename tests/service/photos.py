"""Real test photos: JPEG bytes with real EXIF GPS (piexif) and, when the geotagging package
provides it, DJI XMP flight metadata."""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction

import cv2
import numpy as np
import piexif


def _rational(value: float, denominator: int = 10_000) -> tuple[int, int]:
    f = Fraction(value).limit_denominator(denominator)
    return f.numerator, f.denominator


def _dms(deg: float) -> tuple[tuple[int, int], ...]:
    deg = abs(deg)
    d = int(deg)
    m = int((deg - d) * 60)
    s = (deg - d - m / 60) * 3600
    return (d, 1), (m, 1), _rational(s, 1000)


def jpeg(width: int = 320, height: int = 240, seed: int = 0,
         gps: tuple[float, float, float] | None = (30.5, 114.3, 120.0)) -> bytes:
    """A JPEG of smooth random shapes (so every seed gives different bytes) with GPS EXIF."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 90, np.uint8)
    for _ in range(6):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(img, centre, int(rng.integers(5, 60)), colour, -1)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    data = bytes(buf)
    exif: dict[str, dict[int, object]] = {
        "0th": {piexif.ImageIFD.Make: b"DJI", piexif.ImageIFD.Model: b"M300"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2026:11:20 10:00:00"},
        "GPS": {},
    }
    if gps is not None:
        lat, lon, alt = gps
        exif["GPS"] = {
            piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
            piexif.GPSIFD.GPSLatitude: _dms(lat),
            piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
            piexif.GPSIFD.GPSLongitude: _dms(lon),
            piexif.GPSIFD.GPSAltitudeRef: 0,
            piexif.GPSIFD.GPSAltitude: _rational(alt, 100),
        }
    out = io.BytesIO()
    piexif.insert(piexif.dump(exif), data, out)
    return out.getvalue()


def zip_of(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def symlink_zip(name: str, target: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(name)
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, target)
    return buf.getvalue()


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb at the header level."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def dji_jpeg(seed: int = 0, lat: float = 30.5, lon: float = 114.3, rel_alt: float = 60.0,
             yaw: float = 0.0, pitch: float = -90.0, width: int = 320, height: int = 240) -> bytes:
    """A JPEG with the EXIF and drone-dji XMP a DJI camera writes (via linepatrol.geo)."""
    from linepatrol.geo import CameraPose, write_dji_metadata

    pose = CameraPose(lat=lat, lon=lon, abs_alt=100.0 + rel_alt, rel_alt=rel_alt, yaw=yaw,
                      pitch=pitch, roll=0.0, fx=0.9 * width, fy=0.9 * width, cx=width / 2,
                      cy=height / 2, width=width, height=height)
    return bytes(write_dji_metadata(jpeg(width, height, seed=seed, gps=None), pose))


def jpeg_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small real JPEG whose frame header (SOF0) claims a huge size."""
    import struct

    data = bytearray(jpeg(seed=99, gps=None))
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
