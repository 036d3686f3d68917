"""Signing in through the browser: the API token in an HttpOnly cookie, and CSRF protection.

The browser never sees the token after sign-in: it lives in an ``HttpOnly; SameSite=Strict``
cookie (``Secure`` when the page was served over https). The web pages' scripts call the same
``/api/v1`` endpoints as any client; :class:`CookieBearerMiddleware` turns the cookie into the
``Authorization: Bearer`` header those endpoints read, so the API stays the one place that
validates input and checks permissions.

CSRF: a change (any method but GET/HEAD/OPTIONS) authenticated by the cookie must also carry the
page's CSRF token in the ``X-CSRF-Token`` header (scripts) or the ``csrf`` form field (the
sign-out form). The token is an HMAC of the session token, so it needs no server-side state,
cannot be computed by another site (it never sees the cookie), and dies with the session.
SameSite=Strict already keeps the cookie off cross-site requests; the token is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

SESSION_COOKIE = "lp_session"
LOGIN_CSRF_COOKIE = "lp_login_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_MAX_AGE_S = 12 * 3600  # a working day; signing in again is one paste


def csrf_token(session_token: str) -> str:
    """The CSRF token that goes with a session token (stateless: derived, never stored)."""
    return hmac.new(session_token.encode(), b"linepatrol-ui-csrf-v1", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(session_token), presented or "")


def new_login_nonce() -> str:
    """A random value for the sign-in form (double-submit: cookie and hidden field)."""
    return secrets.token_urlsafe(24)


def cookie_from_scope(scope: Scope, name: str) -> str | None:
    raw = Headers(scope=scope).get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is the client's problem, not a 500
        return None
    morsel = jar.get(name)
    return morsel.value if morsel and morsel.value else None


def cookie_kwargs(secure: bool, max_age: int | None = SESSION_MAX_AGE_S) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": "/",
            "max_age": max_age}


class CookieBearerMiddleware:
    """For requests under ``prefix`` without an Authorization header: use the session cookie as
    the bearer token, once the CSRF token checks out for changes (403 otherwise)."""

    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = None if "authorization" in headers else cookie_from_scope(scope, SESSION_COOKIE)
        if token is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS and not csrf_ok(token, headers.get(CSRF_HEADER)):
            body = json.dumps({"detail": "CSRF check failed: a change made with the sign-in "
                               "cookie needs the page's X-CSRF-Token header"}).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        scope = dict(scope)
        scope["headers"] = [*scope["headers"], (b"authorization", b"Bearer " + token.encode())]
        await self.app(scope, receive, send)
