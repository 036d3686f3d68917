"""What ``linepatrol edge`` does on the device: see photos, judge them with the small model,
spool them, and send the server what matters.

:func:`decide` is the edge's rule (pure); :class:`EdgeRunner` ties the detector, the spool and
the client together; :class:`FolderPoll` finds new complete photos in a watched folder.

The folder is polled rather than watched with inotify (``watchdog`` is no dependency of the
runtime install, and would be one more native package to carry onto a drone controller): a
controller's SD card or a USB mass-storage camera shows no change events at all, a network
share shows them unreliably, and a poll every few seconds costs nothing next to the model. A
photo is taken once its size and modification time held still across two polls: a camera
writing it, or a copy in progress, changes both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from linepatrol.detections import DetectionRecord
from linepatrol.edge.agreement import findings
from linepatrol.edge.client import EdgeClient, EdgeSummary, SentKind, Target
from linepatrol.edge.spool import EdgeVerdict, Spool, SpooledPhoto, SpoolState
from linepatrol.ensemble import AnyDetector
from linepatrol.images import DEFAULT_MAX_PIXELS
from linepatrol.pipeline import detect_files

log = logging.getLogger(__name__)
JPEG_SUFFIXES = (".jpg", ".jpeg")


@dataclass(frozen=True)
class EdgePolicy:
    """When the edge sends a photo: with a finding, and (``proof_every``) one photo per period
    of capture time even without one, so a fixed camera proves it was looking."""

    proof_every: dt.timedelta | None = None


def decide(detections: Sequence[DetectionRecord], captured_at: dt.datetime,
           last_sent_at: dt.datetime | None, policy: EdgePolicy) -> tuple[EdgeVerdict, str]:
    """The edge's verdict for one photo, and why."""
    if findings(detections):
        return EdgeVerdict.UPLOAD, "finding"
    if policy.proof_every is not None and (
            last_sent_at is None or captured_at - last_sent_at >= policy.proof_every):
        return EdgeVerdict.UPLOAD, "proof of coverage"
    return EdgeVerdict.SKIP, "no finding"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def captured_at(path: Path) -> dt.datetime:
    """When the photo was taken: EXIF DateTimeOriginal (the camera's local time, read as this
    device's local time, which is the camera's own on a camera box), else the file's
    modification time."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            value = im.getexif().get_ifd(0x8769).get(36867)  # Exif IFD, DateTimeOriginal
        if isinstance(value, str):
            return dt.datetime.strptime(value.strip(), "%Y:%m:%d %H:%M:%S").astimezone()
    except (OSError, ValueError, SyntaxError):
        pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()


@dataclass
class RoundResult:
    sent: int = 0
    refused: int = 0
    waiting: int = 0  # pending photos still in the spool
    error: str | None = None  # why the round stopped early (server refused us, unreachable)


@dataclass
class EdgeRunner:
    detector: AnyDetector
    model: str  # the edge model's name, as the server stores it
    spool: Spool
    client: EdgeClient
    target: Target
    device: str
    policy: EdgePolicy = field(default_factory=EdgePolicy)
    max_pixels: int = DEFAULT_MAX_PIXELS
    _reported: EdgeSummary | None = None

    def see(self, paths: Iterable[Path]) -> int:
        """Judge and spool the photos this target has not seen (by content); returns how many
        were new. A photo is spooled before anything is sent."""
        key = self.target.key
        new: list[tuple[str, Path, str]] = []
        hashes: set[str] = set()
        for path in paths:
            try:
                digest = file_sha256(path)
            except OSError as exc:
                log.warning("%s: %s", path, exc)
                continue
            if digest in hashes or self.spool.get(key, digest) is not None:
                continue
            hashes.add(digest)
            new.append((path.name, path, digest))
        digests = {str(path): digest for _, path, digest in new}
        for result in detect_files(self.detector, [(str(p), p) for _, p, _ in new],
                                   max_pixels=self.max_pixels):
            records = result.detections.records() if result.detections is not None else []
            taken = captured_at(result.path)
            if result.error is not None:
                verdict, reason = EdgeVerdict.SKIP, f"unreadable: {result.error}"
            else:
                verdict, reason = decide(records, taken, self.spool.last_sent_at(key),
                                         self.policy)
            self.spool.add(SpooledPhoto(
                target=key, sha256=digests[result.name], path=result.path,
                name=result.path.name, verdict=verdict, reason=reason,
                state=SpoolState.PENDING if verdict is EdgeVerdict.UPLOAD else SpoolState.SKIPPED,
                detections=records, model=self.model, captured_at=taken))
            log.info("%s: %s (%s)", result.path.name, verdict.value, reason)
        return len(new)

    def send(self, now: float | None = None) -> RoundResult:
        """One round: every due pending photo, oldest first, then the summary when it changed.
        Stops at the first answer that says the server refuses us or is away."""
        out = RoundResult()
        for photo in self.spool.due(self.target.key, now):
            sent = self.client.upload(self.target, photo)
            if sent.kind is SentKind.ACKED:
                self.spool.mark_uploaded(photo, sent.image_id)
                out.sent += 1
            elif sent.kind is SentKind.REFUSED:
                self.spool.mark_refused(photo, sent.message)
                out.refused += 1
                log.warning("%s refused by the server: %s", photo.name, sent.message)
            else:
                wait = self.spool.mark_failed(photo, sent.message, sent.retry_after_s, now)
                out.error = f"{sent.message}; trying again in {wait:.0f} s"
                break
        if out.error is None:
            out.error = self.report()
        out.waiting = self.spool.counts(self.target.key).pending
        return out

    def summary(self) -> EdgeSummary:
        counts = self.spool.counts(self.target.key)
        return EdgeSummary(device=self.device, model=self.model, seen=counts.seen,
                           uploaded=counts.uploaded, skipped=counts.skipped)

    def report(self) -> str | None:
        """Send the edge summary if it changed since the last one the server took; the error
        otherwise (sent again next round)."""
        summary = self.summary()
        if summary == self._reported:
            return None
        sent = self.client.report(self.target, summary)
        if sent.kind is SentKind.ACKED:
            self._reported = summary
            return None
        return sent.message


class FolderPoll:
    """New complete JPEGs under a folder, one poll at a time (see the module's docstring)."""

    def __init__(self, folder: Path, spool: Spool) -> None:
        self.folder = folder
        self.spool = spool
        self._last: dict[Path, tuple[int, int]] = {}

    def poll(self) -> list[Path]:
        """The photos whose size and mtime held since the previous poll and that this spool
        has not taken yet; each is remembered as taken."""
        current: dict[Path, tuple[int, int]] = {}
        for root, _dirs, names in os.walk(self.folder):
            for name in names:
                if not name.lower().endswith(JPEG_SUFFIXES) or name.startswith("."):
                    continue
                path = Path(root) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                current[path] = (st.st_size, st.st_mtime_ns)
        ready = []
        for path, stamp in sorted(current.items()):
            if stamp[0] == 0 or self._last.get(path) != stamp:
                continue
            if self.spool.file_known(path, *stamp):
                continue
            ready.append(path)
        self._last = current
        return ready

    def taken(self, paths: Iterable[Path]) -> None:
        for path in paths:
            stamp = self._last.get(path)
            if stamp is not None:
                self.spool.remember_file(path, *stamp)


def sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.time()))
