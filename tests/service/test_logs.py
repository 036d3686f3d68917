"""Structured logs: JSON lines with the request id, through the request and into the worker."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from linepatrol_service.celery_app import TASK, make_celery, register_tasks
from linepatrol_service.logs import (
    ContextFilter,
    ReadableText,
    configure_logging,
    log_context,
    make_handler,
    resolve_format,
)
from linepatrol_service.request_id import HEADER, request_id_of, sane_request_id
from linepatrol_service.settings import ServiceSettings

from .photos import jpeg


class Lines:
    """What a JSON handler on the root logger wrote, one parsed object per record."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def about(self, needle: str) -> list[dict[str, Any]]:
        return [r for r in self.all() if needle in r["message"]]


@pytest.fixture
def json_lines(caplog: pytest.LogCaptureFixture) -> Iterator[Lines]:
    """The root logger at INFO with the service's JSON handler, as ``serve`` configures it."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = make_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Lines(stream)
    finally:
        root.removeHandler(handler)


def _record(message: str = "hello %s", *args: object,
            exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("linepatrol_service.test", logging.WARNING, __file__, 1, message,
                             args or ("world",), exc_info)


def test_json_line_has_the_fields_and_the_context_ids():
    stream = io.StringIO()
    handler = make_handler("json", stream)
    with log_context(request_id="req-1", flight_id=7):
        handler.handle(_record())
    handler.handle(_record())  # outside the context: no ids, and no nulls either
    colour = _record()
    colour.color_message = "\x1b[36mhello\x1b[0m"  # uvicorn's extra for its own formatter
    handler.handle(colour)
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "hello world" and first["level"] == "WARNING"
    assert first["logger"] == "linepatrol_service.test"
    assert first["time"].endswith("Z") and first["time"][:2] == "20"
    assert first["request_id"] == "req-1" and first["flight_id"] == 7
    assert "request_id" not in second and "flight_id" not in second
    assert set(third) == {"time", "level", "logger", "message"}


def test_json_line_carries_the_traceback_and_keeps_chinese_readable():
    stream = io.StringIO()
    handler = make_handler("json", stream)
    try:
        raise RuntimeError("detector gone")
    except RuntimeError:
        handler.handle(_record("线路 %s", "江城线", exc_info=sys.exc_info()))
    line = stream.getvalue()
    assert "江城线" in line  # not \\u escapes
    record = json.loads(line)
    assert "RuntimeError: detector gone" in record["exc_info"]


def test_text_format_for_a_terminal_shows_the_ids():
    formatter = ReadableText()
    record = _record()
    ContextFilter().filter(record)
    assert formatter.format(record).endswith("linepatrol_service.test: hello world")
    with log_context(request_id="req-2", flight_id=3):
        record = _record()
        ContextFilter().filter(record)
    assert "linepatrol_service.test [req-2 flight=3]: hello world" in formatter.format(record)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_elsewhere():
    assert resolve_format("auto", _Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", _Terminal()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"


def test_configure_logging_replaces_the_root_handlers():
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        handler = configure_logging("json", "INFO", stream)
        assert root.handlers == [handler] and root.level == logging.INFO
        logging.getLogger("uvicorn.error").info("started")  # a library's logger reaches it
        assert json.loads(stream.getvalue())["message"] == "started"
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)


def test_the_log_format_is_a_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LINEPATROL_LOG_FORMAT", raising=False)
    assert ServiceSettings().log_format == "auto"
    monkeypatch.setenv("LINEPATROL_LOG_FORMAT", "json")
    assert ServiceSettings().log_format == "json"
    monkeypatch.setenv("LINEPATROL_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        ServiceSettings()


@pytest.mark.parametrize("value", ["abc", "0f3e9a2c-5b1d-4e7a-9c1f-2d3b4a5c6d7e",
                                   "trace.1:span-2_x", "a" * 128])
def test_sane_request_ids_are_kept(value: str):
    assert sane_request_id(value) == value == request_id_of(value)


@pytest.mark.parametrize("value", ["", "a" * 129, "two words", 'quo"te', "line\nbreak",
                                   "carriage\rreturn", "ümlaut", "{json}", "a/b", "<script>"])
def test_hostile_request_ids_are_replaced(value: str):
    assert sane_request_id(value) is None
    fresh = request_id_of(value)
    assert fresh != value and sane_request_id(fresh) == fresh


def test_request_id_is_echoed_or_made(api):
    r = api.get("/flights", headers={HEADER: "client-req-42"})
    assert r.status_code == 200 and r.headers[HEADER] == "client-req-42"
    made = api.get("/flights").headers[HEADER]
    assert len(made) == 32 and int(made, 16) >= 0
    assert api.get("/flights").headers[HEADER] != made  # one per request
    for hostile in ("a" * 300, "two words", 'x"; drop'):
        r = api.get("/flights", headers={HEADER: hostile})
        assert r.headers[HEADER] != hostile and sane_request_id(r.headers[HEADER])
    # Answers that middleware or errors make carry it too.
    assert api.client.get("/api/v1/flights", headers={HEADER: "no-token"}).headers[
        HEADER] == "no-token"  # 401
    assert api.client.get("/nowhere", headers={HEADER: "lost"}).headers[HEADER] == "lost"


def test_request_log_lines_carry_the_request_id(api, json_lines: Lines):
    flight = api.new_flight()
    api.upload(flight["id"], [("a.jpg", jpeg(seed=700))])
    r = api.post(f"/flights/{flight['id']}/submit", "uploader",
                 headers={HEADER: "submit-req-1"})
    assert r.status_code == 200, r.text
    (submitted,) = json_lines.about(f"flight {flight['id']} submitted")
    assert submitted["request_id"] == "submit-req-1"
    assert submitted["logger"] == "linepatrol_service.routers.flights"
    api.wait(flight["id"])


def test_embedded_worker_logs_a_flight_under_its_submit_request_id(api, json_lines: Lines):
    flight = api.new_flight()
    api.upload(flight["id"], [(f"{i}.jpg", jpeg(seed=710 + i)) for i in range(3)])
    api.post(f"/flights/{flight['id']}/submit", "uploader", headers={HEADER: "submit-req-2"})
    assert api.wait(flight["id"])["status"] == "done"
    assert api.services.dispatcher.wait_idle(10)
    worker = [r for r in json_lines.all()
              if r["logger"] == "linepatrol_service.embedded"]
    assert [r["message"] for r in worker] == [
        f"flight {flight['id']}: processing on {api.services.dispatcher.name}",
        f"flight {flight['id']}: done"]
    assert all(r["request_id"] == "submit-req-2" and r["flight_id"] == flight["id"]
               for r in worker)


def test_celery_task_logs_a_flight_under_its_submit_request_id(held_api, json_lines: Lines):
    flight = held_api.new_flight()
    held_api.upload(flight["id"], [(f"{i}.jpg", jpeg(seed=720 + i)) for i in range(2)])
    held_api.post(f"/flights/{flight['id']}/submit", "uploader", headers={HEADER: "celery-req"})
    assert held_api.services.dispatcher.calls == [(flight["id"], 2, "celery-req")]
    # The task as a worker runs it (no broker: called in this process).
    app = make_celery(held_api.services.settings)
    register_tasks(app, lambda: held_api.services, "w1@test")
    assert app.tasks[TASK](flight["id"], "celery-req") == "done"
    worker = [r for r in json_lines.all() if r["logger"] == "linepatrol_service.celery_app"]
    assert [r["message"] for r in worker] == [
        f"flight {flight['id']}: processing on w1@test", f"flight {flight['id']}: done"]
    assert all(r["request_id"] == "celery-req" and r["flight_id"] == flight["id"]
               for r in worker)
