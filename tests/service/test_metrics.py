"""Prometheus metrics: HTTP from the instrumentator, inference from the workers, the queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from linepatrol_service.metrics import InferenceMetrics
from support.service_settings import make_settings

from .conftest import Api, open_api
from .photos import jpeg


def scrape(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``/metrics`` as {(sample name, labels): value}."""
    r = api.client.get("/api/v1/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_http_metrics_by_route_template_and_exact_status(api: Api):
    flight = api.new_flight()
    api.get(f"/flights/{flight['id']}")
    api.get("/flights/999999")
    api.client.get("/api/v1/flights")  # no token
    api.client.get("/nowhere/at/all")
    m = scrape(api)
    route = "/api/v1/flights/{flight_id}"
    assert value(m, "linepatrol_http_requests_total", method="GET", status="200",
                 handler=route) == 1
    assert value(m, "linepatrol_http_requests_total", method="GET", status="404",
                 handler=route) == 1
    assert value(m, "linepatrol_http_requests_total", method="GET", status="401",
                 handler="/api/v1/flights") == 1
    assert value(m, "linepatrol_http_requests_total", method="POST", status="201",
                 handler="/api/v1/flights") == 1
    # An unknown path is one label value, not one per path.
    assert value(m, "linepatrol_http_requests_total", method="GET", status="404",
                 handler="none") == 1
    assert value(m, "linepatrol_http_request_duration_seconds_count", method="GET",
                 handler=route) == 2
    assert ("linepatrol_http_request_duration_highr_seconds_count", frozenset()) in m


def test_two_apps_do_not_share_counters(api: Api, tmp_path: Path, tiny_model: Path):
    for _ in range(3):
        api.get("/flights")
    for other in open_api(make_settings(tmp_path / "other", tiny_model)):
        other.get("/flights")
        mine = scrape(api)
        theirs = scrape(other)
    labels = {"method": "GET", "status": "200", "handler": "/api/v1/flights"}
    assert value(mine, "linepatrol_http_requests_total", **labels) == 3
    assert value(theirs, "linepatrol_http_requests_total", **labels) == 1


def test_metrics_need_no_token_and_keep_the_database_gauges(api: Api):
    m = scrape(api)  # scrape() asks without a token
    assert ("linepatrol_flights", frozenset({("status", "draft")})) not in m  # no flight yet
    api.new_flight()
    m = scrape(api)
    assert value(m, "linepatrol_flights", status="draft") == 1


def test_record_batch_counts_photos_and_seconds_per_photo():
    metrics = InferenceMetrics()
    metrics.record_batch(photos_done=3, photos_failed=1, seconds=2.0)
    metrics.record_batch(photos_done=0, photos_failed=0, seconds=0.1)  # nothing: ignored
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in metrics.collect() for s in family.samples}
    assert samples[("linepatrol_inference_photos_total",
                    frozenset({("outcome", "done")}))] == 3
    assert samples[("linepatrol_inference_photos_total",
                    frozenset({("outcome", "failed")}))] == 1
    assert samples[("linepatrol_inference_photo_seconds_count", frozenset())] == 4
    assert samples[("linepatrol_inference_photo_seconds_sum", frozenset())] == pytest.approx(2.0)
    assert samples[("linepatrol_inference_photo_seconds_bucket",
                    frozenset({("le", "0.5")}))] == 4  # 0.5 s each
    assert samples[("linepatrol_inference_photo_seconds_bucket",
                    frozenset({("le", "0.25")}))] == 0
    with pytest.raises(ValueError, match="negative"):
        metrics.record_batch(photos_done=-1, photos_failed=0, seconds=1.0)


def test_inference_metrics_of_the_services_are_on_the_apps_endpoint(api: Api):
    m = scrape(api)
    assert value(m, "linepatrol_inference_photos_total", outcome="done") == 0
    assert value(m, "linepatrol_inference_photos_total", outcome="failed") == 0
    api.services.inference_metrics.record_batch(photos_done=2, photos_failed=0, seconds=0.3)
    m = scrape(api)
    assert value(m, "linepatrol_inference_photos_total", outcome="done") == 2
    assert value(m, "linepatrol_inference_photo_seconds_count") == 2


def test_queue_depth_counts_photos_of_submitted_flights(held_api: Api):
    draft = held_api.new_flight()
    held_api.upload(draft["id"], [("d.jpg", jpeg(seed=800))])  # a draft: no work yet
    flight = held_api.new_flight()
    held_api.upload(flight["id"], [(f"{i}.jpg", jpeg(seed=810 + i)) for i in range(3)])
    m = scrape(held_api)
    assert value(m, "linepatrol_queue_photos", state="pending") == 0
    assert value(m, "linepatrol_queue_photos", state="claimed") == 0
    held_api.post(f"/flights/{flight['id']}/submit", "uploader")
    m = scrape(held_api)
    assert value(m, "linepatrol_queue_photos", state="pending") == 3
    assert value(m, "linepatrol_images", status="pending") == 4  # the draft's photo too


def test_a_processed_flight_empties_the_queue(api: Api):
    flight = api.new_flight()
    api.upload(flight["id"], [(f"{i}.jpg", jpeg(seed=820 + i)) for i in range(3)])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["status"] == "done"
    m = scrape(api)
    assert value(m, "linepatrol_queue_photos", state="pending") == 0
    assert value(m, "linepatrol_images", status="done") == 3
    assert value(m, "linepatrol_http_requests_total", method="POST", status="200",
                 handler="/api/v1/flights/{flight_id}/submit") == 1


def test_a_processed_flight_is_counted_by_the_inference_metrics(api: Api):
    flight = api.new_flight()
    whole = jpeg(seed=839, width=640, height=480)
    broken = whole[: len(whole) // 2] + whole[-2:]  # passes the upload check, fails decoding
    api.upload(flight["id"], [(f"{i}.jpg", jpeg(seed=830 + i)) for i in range(3)]
               + [("broken.jpg", broken)])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["progress"]["failed"] == 1
    m = scrape(api)
    assert value(m, "linepatrol_inference_photos_total", outcome="done") == 3
    assert value(m, "linepatrol_inference_photos_total", outcome="failed") == 1
    assert value(m, "linepatrol_inference_photo_seconds_count") == 4
    assert value(m, "linepatrol_inference_photo_seconds_sum") > 0
