"""A request id on every request: taken from ``X-Request-ID`` or made here, logged, echoed.

A proxy or client that sends its own id gets it back and finds it in the service's logs; the
id only has to be a sane token. Anything else — too long, spaces, quotes, line breaks, non-ASCII
— could forge log lines or headers, so it is replaced by a fresh id (never cleaned up: a
half-kept id would match nothing on the caller's side either).
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linepatrol_service.logs import REQUEST_ID

HEADER = "X-Request-ID"
MAX_LENGTH = 128
_SANE = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it is a token safe to log and echo, else None."""
    if value is not None and _SANE.fullmatch(value):
        return value
    return None


def request_id_of(value: str | None) -> str:
    """The id a request goes by: its own when sane, else a new one."""
    return sane_request_id(value) or new_request_id()


class RequestIdMiddleware:
    """ASGI middleware, the outermost: sets :data:`~linepatrol_service.logs.REQUEST_ID` for
    the request (every record logged meanwhile carries it, the access log's too, and a flight
    submitted by the request takes it to the worker) and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(Headers(scope=scope).get(HEADER))

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, with_id)
        finally:
            REQUEST_ID.reset(token)
