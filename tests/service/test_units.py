"""Small pure parts: zip member names, the photo store, header checks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from linepatrol.images import ImageError
from linepatrol_service.intake import check_photo, unsafe_name_reason
from linepatrol_service.storage import PhotoStore, TooLarge

from .photos import jpeg


@pytest.mark.parametrize("name", ["a.jpg", "flight 1/DJI_0001.JPG", "..a.jpg", "a..b/c.jpg",
                                  "./x.jpg", "深圳/塔1.jpg"])
def test_safe_member_names(name):
    assert unsafe_name_reason(name) is None


@pytest.mark.parametrize(("name", "why"), [
    ("../a.jpg", "'..'"), ("a/../../b.jpg", "'..'"), ("a\\..\\..\\b.jpg", "'..'"),
    ("/abs.jpg", "absolute"), ("\\\\server\\share\\a.jpg", "absolute"), ("C:/x.jpg", "absolute"),
    ("c:x.jpg", "absolute"), ("", "empty"), ("a\x00.jpg", "invalid"),
])
def test_unsafe_member_names(name, why):
    reason = unsafe_name_reason(name)
    assert reason is not None and why in reason


def test_store_spools_hashes_and_deduplicates(tmp_path: Path):
    store = PhotoStore(tmp_path / "photos", tmp_path / "tmp")
    data = jpeg(seed=1)
    a = store.spool_file(io.BytesIO(data), limit=10**7)
    b = store.spool_file(io.BytesIO(data), limit=10**7)
    assert a.sha256 == b.sha256 and a.size == len(data) and a.head == data[:64]
    first, second = store.commit(a), store.commit(b)
    assert first == second and first.read_bytes() == data
    assert not a.path.exists() and not b.path.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_store_limit_leaves_nothing_behind(tmp_path: Path):
    store = PhotoStore(tmp_path / "photos", tmp_path / "tmp")
    with pytest.raises(TooLarge):
        store.spool_file(io.BytesIO(b"x" * 5000), limit=4000)
    assert list((tmp_path / "tmp").iterdir()) == []
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


def test_header_check(tmp_path: Path):
    good = tmp_path / "g.jpg"
    good.write_bytes(jpeg(seed=2, width=200, height=100))
    data = good.read_bytes()
    header = check_photo(str(good), data[:64], len(data), max_pixels=10**8)
    assert (header.format, header.width, header.height) == ("JPEG", 200, 100)
    with pytest.raises(ImageError, match="MP limit"):
        check_photo(str(good), data[:64], len(data), max_pixels=10_000)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[:-100])
    with pytest.raises(ImageError, match="truncated"):
        check_photo(str(cut), data[:64], len(data) - 100, max_pixels=10**8)


def test_uploader_cannot_reach_another_uploaders_evidence(api):
    flight = api.new_flight()
    image_id = api.upload(flight["id"], [("a.jpg", jpeg(seed=9))]).json()["files"][0]["image_id"]
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    api.wait(flight["id"])
    defect_id = api.get("/defects", "reviewer").json()["items"][0]["id"]
    other = api.post("/tokens", json={"role": "uploader", "name": "other"}).json()["token"]
    hdr = {"Authorization": f"Bearer {other}"}
    for url in (f"/images/{image_id}", f"/images/{image_id}/meta", f"/defects/{defect_id}/crop",
                f"/flights/{flight['id']}/report", f"/flights/{flight['id']}/images"):
        assert api.client.get("/api/v1" + url, headers=hdr).status_code == 404, url
        assert api.get(url, "uploader").status_code == 200, url
