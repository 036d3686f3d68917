"""The client side of back-pressure: an httpx transport that sends a request again when the
server answers ``503`` with ``Retry-After`` (see :mod:`linepatrol_service.backpressure`).

A 503 without ``Retry-After`` is an outage the server could not wait out (a broker down, say)
and is returned as it is. Used by every ``linepatrol`` command that uploads, and by the load
benchmark.
"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

MAX_RETRIES = 20
MAX_WAIT_S = 60.0


def retry_after_s(response: httpx.Response) -> float | None:
    """Seconds to wait before sending again, or None when this answer is not back-pressure."""
    if response.status_code != 503:
        return None
    header = response.headers.get("Retry-After")
    try:
        seconds = float(header) if header is not None else None
    except ValueError:  # the HTTP-date form: this server never sends it
        return None
    if seconds is None or not 0 <= seconds < float("inf"):
        return None
    return min(seconds, MAX_WAIT_S)


class RetryAfterTransport(httpx.BaseTransport):
    """Wraps a transport; retries 503 + Retry-After up to ``retries`` times, with jitter so
    that refused clients do not all come back at once."""

    def __init__(self, inner: httpx.BaseTransport | None = None,
                 retries: int = MAX_RETRIES) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.retries = retries
        self.retried = 0  # how many times a request was sent again (the benchmark reports it)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(self.retries):
            response = self.inner.handle_request(request)
            wait = retry_after_s(response)
            if wait is None:
                return response
            response.close()
            self.retried += 1
            time.sleep(wait * random.uniform(1.0, 1.5))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def api_client(base: str, token: str, **kw: Any) -> httpx.Client:
    """An httpx client for ``{base}/api/v1`` with the bearer token and the 503 retry."""
    return httpx.Client(base_url=f"{base.rstrip('/')}/api/v1",
                        headers={"Authorization": f"Bearer {token}"},
                        transport=RetryAfterTransport(), **kw)
