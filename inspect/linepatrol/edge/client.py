"""The edge's HTTP client: one photo per request to the server, each answer classified.

Written in the core with httpx rather than reusing ``linepatrol_service.client``: the core never
imports the service package (the service imports the core), and the edge needs no more than a
plain client — its own spool does the retrying and the back-off, per photo and across
restarts, so the service's in-request 503 retry transport would only hold a photo up. A 503's
``Retry-After`` is honoured all the same, as the spool's next try.

Contracts (the service's API):

- flight: ``POST /api/v1/flights/{id}/images``, multipart ``files`` (one photo) and the form
  field ``edge_detections`` (:data:`EDGE_FIELD`); answered with the upload result, whose one
  file is accepted or a duplicate (the same image id either way) or rejected with a reason.
- camera: ``POST /api/v1/cameras/{id}/images``, multipart ``file``, form ``captured_at``
  (ISO 8601) and ``edge_detections``; any 2xx is the acknowledgement (its ``image_id``, when the
  body carries one, is kept).
- edge summary: ``POST /api/v1/flights/{id}/edge-summary`` or
  ``POST /api/v1/cameras/{id}/edge-summary`` with :class:`EdgeSummary`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

import httpx
from pydantic import BaseModel, ConfigDict

from linepatrol.detections import DetectionRecord
from linepatrol.edge.spool import SpooledPhoto

EDGE_FIELD = "edge_detections"
# Answers after which the same request may succeed later: the server busy or restarting, a
# proxy in between that lost it.
_TRY_LATER = {408, 425, 429, 500, 502, 503, 504}
# Answers that one photo will never get past (the rest stop the round: a bad token or a flight
# no longer open is the operator's to fix, and the photos wait in the spool meanwhile).
_REFUSED_FOR_GOOD = {413, 415}


@dataclass(frozen=True)
class FlightTarget:
    flight_id: int

    @property
    def key(self) -> str:
        return f"flight:{self.flight_id}"


@dataclass(frozen=True)
class CameraTarget:
    camera_id: str

    @property
    def key(self) -> str:
        return f"camera:{self.camera_id}"


Target = FlightTarget | CameraTarget


def edge_payload(model: str, detections: list[DetectionRecord]) -> str:
    """The ``edge_detections`` form field: the edge model's name and its boxes (JSON)."""
    return json.dumps({"model": model, "detections": detections}, ensure_ascii=False)


class SentKind(StrEnum):
    ACKED = "acked"  # the server holds it (image_id)
    REFUSED = "refused"  # the server will never take this file
    RETRY = "retry"  # try this photo again later
    STOP = "stop"  # the server refuses us (token, flight): stop this round


@dataclass(frozen=True)
class Sent:
    kind: SentKind
    message: str = ""
    image_id: int | None = None
    retry_after_s: float | None = None


class EdgeSummary(BaseModel):
    """What the edge saw of a target, as counted by its spool (cumulative, so sending it again
    is harmless)."""

    model_config = ConfigDict(extra="forbid")

    device: str
    model: str
    seen: int
    uploaded: int
    skipped: int


class _UploadFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: str
    image_id: int | None = None
    reason: str | None = None


class _UploadResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    files: list[_UploadFile]


class _CameraAck(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image_id: int | None = None


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        return None
    return None if seconds is None or not 0 <= seconds < 3600 else seconds


class EdgeClient:
    """Uploads for one server; ``transport`` lets tests put a fake server in."""

    def __init__(self, server: str, token: str, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=f"{server.rstrip('/')}/api/v1",
                                 headers={"Authorization": f"Bearer {token}"},
                                 timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EdgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upload(self, target: Target, photo: SpooledPhoto) -> Sent:
        try:
            data = photo.path.read_bytes()
        except OSError as exc:  # the card was pulled: the photo waits for it
            return Sent(SentKind.RETRY, f"cannot read {photo.path}: {exc}")
        form = {EDGE_FIELD: edge_payload(photo.model, photo.detections)}
        if isinstance(target, FlightTarget):
            url = f"/flights/{target.flight_id}/images"
            files = {"files": (photo.name, data, "image/jpeg")}
        else:
            url = f"/cameras/{target.camera_id}/images"
            files = {"file": (photo.name, data, "image/jpeg")}
            form["captured_at"] = photo.captured_at.isoformat()
        try:
            response = self.http.post(url, files=files, data=form)
        except httpx.HTTPError as exc:
            return Sent(SentKind.RETRY, f"server unreachable: {exc}")
        return _classify(target, response)

    def report(self, target: Target, summary: EdgeSummary) -> Sent:
        """Send the edge summary to the flight's or the camera's summary route."""
        url = (f"/flights/{target.flight_id}/edge-summary" if isinstance(target, FlightTarget)
               else f"/cameras/{target.camera_id}/edge-summary")
        try:
            response = self.http.post(url, json=summary.model_dump())
        except httpx.HTTPError as exc:
            return Sent(SentKind.RETRY, f"server unreachable: {exc}")
        if response.is_success:
            return Sent(SentKind.ACKED)
        kind = SentKind.RETRY if response.status_code in _TRY_LATER else SentKind.STOP
        return Sent(kind, f"edge summary: {response.status_code} {response.text[:300]}",
                    retry_after_s=_retry_after(response))


def _classify(target: Target, response: httpx.Response) -> Sent:
    code = response.status_code
    if code in _TRY_LATER:
        return Sent(SentKind.RETRY, f"server answered {code}", retry_after_s=_retry_after(response))
    if code in _REFUSED_FOR_GOOD:
        return Sent(SentKind.REFUSED, f"server answered {code}: {response.text[:300]}")
    if not response.is_success:
        return Sent(SentKind.STOP, f"server answered {code}: {response.text[:300]}")
    if isinstance(target, CameraTarget):
        try:
            ack = _CameraAck.model_validate_json(response.content or b"{}")
        except ValueError:
            ack = _CameraAck()
        return Sent(SentKind.ACKED, image_id=ack.image_id)
    try:
        item = _UploadResult.model_validate_json(response.content).files[0]
    except (ValueError, IndexError):
        return Sent(SentKind.RETRY, f"unexpected answer: {response.text[:300]}")
    if item.status in ("accepted", "duplicate") and item.image_id is not None:
        return Sent(SentKind.ACKED, item.status, image_id=item.image_id)
    return Sent(SentKind.REFUSED, item.reason or item.status)
