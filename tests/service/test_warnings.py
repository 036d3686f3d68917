"""Hazard warnings (预警): the distance table, issuing from a flight's hazards without
duplicates, the lifecycle and its permissions, reopening, deadlines, the execution rate, and
signed webhook deliveries retried until a real local receiver accepts them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from linepatrol.geo.locate import Defect as GeoDefect
from linepatrol_service import processing
from linepatrol_service.domain import TRANSITIONS, WarningStatus, Worker, may
from linepatrol_service.models import Defect, Flight, HazardWarning, WebhookDelivery
from linepatrol_service.roles import Permission
from linepatrol_service.warning_rules import (
    DEFAULT_TABLE,
    DistanceTable,
    WarningHours,
    execution_rate,
    voltage_of,
)
from linepatrol_service.warnings import raise_warnings
from linepatrol_service.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from support.service_settings import make_settings

from .conftest import Api, open_api

LINE = "500kV 江城线"  # 500 kV: zone 20 m; an excavator warns within 20 m, a truck crane 28.5


# --- the rules ------------------------------------------------------------------------------


def test_the_distance_table_follows_the_protection_zones_and_adds_boom_clearance() -> None:
    w = DEFAULT_TABLE.warning_distance_m
    assert [w("excavator", kv) for kv in (10, 35, 66, 110, 220, 330, 500, 750, 1000)] == [
        5, 10, 10, 10, 15, 15, 20, 25, 30]
    assert w("excavator", 0.4) == 5  # below the first band: the first band
    assert w("excavator", 1100) == 30  # above the last: the last
    assert w("truck_crane", 500) == 20 + 8.5  # GB 26859 crane clearance on top
    assert w("pile_driver", 10) == 5 + 3
    assert w("smoke_fire", 220) == 15 + 100  # the placeholder margin
    custom = DistanceTable({10: 6.0, 1000: 40.0}, {"excavator": 2.0, "truck_crane": 0.0})
    assert custom.warning_distance_m("excavator", 500) == 42.0
    assert custom.warning_distance_m("truck_crane", 10) == 6.0


def test_a_lines_voltage_comes_from_settings_then_its_name_then_the_default() -> None:
    assert voltage_of("500kV 江城线", {}, 110) == 500
    assert voltage_of("220 KV 某线", {}, 110) == 220
    assert voltage_of("±800kV 某线", {}, 110) == 800
    assert voltage_of("500kV 江城线", {"500kV 江城线": 750}, 110) == 750
    assert voltage_of("江城线", {}, 35) == 35


def test_the_execution_rate_says_no_warnings_rather_than_zero() -> None:
    assert execution_rate(0, 0) is None
    assert execution_rate(4, 0) == 0.0
    assert execution_rate(4, 3) == 0.75
    assert execution_rate(1, 1) == 1.0
    for bad in ((1, 2), (-1, 0), (0, -1)):
        with pytest.raises(ValueError):
            execution_rate(*bad)


def test_each_step_has_its_deadline_from_the_last_issue() -> None:
    hours = WarningHours(0.5, 2, 24, 72)
    t = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert hours.next_due(WarningStatus.ISSUED, t) == t + dt.timedelta(minutes=30)
    assert hours.next_due(WarningStatus.DISPATCHED, t) == t + dt.timedelta(hours=24)
    assert hours.next_due(WarningStatus.CLOSED, t) is None


def test_the_warning_moves_are_in_the_one_transition_table() -> None:
    review, worker = Permission.DEFECTS_WRITE, Worker.WORKER
    assert may(WarningStatus.ISSUED, WarningStatus.ACKNOWLEDGED, review)
    assert not may(WarningStatus.ISSUED, WarningStatus.CLOSED, review)
    assert not may(WarningStatus.CLOSED, WarningStatus.ISSUED, review)
    assert may(WarningStatus.CLOSED, WarningStatus.ISSUED, worker)
    targets = {b for (_, b) in TRANSITIONS if isinstance(b, WarningStatus)}
    assert set(WarningStatus) <= targets


# --- issuing from a flight ------------------------------------------------------------------


def _geo(class_key: str, distance: float, dn_m: float = 0.0) -> GeoDefect:
    return GeoDefect(
        defect_id="D1", class_key=class_key, category="hazard", name_zh="", name_en="",
        severity="serious", confidence=0.8, lat=30.5 + dn_m / 110_850.0, lon=114.3, alt=100.0,
        alt_datum=None, geo_reason=None, placement="ground", uncertainty_m=3.0, line=LINE,
        tower="N12", span=None, distance_to_line_m=distance, evidence=[],
    )


def _finish(api: Api, monkeypatch: pytest.MonkeyPatch, found: list[GeoDefect],
            day: int = 20, flight_id: int | None = None) -> int:
    """A flight of the line finalized through the real path, its geotagger's output given."""
    with api.services.sessions.begin() as s:
        if flight_id is None:
            flight = Flight(line=LINE, date=dt.date(2026, 11, day), status="processing")
            s.add(flight)
            s.flush()
            flight_id = flight.id
        else:
            s.get(Flight, flight_id).status = "processing"
    monkeypatch.setattr(processing, "locate", lambda *a: found)
    assert processing.finalize(api.services, flight_id)
    return flight_id


def _warnings(api: Api, role: str = "reviewer", **params: Any) -> dict[str, Any]:
    r = api.get("/warnings", role, params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_machine_within_its_distance_raises_one_warning_and_one_outside_none(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _finish(api, monkeypatch, [_geo("excavator", 12.0), _geo("truck_crane", 60.0, 500)])
    page = _warnings(api)
    assert page["total"] == 1
    (w,) = page["items"]
    assert (w["class_key"], w["status"], w["distance_m"], w["warning_distance_m"],
            w["voltage_kv"], w["tower"]) == ("excavator", "issued", 12.0, 20.0, 500.0, "N12")
    # reprocessing the flight, and a second flight seeing it again: still one warning
    _finish(api, monkeypatch, [_geo("excavator", 12.0), _geo("truck_crane", 60.0, 500)],
            flight_id=first)
    _finish(api, monkeypatch, [_geo("excavator", 11.0, 2.0)], day=21)
    page = _warnings(api)
    assert page["total"] == 1 and page["items"][0]["id"] == w["id"]
    detail = api.get(f"/warnings/{w['id']}", "reviewer").json()
    assert [e["event"] for e in detail["events"]] == ["issued"]
    assert detail["events"][0]["actor"] == "worker"


def test_the_lifecycle_moves_with_409_and_403_and_reopens_when_closer(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _finish(api, monkeypatch, [_geo("pump_truck", 25.0)])
    (w,) = _warnings(api)["items"]
    url = f"/warnings/{w['id']}"
    assert api.patch(url, "uploader", json={"status": "acknowledged"}).status_code == 403
    r = api.patch(url, "reviewer", json={"status": "resolved"})
    assert r.status_code == 409, r.text
    for step in ("acknowledged", "dispatched", "resolved", "closed"):
        r = api.patch(url, "reviewer", json={"status": step, "note": f"now {step}"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == step
    body = r.json()
    assert body["closed_at"] and body["due_at"] is None and not body["overdue"]
    assert [(e["from_status"], e["to_status"]) for e in body["events"]][1:] == [
        ("issued", "acknowledged"), ("acknowledged", "dispatched"),
        ("dispatched", "resolved"), ("resolved", "closed")]
    assert body["events"][-1]["actor"] == "test-reviewer (reviewer)"
    assert api.patch(url, "admin", json={"status": "issued"}).status_code == 409
    assert api.patch(url, "reviewer", json={"status": "bogus"}).status_code == 422

    _finish(api, monkeypatch, [_geo("pump_truck", 25.0)], day=21)  # not closer: stays closed
    assert api.get(url, "reviewer").json()["status"] == "closed"
    _finish(api, monkeypatch, [_geo("pump_truck", 9.0, 1.0)], day=22)  # closer: reopened
    again = api.get(url, "reviewer").json()
    assert (again["status"], again["distance_m"], again["reopened"]) == ("issued", 9.0, 1)
    assert again["events"][-1]["event"] == "reopened"
    assert again["closed_at"] is None and again["due_at"] is not None
    assert _warnings(api)["total"] == 1


def test_rejected_items_and_items_without_a_distance_raise_nothing(api: Api) -> None:
    with api.services.sessions.begin() as s:
        flight = Flight(line=LINE, date=dt.date(2026, 11, 20), status="done")
        s.add(flight)
        s.flush()
        rows = [Defect(flight_id=flight.id, class_key="excavator", detected_class="excavator",
                       category="hazard", confidence=0.9, line=LINE, distance_to_line_m=d,
                       status=st, evidence=[])
                for d, st in ((5.0, "rejected"), (None, "new"), (5.0, "new"))]
        rows.append(Defect(flight_id=flight.id, class_key="bird_nest", category="defect",
                           detected_class="bird_nest", confidence=0.9, line=LINE,
                           distance_to_line_m=1.0, evidence=[]))
        s.add_all(rows)
        s.flush()
        raised = raise_warnings(s, api.services.settings, rows)
        assert [w.defect_id for w in raised] == [rows[2].id]
        assert raise_warnings(s, api.services.settings, rows) == []  # never twice


@pytest.fixture
def quick_api(tmp_path: Path, tiny_model: Path) -> Iterator[Api]:
    settings = make_settings(tmp_path / "data", tiny_model, warning_acknowledge_h=1e-6,
                             warning_close_h=1e-6)
    yield from open_api(settings)


def test_deadlines_overdue_and_the_execution_rate(quick_api: Api,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    api = quick_api
    assert api.get("/warnings/stats", "reviewer").json()["rate"] is None  # no warnings yet
    assert api.get(f"/lines/{LINE}/summary", "reviewer").json()["warnings"]["rate"] is None
    _finish(api, monkeypatch, [_geo("excavator", 5.0), _geo("bulldozer", 6.0, 500)])
    time.sleep(0.01)
    late = _warnings(api, overdue="true")
    assert late["total"] == 2 and all(w["overdue"] for w in late["items"])
    assert _warnings(api, overdue="false")["total"] == 0
    first = late["items"][0]["id"]
    for step in ("acknowledged", "dispatched", "resolved", "closed"):
        assert api.patch(f"/warnings/{first}", "reviewer", json={"status": step}).status_code \
            == 200
    # open first: the closed one comes last
    assert [w["id"] for w in _warnings(api)["items"]][-1] == first
    assert _warnings(api, status="closed")["total"] == 1
    stats = api.get("/warnings/stats", "reviewer", params={"line": LINE}).json()
    # closed, but after its (tiny) close deadline: not in time
    assert (stats["issued"], stats["closed_in_time"], stats["open"], stats["rate"]) == (
        2, 0, 1, 0.0)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert api.get("/warnings/stats", "reviewer", params={"since": future}).json()["rate"] \
        is None
    summary = api.get(f"/lines/{LINE}/summary", "reviewer").json()["warnings"]
    assert summary["issued"] == 2 and summary["rate"] == 0.0
    assert api.get("/warnings/stats", "uploader").status_code == 403


def test_a_warning_closed_in_time_counts(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _finish(api, monkeypatch, [_geo("excavator", 5.0)])
    (w,) = _warnings(api)["items"]
    for step in ("acknowledged", "dispatched", "resolved", "closed"):
        api.patch(f"/warnings/{w['id']}", "reviewer", json={"status": step})
    stats = api.get("/warnings/stats", "reviewer").json()
    assert (stats["issued"], stats["closed_in_time"], stats["rate"]) == (1, 1, 1.0)


# --- webhooks -------------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that fails the first ``fail`` requests with 500."""

    def __init__(self, secret: str, fail: int) -> None:
        self.secret, self.fail = secret, fail
        self.requests: list[tuple[dict[str, str], bytes, bool]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers[TIMESTAMP_HEADER]
                expected = "sha256=" + hmac.new(receiver.secret.encode(),
                                                stamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                good = hmac.compare_digest(expected, self.headers[SIGNATURE_HEADER])
                receiver.requests.append((dict(self.headers), body, good))
                code = 500 if len(receiver.requests) <= receiver.fail or not good else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_webhook_deliveries_are_signed_retried_and_delivered(
        tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver("s3cret", fail=2)
    try:
        settings = make_settings(tmp_path / "data", tiny_model, webhook_url=receiver.url,
                                 webhook_secret="s3cret", webhook_base_delay_s=0.1,
                                 webhook_poll_s=0.05, webhook_max_attempts=5,
                                 public_url="https://lp.example")
        for api in open_api(settings):
            _finish(api, monkeypatch, [_geo("excavator", 5.0)])
            (w,) = _warnings(api)["items"]

            def delivered(api: Api = api) -> list[dict[str, Any]]:
                page = api.get("/webhooks/deliveries", "admin", params={"status": "delivered"})
                return list(page.json()["items"])

            _wait(lambda: len(delivered()) == 1)
            (d,) = delivered()
            assert (d["attempts"], d["response_code"], d["warning_id"]) == (3, 200, w["id"])
            assert len(receiver.requests) == 3 and all(good for *_, good in receiver.requests)
            doc = json.loads(receiver.requests[-1][1])
            assert (doc["event"], doc["status"], doc["line"], doc["class_key"],
                    doc["distance_m"], doc["tower"]) == (
                "issued", "issued", LINE, "excavator", 5.0, "N12")
            assert doc["link"] == f"https://lp.example/ui/warnings/{w['id']}"
            assert receiver.requests[0][1] == receiver.requests[-1][1]  # the same body

            api.patch(f"/warnings/{w['id']}", "reviewer",
                      json={"status": "acknowledged", "note": "on it"})
            _wait(lambda: len(delivered()) == 2)
            doc = json.loads(receiver.requests[-1][1])
            assert (doc["event"], doc["from_status"], doc["status"], doc["note"]) == (
                "moved", "issued", "acknowledged", "on it")
            assert api.get("/webhooks/deliveries", "reviewer").status_code == 403
            # the signature as documented: over "<timestamp>.<body>"
            headers, body, _ = receiver.requests[-1]
            assert headers[SIGNATURE_HEADER] == signature(
                "s3cret", headers[TIMESTAMP_HEADER], body)
    finally:
        receiver.close()


def test_a_delivery_that_never_succeeds_fails_after_its_attempts(
        tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver("s3cret", fail=100)
    try:
        settings = make_settings(tmp_path / "data", tiny_model, webhook_url=receiver.url,
                                 webhook_secret="s3cret", webhook_base_delay_s=0.05,
                                 webhook_poll_s=0.05, webhook_max_attempts=3)
        for api in open_api(settings):
            _finish(api, monkeypatch, [_geo("excavator", 5.0)])
            _wait(lambda api=api: api.get("/webhooks/deliveries", params={"status": "failed"})
                  .json()["total"] == 1)
            (d,) = api.get("/webhooks/deliveries").json()["items"]
            assert (d["attempts"], d["response_code"], d["last_error"]) == (3, 500, "HTTP 500")
            assert len(receiver.requests) == 3
    finally:
        receiver.close()


def test_no_webhook_url_no_deliveries(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _finish(api, monkeypatch, [_geo("excavator", 5.0)])
    assert _warnings(api)["total"] == 1
    with api.services.sessions() as s:
        assert s.query(WebhookDelivery).count() == 0
    assert api.get("/webhooks/deliveries").json()["total"] == 0


# --- PostgreSQL: two raisers at once --------------------------------------------------------


@pytest.mark.postgres
def test_two_raisers_at_once_make_one_warning_on_postgres(pg_api: Api) -> None:
    services = pg_api.services
    with services.sessions.begin() as s:
        flight = Flight(line=LINE, date=dt.date(2026, 11, 20), status="done")
        s.add(flight)
        s.flush()
        item = Defect(flight_id=flight.id, class_key="excavator", detected_class="excavator",
                      category="hazard", confidence=0.9, line=LINE, distance_to_line_m=5.0,
                      evidence=[])
        s.add(item)
        s.flush()
        item_id = item.id
    start = threading.Barrier(2, timeout=30)
    raised: list[int] = []

    def raiser() -> None:
        with services.sessions.begin() as s:
            row = s.get(Defect, item_id)
            assert row is not None
            start.wait()
            raised.extend(w.id for w in raise_warnings(s, services.settings, [row]))

    threads = [threading.Thread(target=raiser) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(raised) == 1
    with services.sessions() as s:
        assert s.query(HazardWarning).count() == 1
