"""Outbound webhook: each warning event, POSTed as signed JSON to the deployment's one URL.

A delivery row is written in the transaction that records the event (:func:`enqueue`), with
the exact body that will be signed and sent; a worker thread (:class:`WebhookSender`: in the
embedded dispatcher, or in each ``linepatrol worker`` with Celery) sends the due ones and
retries a failure with exponential backoff (``WEBHOOK_BASE_DELAY_S`` doubled per failed
attempt, ``WEBHOOK_MAX_ATTEMPTS`` in all). The rows outlive restarts: nothing is lost. With no
``WEBHOOK_URL`` (the default) no row is written and nothing leaves the machine.

Signature: ``X-LinePatrol-Signature: sha256=<hex>``, the HMAC-SHA256 with ``WEBHOOK_SECRET``
over ``<X-LinePatrol-Timestamp>.<raw body>`` (the timestamp header: Unix seconds, so a
receiver can refuse old replays). :func:`signature` is how to compute it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import threading

import httpx
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from linepatrol_service.domain import DeliveryStatus, WarningEventKind
from linepatrol_service.models import HazardWarning, WarningEvent, WebhookDelivery, utcnow
from linepatrol_service.settings import ServiceSettings

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-LinePatrol-Signature"
TIMESTAMP_HEADER = "X-LinePatrol-Timestamp"
BATCH = 20


class WarningMessage(BaseModel):
    """The JSON document POSTed for each warning event (its schema is the contract)."""

    event: WarningEventKind
    event_id: int
    warning_id: int
    defect_id: int
    status: str
    from_status: str | None
    line: str
    tower: str | None
    span: str | None
    class_key: str
    distance_m: float
    warning_distance_m: float
    voltage_kv: float
    lat: float | None
    lon: float | None
    actor: str
    note: str | None
    at: dt.datetime
    issued_at: dt.datetime
    due_at: dt.datetime | None
    link: str


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def message(settings: ServiceSettings, w: HazardWarning, e: WarningEvent) -> WarningMessage:
    issued = _utc(w.last_issued_at)
    at = _utc(e.at)
    assert issued is not None and at is not None
    return WarningMessage(
        event=WarningEventKind(e.event), event_id=e.id, warning_id=w.id,
        defect_id=w.defect_id, status=w.status,
        from_status=e.from_status, line=w.line, tower=w.tower, span=w.span,
        class_key=w.class_key, distance_m=w.distance_m, warning_distance_m=w.warning_distance_m,
        voltage_kv=w.voltage_kv, lat=w.lat, lon=w.lon, actor=e.actor, note=e.note, at=at,
        issued_at=issued, due_at=_utc(w.due_at),
        link=f"{settings.public_url.rstrip('/')}/ui/warnings/{w.id}")


def enqueue(session: Session, settings: ServiceSettings, w: HazardWarning,
            e: WarningEvent) -> WebhookDelivery | None:
    """The event's delivery, due now; None when no webhook is configured."""
    if not settings.webhook_url:
        return None
    row = WebhookDelivery(event_id=e.id, warning_id=w.id,
                          body=message(settings, w, e).model_dump_json(),
                          status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=e.at,
                          created_at=e.at)
    session.add(row)
    return row


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-LinePatrol-Signature`` value: a receiver recomputes it from the raw body and the
    timestamp header and compares with :func:`hmac.compare_digest`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff_s(settings: ServiceSettings, attempts: int) -> float:
    """Wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base, ..."""
    return float(settings.webhook_base_delay_s * 2 ** max(0, attempts - 1))


def _claim(sessions: sessionmaker[Session], settings: ServiceSettings,
           now: dt.datetime) -> list[tuple[int, str, int]]:
    """Due deliveries, each claimed by moving its next attempt past this one's timeout (a
    conditional update: two senders never send one attempt twice)."""
    lease = now + dt.timedelta(seconds=settings.webhook_timeout_s + 30)
    claimed = []
    with sessions.begin() as s:
        due = s.execute(select(WebhookDelivery.id, WebhookDelivery.next_attempt_at,
                               WebhookDelivery.body, WebhookDelivery.attempts)
                        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
                               WebhookDelivery.next_attempt_at <= now)
                        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                        .limit(BATCH)).all()
        for id_, at, body, attempts in due:
            won = s.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == id_, WebhookDelivery.next_attempt_at == at,
                WebhookDelivery.status == DeliveryStatus.PENDING).values(next_attempt_at=lease))
            if won.rowcount:  # type: ignore[attr-defined]
                claimed.append((int(id_), str(body), int(attempts)))
    return claimed


def deliver_due(sessions: sessionmaker[Session], settings: ServiceSettings,
                client: httpx.Client, now: dt.datetime | None = None) -> int:
    """Send every due delivery once; returns how many were attempted."""
    if not settings.webhook_url:
        return 0
    claimed = _claim(sessions, settings, now or utcnow())
    for id_, body, attempts in claimed:
        raw = body.encode()
        stamp = str(int(utcnow().timestamp()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: signature(settings.webhook_secret, stamp, raw),
                   "User-Agent": "LinePatrol-Webhook/1"}
        code: int | None = None
        error: str | None = None
        try:
            response = client.post(settings.webhook_url, content=raw, headers=headers,
                                   timeout=settings.webhook_timeout_s)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        done = utcnow()
        attempts += 1
        values: dict[str, object] = {"attempts": attempts, "response_code": code,
                                     "last_error": error}
        if error is None:
            values.update(status=DeliveryStatus.DELIVERED, delivered_at=done)
        elif attempts >= settings.webhook_max_attempts:
            values.update(status=DeliveryStatus.FAILED)
            log.warning("webhook delivery %d failed for good after %d attempts: %s", id_,
                        attempts, error)
        else:
            values.update(next_attempt_at=done + dt.timedelta(
                seconds=backoff_s(settings, attempts)))
        with sessions.begin() as s:
            s.execute(update(WebhookDelivery).where(WebhookDelivery.id == id_).values(**values))
    return len(claimed)


class WebhookSender:
    """A thread that sends due deliveries every ``WEBHOOK_POLL_S`` (started only when a
    webhook is configured)."""

    def __init__(self, sessions: sessionmaker[Session], settings: ServiceSettings) -> None:
        self.sessions, self.settings = sessions, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.settings.webhook_url or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="linepatrol-webhooks",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_s + 5)
            self._thread = None

    def _loop(self) -> None:
        with httpx.Client(trust_env=False) as client:  # the configured URL, no proxy
            while not self._stop.is_set():
                try:
                    deliver_due(self.sessions, self.settings, client)
                except Exception:  # a database hiccup: try again next round
                    log.exception("webhook sender")
                self._stop.wait(self.settings.webhook_poll_s)
