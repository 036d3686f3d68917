"""The processing steps themselves: cancel, idempotent re-runs, failures, schema migrations."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from linepatrol_service.models import Base, Defect, Image
from linepatrol_service.processing import finalize, run_flight
from linepatrol_service.services import Services

from .conftest import make_settings, open_api
from .photos import dji_jpeg, jpeg


def test_cancel_is_honoured_mid_flight_and_resubmit_finishes(tmp_path: Path, tiny_model: Path):
    settings = make_settings(tmp_path / "d", tiny_model, batch_size=1, throttle_s=0.3)
    for api in open_api(settings):
        flight = api.new_flight()
        api.upload(flight["id"], [(f"{i}.jpg", dji_jpeg(seed=i)) for i in range(8)])
        api.post(f"/flights/{flight['id']}/submit", "uploader")
        deadline = time.monotonic() + 30
        while api.get(f"/flights/{flight['id']}").json()["progress"]["done"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = api.post(f"/flights/{flight['id']}/cancel", "uploader")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert api.services.dispatcher.wait_idle(30)
        body = api.get(f"/flights/{flight['id']}").json()
        assert body["status"] == "cancelled"
        assert body["progress"]["done"] < 8 and body["defects"] == 0
        # Submitting again goes on from where it stopped; no photo is processed twice.
        assert api.post(f"/flights/{flight['id']}/submit", "uploader").status_code == 200
        assert api.wait(flight["id"])["status"] == "done"
        with api.services.sessions() as s:
            counts = s.scalars(select(Image.processed_count)).all()
        assert sorted(counts) == [1] * 8


def test_rerunning_steps_is_idempotent(api):
    flight = api.new_flight()
    api.upload(flight["id"], [(f"{i}.jpg", dji_jpeg(seed=i)) for i in range(3)])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["status"] == "done"
    services = api.services

    def defects() -> int:
        with services.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Defect)) or 0)

    before = defects()
    assert before == 2
    # A redelivered task and a second finaliser change nothing.
    assert run_flight(services, flight["id"], "late-worker").state == "skipped"
    assert finalize(services, flight["id"]) is False
    assert defects() == before


def test_model_that_cannot_load_fails_the_flight_and_health(tmp_path: Path, tiny_model: Path):
    settings = make_settings(tmp_path / "d", tmp_path / "missing.onnx")
    for api in open_api(settings):
        r = api.client.get("/api/v1/health")
        assert r.status_code == 503
        assert r.json()["model"]["ok"] is False and r.json()["database"]["ok"] is True
        flight = api.new_flight()
        api.upload(flight["id"], [("a.jpg", jpeg(seed=1))])
        api.post(f"/flights/{flight['id']}/submit", "uploader")
        body = api.wait(flight["id"])
        assert body["status"] == "failed" and "missing.onnx" in body["error"]
        with api.services.sessions() as s:  # the photo is kept, ready for a retry
            assert s.scalars(select(Image.status)).all() == ["pending"]


def schema_drift(services: Services) -> list[object]:
    """What autogenerate would change to make the migrated database match the ORM models."""
    try:
        with services.engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
    finally:
        services.close()


def test_migrations_match_the_models(tmp_path: Path, tiny_model: Path):
    assert schema_drift(Services(make_settings(tmp_path / "d", tiny_model))) == []


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgres(tmp_path: Path, tiny_model: Path, pg_url: str):
    from .conftest import reset_database

    reset_database(pg_url)
    settings = make_settings(tmp_path / "d", tiny_model, database_url=pg_url)
    assert schema_drift(Services(settings)) == []


def test_submit_with_the_broker_down_keeps_the_flight_queued(tmp_path: Path, tiny_model: Path):
    settings = make_settings(tmp_path / "d", tiny_model, queue="celery",
                             broker_url="redis://127.0.0.1:9/0")
    for api in open_api(settings):
        health = api.client.get("/api/v1/health")
        assert health.status_code == 503 and health.json()["queue"]["ok"] is False
        flight = api.new_flight()
        api.upload(flight["id"], [("a.jpg", jpeg(seed=1))])
        r = api.post(f"/flights/{flight['id']}/submit", "uploader")
        assert r.status_code == 503 and "queued" in r.json()["detail"]
        assert api.get(f"/flights/{flight['id']}").json()["status"] == "queued"


def test_claims_follow_the_models_batch_of_photos_once_it_is_loaded(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linepatrol.detector import Detector
    from linepatrol_service.processing import claim_size

    services = Services(make_settings(tmp_path / "d", tiny_model, batch_size=3))
    assert claim_size(services) == 3  # nothing loaded yet: the configured batch
    services.detector.get()
    assert claim_size(services) == 3  # a CPU model takes one photo per call
    monkeypatch.setattr(Detector, "photos_per_call", property(lambda self: 8))  # a GPU's
    assert claim_size(services) == 8


def test_an_existing_database_migrates_its_defects_into_items_of_one_sighting(tmp_path: Path):
    """A database at the revision before the line over time: every defect becomes an item seen
    once, on its own flight (its date, its evidence); nothing is lost."""
    import sqlalchemy as sa
    from alembic import command

    from linepatrol_service.db import alembic_config

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(sa.text(
            "INSERT INTO flights (id, line, date, team, drone, notes, status, created_at)"
            " VALUES (7, 'L1', '2026-10-01', '', '', '', 'done', '2026-10-01 08:00:00')"))
        conn.execute(sa.text(
            "INSERT INTO defects (id, flight_id, class_key, detected_class, category, severity,"
            " status, confidence, lat, lon, placement, uncertainty_m, line, tower, evidence,"
            " detected_at, updated_at) VALUES (3, 7, 'bird_nest', 'bird_nest', 'line_defect',"
            " 'serious', 'confirmed', 0.8, 30.5, 114.3, 'tower', 2.0, 'L1', 'N1',"
            " '[{\"image_id\": 1, \"xyxy\": [0, 0, 1, 1], \"confidence\": 0.8}]',"
            " '2026-10-01 09:00:00', '2026-10-01 09:00:00')"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        item = conn.execute(sa.text(
            "SELECT status, sightings, first_seen, last_seen FROM defects WHERE id = 3")).one()
        seen = conn.execute(sa.text(
            "SELECT defect_id, flight_id, seen_on, class_key, evidence FROM sightings")).all()
    assert tuple(item) == ("confirmed", 1, "2026-10-01", "2026-10-01")
    assert [tuple(s[:4]) for s in seen] == [(3, 7, "2026-10-01", "bird_nest")]
    assert '"image_id": 1' in seen[0][4]
