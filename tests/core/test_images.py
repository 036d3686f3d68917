"""Every bad-file case gets a clear reason; good photos decode with orientation applied."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import piexif
import pytest
from PIL import Image

from linepatrol.images import ImageError, decode_image, read_image


def _jpeg(w: int = 64, h: int = 48) -> bytes:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = (0, 0, 255)  # left half red (BGR)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(buf)


def test_good_jpeg_png_tiff(tmp_path: Path) -> None:
    loaded = decode_image(_jpeg())
    assert (loaded.width, loaded.height, loaded.format) == (64, 48, "JPEG")
    assert loaded.pixels.shape == (48, 64, 3) and loaded.pixels[10, 5, 2] > 200
    img = np.full((20, 30, 3), 7, np.uint8)
    for ext, fmt in ((".png", "PNG"), (".tif", "TIFF")):
        p = tmp_path / f"a{ext}"
        cv2.imwrite(str(p), img)
        got = read_image(p)
        assert got.format == fmt and got.pixels.shape == (20, 30, 3)


def test_exif_orientation_is_applied() -> None:
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: 6}})
    out = io.BytesIO()
    piexif.insert(exif, _jpeg(64, 48), out)
    data = out.getvalue()
    loaded = decode_image(data)
    assert (loaded.width, loaded.height) == (48, 64)
    assert loaded.pixels.shape == (64, 48, 3)
    assert loaded.pixels[5, 24, 2] > 200 and loaded.pixels[60, 24, 2] < 50  # red now on top


def test_reduced_size_decode() -> None:
    loaded = decode_image(_jpeg(640, 480), min_size=(160, 120))
    assert loaded.pixels.shape == (120, 160, 3) and loaded.width == 640
    assert loaded.scale == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"hello, this is a text file\n" * 10, "not an image"),
        (b"%PDF-1.4\n" + b"x" * 100, "not an image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "corrupt"),
    ],
)
def test_bad_bytes(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        decode_image(data)


def test_truncated_jpeg() -> None:
    data = _jpeg(256, 256)
    with pytest.raises(ImageError, match="truncated|corrupt"):
        decode_image(data[: len(data) // 2])


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match="decompression"):
        decode_image(_png_claiming(60000, 60000))
    with pytest.raises(ImageError, match="exceeds"):
        decode_image(_jpeg(64, 48), max_pixels=1000)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="directory"):
        read_image(tmp_path)


def test_pillow_agrees_on_size(tmp_path: Path) -> None:
    p = tmp_path / "x.jpg"
    p.write_bytes(_jpeg(33, 17))
    with Image.open(p) as im:
        assert im.size == (read_image(p).width, read_image(p).height)
