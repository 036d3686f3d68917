"""Structured logs for the service processes: JSON lines for a log collector, text on a terminal.

Every record logged while a request is handled — and while a worker processes the flight that a
request submitted — carries that request's id (in a worker also the flight's id), so one search
finds a submit and everything the worker did for it, across processes. The ids live in context
variables: the request-id middleware (:mod:`linepatrol_service.request_id`) sets them for a
request, the workers around a flight (:func:`log_context`). A filter on the handler copies them
onto each record, so no logging call has to pass them.

Configured by the process entry points (``linepatrol serve``, ``linepatrol worker``) with
:func:`configure_logging`, never at import: importing the service must not replace the logging
of whatever imported it (tests, the demo).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["auto", "json", "text"]
# Record attributes that are no fields of a JSON line: logging's own, and uvicorn's copy of its
# message with terminal colour codes.
_NOT_FIELDS = [*RESERVED_ATTRS, "color_message"]

REQUEST_ID: ContextVar[str | None] = ContextVar("linepatrol_request_id", default=None)
FLIGHT_ID: ContextVar[int | None] = ContextVar("linepatrol_flight_id", default=None)


@contextmanager
def log_context(*, request_id: str | None, flight_id: int | None = None) -> Iterator[None]:
    """Within the block, log records carry these ids (a worker around one flight's work)."""
    request_token = REQUEST_ID.set(request_id)
    flight_token = FLIGHT_ID.set(flight_id)
    try:
        yield
    finally:
        FLIGHT_ID.reset(flight_token)
        REQUEST_ID.reset(request_token)


class ContextFilter(logging.Filter):
    """Copies the ids of the current context onto each record: only those that are set, so a
    JSON line has no ``null`` fields and a record logged with its own ``extra`` ids keeps
    them."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        flight_id = FLIGHT_ID.get()
        if flight_id is not None and not hasattr(record, "flight_id"):
            record.flight_id = flight_id
        return True


def _iso_utc(record: logging.LogRecord) -> str:
    when = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLines(JsonFormatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, then the ids (``request_id``, ``flight_id``) and any ``extra`` fields, and
    ``exc_info`` with the traceback. python-json-logger does the encoding (escaping, extras,
    exceptions); this class only fixes the field names and the time format."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}", style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=_NOT_FIELDS,
            json_ensure_ascii=False,  # line names are Chinese: keep them readable
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _iso_utc(record)


class ReadableText(logging.Formatter):
    """``time LEVEL logger [request flight=N]: message`` for a person at a terminal."""

    FORMAT = "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"

    def __init__(self) -> None:
        super().__init__(self.FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        parts = []
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            parts.append(str(request_id))
        flight_id = getattr(record, "flight_id", None)
        if flight_id is not None:
            parts.append(f"flight={flight_id}")
        ids = f" [{' '.join(parts)}]" if parts else ""
        return self.FORMAT % {**record.__dict__, "ids": ids}


def resolve_format(fmt: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    """``auto``: text when the stream is a terminal (a person reads it), else JSON (a
    collector: journald, Docker, Kubernetes)."""
    if fmt != "auto":
        return fmt
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def make_handler(fmt: LogFormat, stream: TextIO) -> logging.Handler:
    """A handler writing ``stream`` in the given format, with the context's ids on records."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLines() if resolve_format(fmt, stream) == "json"
                         else ReadableText())
    return handler


def configure_logging(fmt: LogFormat, level: str, stream: TextIO | None = None
                      ) -> logging.Handler:
    """Make the root logger write ``fmt`` to ``stream`` (stderr) at ``level``, replacing the
    handlers already there (the ``linepatrol`` command's plain text one). Libraries' loggers
    (uvicorn, Celery) propagate to it, so their lines come out in the same format."""
    handler = make_handler(fmt, stream if stream is not None else sys.stderr)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
