"""Bad uploads: every kind is a 4xx or a per-file rejection with a reason, and the rest of the
flight goes on with nothing accepted lost."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from .conftest import make_settings, open_api
from .photos import jpeg, jpeg_bomb, png_bomb_header, symlink_zip, zip_of

GOOD = jpeg(seed=100)


def _one(api, name, data):
    flight = api.new_flight()
    r = api.upload(flight["id"], [(name, data), ("good.jpg", GOOD)])
    assert r.status_code == 200, r.text
    files = {f["filename"]: f for f in r.json()["files"]}
    assert files["good.jpg"]["status"] == "accepted"
    return flight, files


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("empty.jpg", b"", "empty file"),
    ("notes.txt", b"just some text, not a photo", "not an image"),
    ("fake.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "corrupt"),
    ("truncated.jpg", jpeg(seed=1)[:-2000], "truncated"),
    ("bomb.png", png_bomb_header(), "too large"),
    ("bomb.jpg", jpeg_bomb(), "too large"),
    ("elf.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "not an image"),
])
def test_bad_file_rejected_with_reason(api, name, data, reason):
    flight, files = _one(api, name, data)
    assert files[name]["status"] == "rejected"
    assert reason in files[name]["reason"], files[name]
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    done = api.wait(flight["id"])
    assert done["status"] == "done" and done["progress"]["total"] == 1


def test_truncated_past_the_header_check_fails_at_processing(api):
    """A JPEG that keeps its end marker but lost data in the middle passes the upload check and
    is counted as failed, with its reason, while the rest of the flight completes."""
    whole = jpeg(seed=2, width=640, height=480)
    broken = whole[: len(whole) // 2] + whole[-2:]
    flight, files = _one(api, "middle.jpg", broken)
    assert files["middle.jpg"]["status"] == "accepted"
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    done = api.wait(flight["id"])
    assert done["status"] == "done"
    assert done["progress"] == {"total": 2, "done": 1, "failed": 1, "pending": 0}
    images = api.get(f"/flights/{flight['id']}/images").json()["items"]
    failed = [i for i in images if i["status"] == "failed"]
    assert failed[0]["filename"] == "middle.jpg" and failed[0]["error"]


def _zip_with(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.jpg", jpeg(seed=50))
        info = zipfile.ZipInfo(name)
        zf.writestr(info, data)
    return buf.getvalue()


@pytest.mark.parametrize(("member", "reason"), [
    ("../escape.jpg", "'..'"),
    ("a/../../escape.jpg", "'..'"),
    ("/etc/passwd.jpg", "absolute"),
    ("C:\\temp\\x.jpg", "absolute"),
    ("inner.zip", "nested archive"),
])
def test_hostile_zip_members(api, member, reason):
    _, files = _one(api, "evil.zip", _zip_with(member, GOOD if "zip" not in member
                                               else zip_of({"x.jpg": GOOD})))
    assert files["evil.zip/ok.jpg"]["status"] == "accepted"
    assert files[f"evil.zip/{member}"]["status"] == "rejected"
    assert reason in files[f"evil.zip/{member}"]["reason"]


def test_symlink_member(api):
    _, files = _one(api, "link.zip", symlink_zip("photo.jpg", "/etc/shadow"))
    assert files["link.zip/photo.jpg"]["status"] == "rejected"
    assert "symbolic link" in files["link.zip/photo.jpg"]["reason"]


def test_zip_bomb_ratio(api):
    bomb = zip_of({"zeros.jpg": b"\x00" * 5_000_000})
    _, files = _one(api, "bomb.zip", bomb)
    assert files["bomb.zip/zeros.jpg"]["status"] == "rejected"
    assert "compression ratio" in files["bomb.zip/zeros.jpg"]["reason"]


def test_not_a_zip(api):
    _, files = _one(api, "broken.zip", b"PK\x03\x04 this is not really a zip")
    assert files["broken.zip"]["status"] == "rejected"
    assert "zip" in files["broken.zip"]["reason"]


def test_zip_limits(tmp_path: Path, tiny_model: Path):
    settings = make_settings(tmp_path / "d", tiny_model, zip_max_entries=3,
                             max_file_bytes=len(GOOD) + 10, zip_max_total_bytes=3 * len(GOOD))
    for api in open_api(settings):
        flight = api.new_flight()
        many = zip_of({f"{i}.jpg": jpeg(seed=i) for i in range(5)})
        r = api.upload(flight["id"], [("many.zip", many)]).json()
        assert r["files"][0]["status"] == "rejected"
        assert "more than the limit of 3" in r["files"][0]["reason"]
        big = jpeg(seed=7, width=800, height=600)
        r = api.upload(flight["id"], [("big.zip", zip_of({"big.jpg": big, "ok.jpg": GOOD})),
                                      ("big.jpg", big)]).json()
        files = {f["filename"]: f for f in r["files"]}
        assert "per-file limit" in files["big.zip/big.jpg"]["reason"]
        assert files["big.zip/ok.jpg"]["status"] == "accepted"
        assert "too large" in files["big.jpg"]["reason"]


def test_request_size_limit_is_413(tmp_path: Path, tiny_model: Path):
    settings = make_settings(tmp_path / "d", tiny_model, max_request_bytes=50_000)
    for api in open_api(settings):
        flight = api.new_flight()
        r = api.upload(flight["id"], [("a.jpg", b"\xff\xd8\xff" + bytes(100_000))])
        assert r.status_code == 413
        # Without a Content-Length (a chunked upload) the stream is counted instead.
        big = b"x" * 200_000

        def chunks(data: bytes = big):
            for i in range(0, len(data), 10_000):
                yield data[i:i + 10_000]

        r = api.post(f"/flights/{flight['id']}/images", "uploader", content=chunks(),
                     headers={"Content-Type": "multipart/form-data; boundary=xyz"})
        assert r.status_code == 413
        # The flight is untouched and still takes a normal upload.
        ok = api.upload(flight["id"], [("small.jpg", jpeg(seed=2))])
        assert ok.status_code == 200 and ok.json()["accepted"] == 1


def test_malformed_requests(api):
    flight = api.new_flight()
    fid = flight["id"]
    assert api.post(f"/flights/{fid}/images", "uploader", json={"x": 1}).status_code == 415
    r = api.post(f"/flights/{fid}/images", "uploader", files=[("other", ("a.jpg", GOOD))])
    assert r.status_code == 422
    r = api.post(f"/flights/{fid}/images", "uploader", content=b"--xyz\r\ngarbage",
                 headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert r.status_code in (400, 422)
    assert api.post("/flights", "uploader", json={"line": " ", "date": "2026-01-01"}
                    ).status_code == 422
    assert api.post("/flights", "uploader", json={"line": "L", "date": "yesterday"}
                    ).status_code == 422
    assert api.post("/flights", "uploader", json={"line": "L", "date": "2026-01-01",
                                                  "extra": 1}).status_code == 422
    assert api.get("/flights/99999").status_code == 404
    assert api.upload(99999, [("a.jpg", GOOD)]).status_code == 404
    assert api.get(f"/flights/{fid}/report").status_code == 409  # not processed yet
    assert api.get(f"/flights/{fid}/report?format=docx").status_code == 422


def test_zip_entry_count_is_checked_before_parsing(api):
    """The end record claims 60000 entries: refused from the record, before zipfile reads a
    central directory of that size."""
    import struct

    data = bytearray(zip_of({"a.jpg": GOOD}))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<HH", 60000, 60000)
    _, files = _one(api, "forged.zip", bytes(data))
    assert files["forged.zip"]["status"] == "rejected"
    assert "60000 entries" in files["forged.zip"]["reason"]
