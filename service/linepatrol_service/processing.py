"""Processing a flight: the one code path that the embedded worker and Celery tasks both run.

A flight's photos are claimed in batches (an atomic ``UPDATE ... WHERE status = 'pending'``), so
any number of workers can share a flight; each batch is decoded, run through the detector as one
batch, and its results committed in one transaction that only lands while the claim is still
the worker's own. A worker that dies leaves its claims behind; they return to the pool when the
same worker restarts (``reset_claims``) or after ``claim_lease_s`` for anybody else. When no photo
is left, one worker wins the ``processing -> done`` transition and, in the same transaction,
stores the flight's defects — so a crash at any point leaves either no defects or all of them,
and a photo's results are committed at most once (``processed_count`` counts it).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select, update

from linepatrol import taxonomy
from linepatrol.detections import DetectionRecord
from linepatrol.flight import FlightPhoto, detect_photos
from linepatrol_service.camera_hazards import update_camera_hazards
from linepatrol_service.coverage import covered_places, line_ledger
from linepatrol_service.domain import ACTIVE_FLIGHT, FlightStatus, PhotoStatus
from linepatrol_service.geotag import flight_photo, locate, stored_photo
from linepatrol_service.models import Camera, Defect, Flight, Image, utcnow
from linepatrol_service.registry import Deployed, deployment
from linepatrol_service.services import Services
from linepatrol_service.tracking import attach_flight, forget_flight, lock_line, mark_not_seen
from linepatrol_service.warnings import raise_warnings

log = logging.getLogger(__name__)

class OutcomeState(StrEnum):
    """How a run ended; ``WAITING``: other workers hold live claims, run again later."""

    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to do
    WAITING = "waiting"


@dataclass(frozen=True)
class Outcome:
    """How a run ended, and for ``WAITING`` after how many seconds to run again."""

    state: OutcomeState
    retry_in: float = 0.0


def reset_claims(services: Services, worker: str) -> int:
    """Return the claims a previous life of this worker left behind to the pool."""
    with services.sessions.begin() as s:
        result = s.execute(
            update(Image)
            .where(Image.status == PhotoStatus.CLAIMED,
                   Image.claimed_by.startswith(f"{worker}:", autoescape=True))
            .values(status=PhotoStatus.PENDING, claimed_by=None, claimed_at=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def resumable_flights(services: Services) -> list[tuple[int, int]]:
    """(flight id, photos not yet processed) for each queued or half-done flight."""
    with services.sessions() as s:
        rows = s.execute(
            select(Flight.id, func.count(Image.id))
            .outerjoin(Image, (Image.flight_id == Flight.id) & (Image.status != PhotoStatus.DONE)
                       & (Image.status != PhotoStatus.FAILED))
            .where(Flight.status.in_(ACTIVE_FLIGHT))
            .group_by(Flight.id)
            .order_by(Flight.id)
        ).all()
    return [(int(i), int(n)) for i, n in rows]


def _stale_before(services: Services) -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=services.settings.claim_lease_s)


def claim_size(services: Services) -> int:
    """Photos a worker claims at a time: the configured batch, or more where the loaded model
    takes more photos per call (a GPU's batch: a shorter claim would be padded with blank
    crops there). Before the model is loaded, the configured batch."""
    return max(services.settings.batch_size, services.detector.photos_per_call)


def claim_batch(services: Services, flight_id: int, worker: str) -> tuple[str, list[int]]:
    claim = f"{worker}:{uuid.uuid4().hex[:12]}"
    stale = _stale_before(services)
    claimable = (Image.status == PhotoStatus.PENDING) | (
        (Image.status == PhotoStatus.CLAIMED) & (Image.claimed_at < stale)
    )
    with services.sessions.begin() as s:
        ids = s.scalars(
            select(Image.id)
            .where(Image.flight_id == flight_id, claimable)
            .order_by(Image.id)
            .limit(claim_size(services))
        ).all()
        if not ids:
            return claim, []
        # Re-checking the condition in the UPDATE makes the claim atomic: a concurrent worker
        # that picked the same ids finds them taken once this transaction commits.
        s.execute(
            update(Image)
            .where(Image.id.in_(ids), claimable)
            .values(status=PhotoStatus.CLAIMED, claimed_by=claim, claimed_at=utcnow())
        )
    with services.sessions() as s:
        mine = s.scalars(
            select(Image.id).where(Image.id.in_(ids), Image.claimed_by == claim).order_by(Image.id)
        ).all()
    return claim, list(mine)


def _live_foreign_claims(services: Services, flight_id: int) -> dt.datetime | None:
    """The oldest live claim on this flight, if any (another worker is still on it)."""
    with services.sessions() as s:
        oldest: dt.datetime | None = s.scalar(
            select(func.min(Image.claimed_at)).where(
                Image.flight_id == flight_id, Image.status == PhotoStatus.CLAIMED
            )
        )
    return oldest


def process_batch(services: Services, claim: str, ids: list[int]) -> int:
    """Detect and commit one claimed batch through the core's flight use case (the photos'
    poses were read at upload); returns the photos committed."""
    started = time.perf_counter()
    with services.sessions() as s:
        images = list(s.scalars(select(Image).where(Image.id.in_(ids)).order_by(Image.id)))
        deployed = deployment(s, services.settings.model_dir, services.settings.model)
    services.detector.keep({deployed.active.spec}
                           | ({deployed.shadow.spec} if deployed.shadow else set()))
    photos = [flight_photo(im, services.store.path_for(im.sha256)) for im in images]
    detected = list(detect_photos(services.detector.get(deployed.active.spec),
                                  photos, max_pixels=services.settings.max_pixels))
    shadow = _shadow_run(services, deployed.shadow, photos)
    shadow_id = deployed.shadow.id if deployed.shadow else None
    committed = 0
    with services.sessions.begin() as s:
        now = utcnow()
        for photo in detected:
            record = photo.to_record()
            size = {"width": record["width"], "height": record["height"]} if photo.readable \
                else {}  # a photo that could not be read keeps the size its upload probed
            result = s.execute(
                update(Image)
                .where(Image.id == int(photo.name), Image.claimed_by == claim,
                       Image.status == PhotoStatus.CLAIMED)
                .values(status=PhotoStatus.DONE if photo.readable else PhotoStatus.FAILED,
                        error=record["error"], detections=record["detections"], **size,
                        model_version=deployed.active.name,
                        shadow_model_id=shadow_id if photo.name in shadow else None,
                        shadow_detections=shadow.get(photo.name),
                        claimed_by=None, claimed_at=None, processed_at=now,
                        processed_by=claim.rsplit(":", 1)[0],
                        processed_count=Image.processed_count + 1)
            )
            committed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    done = sum(1 for p in detected if p.readable)
    services.inference_metrics.record_batch(
        photos_done=done, photos_failed=len(detected) - done,
        seconds=time.perf_counter() - started)
    return committed


def _shadow_run(services: Services, shadow: Deployed | None,
                photos: list[FlightPhoto]) -> dict[str, list[DetectionRecord]]:
    """The shadow candidate's boxes per photo name (none without a shadow). A candidate that
    fails is logged and skipped: it must never hold up the flight the active model serves."""
    if shadow is None:
        return {}
    try:
        detector = services.detector.get(shadow.spec)
        return {p.name: p.to_record()["detections"] or []
                for p in detect_photos(detector, photos, max_pixels=services.settings.max_pixels)
                if p.readable}
    except Exception:
        log.exception("shadow model %s failed; the photos go on without it", shadow.name)
        return {}


def finalize(services: Services, flight_id: int) -> bool:
    """Store the flight's defects and mark it done, in one transaction; False if another
    worker did it first or the flight was cancelled meanwhile."""
    with services.sessions() as s:
        flight = s.get(Flight, flight_id)
        if flight is None:
            return False
        images = s.scalars(
            select(Image).where(Image.flight_id == flight_id, Image.status == PhotoStatus.DONE)
        ).all()
        photos = [stored_photo(im, services.store.path_for(im.sha256)) for im in images]
        ledger = line_ledger(s, flight.line)  # parsed once, for placing and for coverage
        line = flight.line
        covered = covered_places(s, services.settings, flight, ledger)  # candidate fixes
    located = locate(photos, line, ledger)
    with services.sessions.begin() as s:
        won = s.execute(
            update(Flight)
            .where(Flight.id == flight_id, Flight.status == FlightStatus.PROCESSING)
            .values(status=FlightStatus.DONE, finished_at=utcnow(), error=None)
        )
        if not won.rowcount:  # type: ignore[attr-defined]
            s.rollback()
            return False
        # Reprocessing: the flight's earlier sightings are undone first, so the same photos
        # never count twice; then each defect joins the line's item it matches, or starts one.
        flight_row = s.get(Flight, flight_id)
        assert flight_row is not None  # the transition above found it
        lock_line(s, flight_row.line)
        forget_flight(s, flight_id)
        now = utcnow()
        sighted = attach_flight(s, flight_row, located, now)
        mark_not_seen(s, flight_row, covered, sighted, now)
        # hazard warnings for the items the flight saw, in the same transaction (the line
        # is held): issued, or reopened when closer, never twice
        raise_warnings(s, services.settings, list(s.scalars(select(Defect).where(
            Defect.id.in_(sighted), Defect.category == taxonomy.Category.HAZARD.value))),
            now)
    return True


def run_flight(services: Services, flight_id: int, worker: str,
               before_batch: Callable[[], None] | None = None) -> Outcome:
    """Work on a flight until it is done, cancelled, or only other workers' claims remain.
    ``before_batch``: called before each batch is claimed (the embedded worker lets pending
    camera photos go first there)."""
    with services.sessions.begin() as s:
        flight = s.get(Flight, flight_id)
        if flight is None or flight.status not in ACTIVE_FLIGHT:
            return Outcome(OutcomeState.SKIPPED)
        if flight.status == FlightStatus.QUEUED:
            flight.status = FlightStatus.PROCESSING
            flight.started_at = utcnow()
    try:
        while True:
            with services.sessions() as s:
                status = s.scalar(select(Flight.status).where(Flight.id == flight_id))
            if status == FlightStatus.CANCELLED:
                return Outcome(OutcomeState.CANCELLED)
            if status != FlightStatus.PROCESSING:
                return Outcome(OutcomeState.SKIPPED)
            if before_batch is not None:
                before_batch()
            claim, ids = claim_batch(services, flight_id, worker)
            if ids:
                if services.settings.throttle_s:
                    time.sleep(services.settings.throttle_s)
                process_batch(services, claim, ids)
                continue
            oldest = _live_foreign_claims(services, flight_id)
            if oldest is not None:
                age = (utcnow() - _aware(oldest)).total_seconds()
                wait = max(0.5, services.settings.claim_lease_s - age)
                return Outcome(OutcomeState.WAITING, retry_in=min(wait, 30.0))
            won = finalize(services, flight_id)
            return Outcome(OutcomeState.DONE if won else OutcomeState.SKIPPED)
    except Exception as exc:
        log.exception("flight %s failed", flight_id)
        with services.sessions.begin() as s:
            s.execute(
                update(Flight)
                .where(Flight.id == flight_id, Flight.status.in_(ACTIVE_FLIGHT))
                .values(status=FlightStatus.FAILED, error=f"{type(exc).__name__}: {exc}",
                        finished_at=utcnow())
            )
            s.execute(
                update(Image)
                .where(Image.flight_id == flight_id, Image.status == PhotoStatus.CLAIMED,
                       Image.claimed_by.startswith(f"{worker}:", autoescape=True))
                .values(status=PhotoStatus.PENDING, claimed_by=None, claimed_at=None)
            )
        return Outcome(OutcomeState.FAILED)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- corridor cameras: their own queue, ahead of flights ------------------------------------


def claim_camera_batch(services: Services, worker: str) -> tuple[str, list[int]]:
    """Claim the oldest pending camera photos, across cameras (a batch of photos of many
    cameras is one detector call: 1000 cameras pushing a photo a minute need batches, not a
    call per photo); the same atomic claim as a flight's."""
    claim = f"{worker}:{uuid.uuid4().hex[:12]}"
    claimable = (Image.camera_id.is_not(None)) & (
        (Image.status == PhotoStatus.PENDING)
        | ((Image.status == PhotoStatus.CLAIMED) & (Image.claimed_at < _stale_before(services))))
    with services.sessions.begin() as s:
        ids = s.scalars(select(Image.id).where(claimable)
                        .order_by(Image.captured_at, Image.id).limit(claim_size(services))).all()
        if not ids:
            return claim, []
        s.execute(update(Image).where(Image.id.in_(ids), claimable)
                  .values(status=PhotoStatus.CLAIMED, claimed_by=claim, claimed_at=utcnow()))
    with services.sessions() as s:
        mine = s.scalars(select(Image.id).where(Image.id.in_(ids), Image.claimed_by == claim)
                         .order_by(Image.captured_at, Image.id)).all()
    return claim, list(mine)


def pending_camera_photos(services: Services) -> int:
    """Camera photos waiting for a worker (at start: whether to queue camera work)."""
    with services.sessions() as s:
        return int(s.scalar(select(func.count(Image.id)).where(
            Image.camera_id.is_not(None), Image.status != PhotoStatus.DONE,
            Image.status != PhotoStatus.FAILED)) or 0)


def take_hazard_steps(services: Services) -> int:
    """The hazard step of every detected camera photo that has not had it, oldest capture
    first: the camera's items (k of n, :func:`linepatrol_service.camera_hazards.
    update_camera_hazards`) and their warnings, one photo per transaction, marked done in it
    (``hazards_at``), so a worker killed at any point leaves each photo stepped once or not
    yet, never lost. Returns the photos stepped."""
    with services.sessions() as s:
        waiting = s.scalars(select(Image.id).where(
            Image.camera_id.is_not(None), Image.status == PhotoStatus.DONE,
            Image.hazards_at.is_(None)).order_by(Image.captured_at, Image.id)).all()
    stepped = 0
    for image_id in waiting:
        with services.sessions.begin() as s:
            # two workers: the row lock lets one step it, the other finds it marked
            image = s.get(Image, image_id, with_for_update=True)
            if image is None or image.camera_id is None or image.hazards_at is not None:
                continue
            camera = s.get(Camera, image.camera_id)
            if camera is not None:  # else removed meanwhile
                counted = update_camera_hazards(s, services, camera, image)
                # the camera's counted hazard items are warned about in the same transaction
                # (the k-of-n rule already kept single false detections out)
                raise_warnings(s, services.settings, counted)
            image.hazards_at = utcnow()
            stepped += 1
    return stepped


def run_cameras(services: Services, worker: str) -> int:
    """Detect every pending camera photo in batches and take each into its camera's hazard
    items (:func:`take_hazard_steps`), oldest capture first; returns the photos processed. A
    batch that fails is given back to the pool."""
    total = 0
    while True:
        claim, ids = claim_camera_batch(services, worker)
        if ids:
            try:
                process_batch(services, claim, ids)
            except Exception:
                log.exception("camera photos %s failed", ids)
                with services.sessions.begin() as s:
                    s.execute(update(Image).where(Image.id.in_(ids), Image.claimed_by == claim)
                              .values(status=PhotoStatus.PENDING, claimed_by=None,
                                      claimed_at=None))
                raise
        # also the photos a worker that died after their commit left without the step
        take_hazard_steps(services)
        if not ids:
            return total
        total += len(ids)
