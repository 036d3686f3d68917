"""The one input validation layer: every request's text and JSON is checked here, once.

Text that reaches the database must be valid Unicode without NUL characters (PostgreSQL refuses
NUL in text columns and a lone surrogate cannot even be encoded as UTF-8), so bad text is a 422
before any router sees it, never a driver error (500). JSON bodies must hold finite numbers
only (Python's parser takes ``NaN`` and turns ``1e999`` into infinity) and nest no deeper than
:data:`MAX_JSON_DEPTH` (a 100,000-deep document would exhaust the parser's recursion).

:class:`InputGuard` applies this to the path, the query string and JSON or form bodies of every
request, and limits the body size (413); uploads check their file names with
:func:`text_problem`; :func:`validation_error_handler` answers FastAPI's own 422s without ever
echoing more than :data:`ECHO_CHARS` characters of the input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_DEPTH = 64
# What the OpenAPI schema says of every text field (the NUL part; lone surrogates cannot be
# written in a JSON Schema pattern and are refused by InputGuard alone).
TEXT_PATTERN = r"^[^\x00]*$"
MAX_QUERY_CHARS = 8192
ECHO_CHARS = 200
MAX_ERRORS = 20

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string literal (escapes included), unrolled so that long strings stay linear.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class InputError(ValueError):
    """Input refused by this layer: ``where`` names the part (a loc, as FastAPI's errors do)."""

    def __init__(self, where: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character"
    if _SURROGATE.search(value):
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def short(value: Any, limit: int = ECHO_CHARS) -> str:
    """``value`` as storable, encodable text of at most about ``limit`` characters (NUL and
    lone surrogates written as escapes), to echo or to record refused input."""
    text = value if isinstance(value, str) else repr(value)
    text = text[: limit + 1].replace("\x00", "\\x00")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "…"


def json_depth(raw: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text, found without parsing it."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int64)
    return int(np.cumsum(steps).max())


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {short(literal, 40)} is out of range")
    return value


def check_json(raw: bytes, where: tuple[str | int, ...] = ("body",)) -> Any:
    """Parse a JSON body strictly: finite numbers, bounded depth, storable text. Returns it."""
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise InputError(where, f"JSON nested {depth} deep; the limit is {MAX_JSON_DEPTH}")
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InputError(where, f"invalid JSON: {short(str(exc))}") from None
    check_texts(_strings(value, where))
    return value


def _strings(value: Any, where: tuple[str | int, ...]) -> Iterable[tuple[tuple[str | int, ...],
                                                                          str]]:
    stack = [(where, value)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, str):
            yield loc, item
        elif isinstance(item, dict):
            for key, sub in item.items():
                yield loc, key
                stack.append(((*loc, short(key, 40)), sub))
        elif isinstance(item, list):
            stack.extend(((*loc, i), sub) for i, sub in enumerate(item))


def check_texts(items: Iterable[tuple[tuple[str | int, ...], str]]) -> None:
    for loc, text in items:
        problem = text_problem(text)
        if problem:
            raise InputError(loc, f"text {problem}")


def check_query(query_string: bytes) -> None:
    if len(query_string) > MAX_QUERY_CHARS:
        raise InputError(("query",), f"query string longer than {MAX_QUERY_CHARS} characters")
    check_form(query_string, "query")


def check_form(encoded: bytes, where: str = "body") -> None:
    """URL-encoded pairs (a query string or a form body): storable text in names and values."""
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True,
                      encoding="utf-8", errors="replace")
    check_texts(((where, short(k, 40)), t) for k, v in pairs for t in (k, v))


def error_body(errors: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's 422 shape, each part made short and encodable (the input is never echoed)."""
    detail: list[dict[str, Any]] = []
    for err in errors:
        if len(detail) == MAX_ERRORS:
            break
        detail.append({
            "loc": [p if isinstance(p, int) else short(p, 80) for p in err.get("loc", ())],
            "msg": short(err.get("msg", "")),
            "type": short(err.get("type", "value_error"), 80),
        })
    return {"detail": detail}


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 without the ``input`` echo (a 50 MB body once came back whole) and
    without crashing on text that cannot be encoded."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(error_body(exc.errors()), status_code=422)


class _TooLarge(Exception):
    pass


FORM = "application/x-www-form-urlencoded"


def is_json(content_type: str) -> bool:
    """Whether FastAPI parses a body of this type as JSON: as it does, no type at all too."""
    return content_type == "" or content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json"))


class InputGuard:
    """ASGI middleware: body size limits (413) and the text and JSON checks (422).

    Uploads (multipart) may be up to ``upload_limit`` bytes and are streamed through; every
    other body up to ``body_limit``. JSON and form bodies are read whole (within that limit),
    checked, and handed on unchanged.
    """

    def __init__(self, app: ASGIApp, upload_limit: int, body_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        limit = self.upload_limit if ctype == "multipart/form-data" else self.body_limit
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > limit:
            await self._too_large(limit)(scope, receive, send)
            return
        try:
            path_problem = text_problem(scope.get("path", ""))
            if path_problem:
                raise InputError(("path",), f"text {path_problem}")
            check_query(scope.get("query_string", b""))
            if ctype == FORM or is_json(ctype):
                body = await self._read(receive, limit)
                if ctype == FORM:
                    check_form(body)
                elif body.strip():
                    check_json(body)
                receive = self._replay(body, receive)
        except InputError as exc:
            answer = error_body([{"loc": exc.where, "msg": exc.message, "type": "value_error"}])
            await JSONResponse(answer, status_code=422)(scope, receive, send)
            return
        except _TooLarge:
            await self._too_large(limit)(scope, receive, send)
            return
        await self._stream(scope, receive, send, limit)

    async def _read(self, receive: Receive, limit: int) -> bytes:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > limit:
                raise _TooLarge
            if not message.get("more_body", False):
                break
        return bytes(body)

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _stream(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app, counting the body as it streams (chunked uploads declare no length)."""
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(limit)(scope, receive, send)

    @staticmethod
    def _too_large(limit: int) -> JSONResponse:
        return JSONResponse({"detail": f"request body larger than the {limit} byte limit"},
                            status_code=413)
