"""Zip archives that would cost the server more than they carry, and photos that are whole
though unusual: refused cheaply, or accepted, each with its own answer."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from linepatrol.images import ImageError, probe_image
from linepatrol_service.intake import check_photo

from .conftest import make_settings, open_api
from .photos import jpeg, jpeg_bomb, zip_of

GOOD = jpeg(seed=500)


def overlapping_zip(copies: int, member: bytes) -> bytes:
    """One compressed member listed ``copies`` times in the central directory: each entry
    passes the per-entry checks, and reading them all expands the member ``copies`` times."""
    data = bytearray(zip_of({"a.jpg": member}))
    end = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[end + 12:end + 20])
    entry = bytes(data[cd_offset:cd_offset + cd_size])
    directory = entry * copies
    record = bytearray(data[end:])
    record[8:12] = struct.pack("<HH", copies, copies)
    record[12:16] = struct.pack("<I", len(directory))
    return bytes(data[:cd_offset]) + directory + bytes(record)


def test_overlapping_entries_are_refused_without_reading_them(api, monkeypatch):
    bomb = overlapping_zip(120, b"\x00" * 150 + GOOD)
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:  # what a plain reader would do: 120 reads
        assert len(zf.infolist()) == 120 and zf.read(zf.infolist()[-1])[-len(GOOD):] == GOOD
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a))
    flight = api.new_flight()
    r = api.upload(flight["id"], [("bomb.zip", bomb), ("good.jpg", GOOD)]).json()
    files = {f["filename"]: f for f in r["files"]}
    assert files["bomb.zip"]["status"] == "rejected"
    assert "overlap" in files["bomb.zip"]["reason"]
    assert files["good.jpg"]["status"] == "accepted" and opened == []


def test_zip_budget_is_per_request(tmp_path: Path, tiny_model: Path):
    photos = [jpeg(seed=510 + i) for i in range(3)]
    budget = len(photos[0]) + len(photos[1]) + 10
    settings = make_settings(tmp_path / "d", tiny_model, zip_max_total_bytes=budget)
    for api in open_api(settings):
        flight = api.new_flight()
        r = api.upload(flight["id"], [("a.zip", zip_of({"1.jpg": photos[0]})),
                                      ("b.zip", zip_of({"2.jpg": photos[1], "3.jpg": photos[2]}))
                                      ]).json()
        status = {f["filename"]: (f["status"], f["reason"]) for f in r["files"]}
        assert status["a.zip/1.jpg"][0] == status["b.zip/2.jpg"][0] == "accepted"
        assert status["b.zip/3.jpg"][0] == "rejected"
        assert "remaining budget" in status["b.zip/3.jpg"][1]


@pytest.mark.parametrize("archive", [zip_of({}), zip_of({"folder/": b""})])
def test_empty_zip_gets_its_own_answer(api, archive):
    r = api.upload(api.new_flight()["id"], [("empty.zip", archive), ("good.jpg", GOOD)]).json()
    files = {f["filename"]: f for f in r["files"]}
    assert files["empty.zip"]["status"] == "rejected"
    assert "no files" in files["empty.zip"]["reason"]
    assert files["good.jpg"]["status"] == "accepted"


def test_jpeg_with_trailing_bytes_is_accepted_and_processed(api):
    photo = jpeg(seed=520) + b"\x00trailer written by an editor" * 500
    flight = api.new_flight()
    r = api.upload(flight["id"], [("trailing.jpg", photo)]).json()
    assert r["files"][0]["status"] == "accepted", r
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["progress"]["done"] == 1


def test_jpeg_cut_short_is_still_refused(tmp_path: Path):
    cut = tmp_path / "cut.jpg"
    data = jpeg(seed=521) + b"\x00" * 10_000
    cut.write_bytes(data[: len(data) - 12_000])
    with pytest.raises(ImageError, match="truncated"):
        check_photo(str(cut), data[:64], cut.stat().st_size, max_pixels=10**8)


def test_max_pixels_above_pillows_own_cap_takes_effect(tmp_path: Path):
    big = tmp_path / "big.jpg"
    big.write_bytes(jpeg_bomb(width=14_000, height=14_000))  # 196 MP: past Pillow's ~179 MP
    head = big.read_bytes()[:16]
    assert probe_image(big, head, max_pixels=200_000_000).width == 14_000
    with pytest.raises(ImageError, match="MP limit"):
        probe_image(big, head, max_pixels=100_000_000)
