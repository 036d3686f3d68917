"""The API on PostgreSQL (127.0.0.1:5432): the same flows as on SQLite, plus concurrent claims.

Skipped when the server is unreachable, except with CI=true where that is a failure.
"""

from __future__ import annotations

import threading

import pytest

from linepatrol_service.processing import claim_batch

from . import test_bad_input, test_flow, test_geotag, test_line_over_time, test_review_export
from .photos import jpeg

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


def run_together(target, count: int) -> None:
    """``target(n)`` for n in range(count), each in its own thread, started before any joins."""
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_flow_on_postgres(pg_api):
    assert pg_api.services.engine.dialect.name == "postgresql"
    test_flow.test_flight_from_upload_to_reviewed_defect(pg_api)


def test_queue_filters_on_postgres(pg_api):
    test_flow.test_defect_queue_filters_sort_and_patch_class(pg_api)


def test_zip_and_duplicates_on_postgres(pg_api):
    test_flow.test_zip_upload_and_duplicates(pg_api)


def test_geotag_on_postgres(pg_api):
    test_geotag.test_dji_flight_is_located_and_merged(pg_api)


def test_line_over_time_on_postgres(pg_api):
    test_line_over_time.test_a_second_flight_over_the_same_objects_adds_sightings_not_queue_entries(
        pg_api)
    test_line_over_time.test_a_machine_coming_closer_escalates_and_a_rejected_one_returns(pg_api)


def test_flights_finishing_together_on_postgres(pg_api, monkeypatch):
    test_line_over_time.test_two_flights_of_a_line_finishing_at_once_make_one_item_per_object(
        pg_api, monkeypatch)


def test_corrected_box_on_postgres(pg_api):
    test_review_export.test_a_corrected_box_reads_back_and_is_audited(pg_api)


def test_drawn_box_on_postgres(pg_api):
    test_review_export.test_a_drawn_box_becomes_a_confirmed_placed_item_with_a_sighting(pg_api)


def test_yolo_export_on_postgres(pg_api, tmp_path):
    test_review_export.test_yolo_export_reads_back_exactly_the_review(pg_api, tmp_path)


def test_export_filters_on_postgres(pg_api, tmp_path):
    test_review_export.test_export_filters_access_and_ranges(pg_api, tmp_path)


def test_bad_file_on_postgres(pg_api):
    test_bad_input.test_truncated_past_the_header_check_fails_at_processing(pg_api)


def test_concurrent_claims_never_overlap(pg_api):
    """Eight threads claim the photos of one flight at once: every photo goes to exactly one."""
    api = pg_api
    flight = api.new_flight()
    api.upload(flight["id"], [(f"{i}.jpg", jpeg(seed=i)) for i in range(24)])
    # Claim directly (not via submit) so the embedded worker does not take part.
    claims: list[list[int]] = []
    lock = threading.Lock()

    def grab(n: int) -> None:
        while True:
            _, ids = claim_batch(api.services, flight["id"], f"t{n}")
            if not ids:
                return
            with lock:
                claims.append(ids)

    run_together(grab, 8)
    flat = [i for c in claims for i in c]
    assert len(flat) == 24 and len(set(flat)) == 24


def test_processes_starting_together_migrate_once(tmp_path, tiny_model, pg_url):
    """The service and several workers starting at once on an empty database."""
    from linepatrol_service.services import Services

    from .conftest import make_settings, reset_database

    reset_database(pg_url)
    errors: list[BaseException] = []

    def boot(n: int) -> None:
        try:
            Services(make_settings(tmp_path / f"d{n}", tiny_model, database_url=pg_url)).close()
        except BaseException as exc:
            errors.append(exc)

    run_together(boot, 4)
    assert errors == []
