"""An upload is all-or-nothing on SQLite and PostgreSQL alike, also when the flight is submitted
while it is being taken in; a failed upload leaves no photo file behind."""

from __future__ import annotations

import threading

import pytest

from linepatrol_service.uploads import Ingest

from .photos import jpeg

PHOTOS = [(f"p{i}.jpg", jpeg(seed=400 + i)) for i in range(9)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_api(request):
    return request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")


def _stored(api) -> set[str]:
    return {p.name for p in api.services.settings.photo_dir.rglob("*") if p.is_file()}


def _flight_with_one_photo(api):
    flight = api.new_flight()
    assert api.upload(flight["id"], [("first.jpg", jpeg(seed=399))]).json()["accepted"] == 1
    return flight["id"]


def test_submitted_while_the_body_was_read_adds_nothing(db_api, monkeypatch):
    """The submit lands after the files were read and checked, before they are recorded."""
    fid = _flight_with_one_photo(db_api)
    before = _stored(db_api)
    record = Ingest.record

    def submit_first(self):
        assert db_api.post(f"/flights/{fid}/submit", "uploader").status_code == 200
        return record(self)

    monkeypatch.setattr(Ingest, "record", submit_first)
    r = db_api.upload(fid, PHOTOS)
    assert r.status_code == 409 and "nothing of this request" in r.json()["detail"]
    done = db_api.wait(fid)
    assert done["status"] == "done"
    assert done["progress"] == {"total": 1, "done": 1, "failed": 0, "pending": 0}
    assert _stored(db_api) == before  # the nine files went with the request
    assert not list(db_api.services.settings.upload_tmp_dir.iterdir())


def test_submit_racing_the_record_never_strands_photos(db_api, monkeypatch):
    """The submit arrives while the upload holds the flight: whichever way it goes, no photo
    stays pending in a finished flight."""
    fid = _flight_with_one_photo(db_api)
    answers: list[int] = []
    racers: list[threading.Thread] = []
    insert = Ingest._insert

    def submit_meanwhile(self, session):
        def submit():
            answers.append(db_api.post(f"/flights/{fid}/submit", "uploader").status_code)

        racer = threading.Thread(target=submit)
        racer.start()
        racer.join(0.5)  # the submit waits for this transaction (or has finished: no harm)
        racers.append(racer)
        return insert(self, session)

    monkeypatch.setattr(Ingest, "_insert", submit_meanwhile)
    r = db_api.upload(fid, PHOTOS)
    monkeypatch.undo()
    racers[0].join(30)
    assert r.status_code in (200, 409), r.text
    photos = 10 if r.status_code == 200 else 1
    assert answers and answers[0] in (200, 409)
    if answers[0] == 409:  # the submit saw no photos yet (SQLite reads do not wait): do it now
        assert db_api.post(f"/flights/{fid}/submit", "uploader").status_code == 200
    done = db_api.wait(fid)
    assert done["status"] == "done"
    assert done["progress"] == {"total": photos, "done": photos, "failed": 0, "pending": 0}


def test_failed_record_removes_the_files_it_stored(db_api, monkeypatch):
    fid = _flight_with_one_photo(db_api)
    before = _stored(db_api)
    insert = Ingest._insert

    def fail_after_insert(self, session):
        insert(self, session)
        session.flush()
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Ingest, "_insert", fail_after_insert)
    with pytest.raises(RuntimeError):
        db_api.upload(fid, PHOTOS)
    monkeypatch.undo()
    assert _stored(db_api) == before
    assert db_api.get(f"/flights/{fid}").json()["progress"]["total"] == 1
    # The same photos go in afterwards, stored again.
    assert db_api.upload(fid, PHOTOS).json()["accepted"] == 9
    assert len(_stored(db_api)) == 10


def test_duplicate_warning_names_only_flights_the_caller_may_see(api):
    photo = jpeg(seed=450)
    theirs = api.new_flight()
    api.upload(theirs["id"], [("a.jpg", photo)])
    other = api.post("/tokens", json={"role": "uploader", "name": "other team"}).json()["token"]
    hdr = {"Authorization": f"Bearer {other}"}
    mine = api.client.post("/api/v1/flights", headers=hdr,
                           json={"line": "L", "date": "2026-11-20"}).json()
    r = api.client.post(f"/api/v1/flights/{mine['id']}/images", headers=hdr,
                        files=[("files", ("b.jpg", photo, "image/jpeg"))]).json()
    assert r["files"][0]["status"] == "accepted"
    assert not any("also in flight" in w for w in r["files"][0]["warnings"])
    again = api.upload(api.new_flight()["id"], [("c.jpg", photo)]).json()["files"][0]
    assert f"the same photo is also in flight {theirs['id']}" in again["warnings"]


def test_sweep_removes_what_a_killed_upload_left_behind(api):
    """A process killed between storing a photo and recording it leaves the file: the next
    start removes it once it is old enough, and never a file a row refers to."""
    import os
    import time

    from linepatrol_service.uploads import ORPHAN_GRACE_S, sweep_orphans

    store = api.services.store
    kept = api.upload(api.new_flight()["id"], [("kept.jpg", jpeg(seed=460))]).json()
    kept_path = store.path_for(kept["files"][0]["sha256"])
    orphan = store.commit(store.spool([jpeg(seed=461)], 10**7))
    fresh = store.commit(store.spool([jpeg(seed=462)], 10**7))
    spooled = store.spool([b"half an upload"], 10**7).path
    old = time.time() - ORPHAN_GRACE_S - 60
    for path in (kept_path, orphan, spooled):
        os.utime(path, (old, old))
    assert sweep_orphans(api.services) == 2
    assert kept_path.is_file() and fresh.is_file()
    assert not orphan.exists() and not spooled.exists()
