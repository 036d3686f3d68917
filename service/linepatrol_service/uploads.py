"""Taking files into a flight: stream to the store, check, de-duplicate, record.

Each file (or zip member) gets its own answer — accepted, duplicate or rejected with a reason.
The work is in two phases so that the database is held only briefly and the request is
all-or-nothing on every database:

1. :meth:`Ingest.add_upload` (no database): spool each file, check it, read its pose.
2. :meth:`Ingest.record` (one short transaction): take the flight with the *draft guard* — a
   write on the flight row that only matches a draft, so it holds the row (PostgreSQL) or the
   database (SQLite) until the commit and a submit can never slip in between — then insert
   every accepted photo. Nested transactions are not used: pysqlite turns ``begin_nested()``
   into a real commit, which once left half an upload in a flight answered with a 409.

A request that fails removes the photo files it put in the store that no row refers to; what a
process killed in the middle of a request leaves behind goes at the next start
(:func:`sweep_orphans`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from fastapi import HTTPException, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linepatrol.images import ImageError
from linepatrol_service.auth import Principal
from linepatrol_service.domain import FlightStatus, PhotoStatus
from linepatrol_service.edge import store_edge_detections
from linepatrol_service.geotag import read_pose_summary
from linepatrol_service.intake import (
    ArchiveError,
    PhotoHeader,
    ZipLimits,
    check_photo,
    is_zip,
    open_zip,
    scan_zip,
)
from linepatrol_service.models import Flight, Image, UploadRefusal
from linepatrol_service.schemas import EdgeDetectionsIn, UploadItem, Verdict
from linepatrol_service.services import Services
from linepatrol_service.storage import CHUNK, Spooled, TooLarge
from linepatrol_service.validation import short, text_problem

_NO_GEO = "geotagging unavailable"
# Files older than this that no row refers to are left over from a crash: no upload takes a day
# between spooling a file and recording it, so the sweep never touches one in progress.
ORPHAN_GRACE_S = 24 * 3600.0
_SWEEP_BATCH = 500


@dataclass
class Candidate:
    """A photo that passed the checks of phase 1 and waits to be recorded."""

    name: str
    spooled: Spooled
    header: PhotoHeader
    pose: dict[str, Any] | None
    pose_error: str | None
    warnings: list[str] = field(default_factory=list)
    edge: EdgeDetectionsIn | None = None  # the edge's boxes, when a device sent it


class Ingest:
    def __init__(self, services: Services, flight_id: int, principal: Principal) -> None:
        self.services = services
        self.settings = services.settings
        self.flight_id = flight_id
        self.principal = principal
        self.entries: list[UploadItem | Candidate] = []
        # Bytes that zip members of this request may still expand to, all archives together.
        self.zip_budget = self.settings.zip_max_total_bytes
        self._stored: set[str] = set()  # digests whose store file this request created

    @property
    def items(self) -> list[UploadItem]:
        return [e for e in self.entries if isinstance(e, UploadItem)]

    def add_upload(self, name: str, stream: BinaryIO,
                   edge: EdgeDetectionsIn | None = None) -> None:
        """One uploaded part: a photo or a zip of photos (phase 1: no database); ``edge``: the
        boxes of the device's model on that photo (photos only)."""
        name = name or "unnamed"
        problem = text_problem(name)
        if problem:  # the bytes are never read: nothing is stored under a name the DB refuses
            self._reject(name, f"invalid file name: it {problem}")
            return
        try:
            spooled = self.services.store.spool_file(stream, self._upload_limit(name))
        except TooLarge as exc:
            self._reject(name, f"file too large: {exc}")
            return
        if is_zip(name, spooled.head):
            try:
                if edge is not None:
                    self._reject(name, "edge detections go with one photo, not an archive")
                else:
                    self._add_zip(name, spooled)
            finally:
                self.services.store.discard(spooled)
        else:
            self._add_photo(name, spooled, edge)

    def _reject(self, name: str, reason: str | None) -> None:
        """A refused file, its name as it can be stored and shown (a name is refused for holding
        a NUL; the refusal is recorded all the same)."""
        self.entries.append(UploadItem(filename=short(name, 500), status=Verdict.REJECTED,
                                       reason=reason))

    def _upload_limit(self, name: str) -> int:
        if name.lower().endswith(".zip"):
            return self.settings.max_request_bytes
        return self.settings.max_file_bytes

    def _add_zip(self, name: str, spooled: Spooled) -> None:
        limits = ZipLimits(
            max_entries=self.settings.zip_max_entries,
            max_total_bytes=self.zip_budget,
            max_entry_bytes=self.settings.max_file_bytes,
            max_ratio=self.settings.zip_max_ratio,
        )
        members = 0
        try:
            with open_zip(str(spooled.path), limits.max_entries) as zf:
                for entry in scan_zip(zf, limits):
                    members += 1
                    member = f"{name}/{entry.name}"
                    if entry.info is None:
                        self._reject(member, entry.reason)
                        continue
                    self.zip_budget -= entry.info.file_size
                    try:
                        with zf.open(entry.info) as src:
                            inner = self.services.store.spool(
                                iter(lambda src=src: src.read(CHUNK), b""),  # type: ignore[misc]
                                limits.max_entry_bytes,
                            )
                    except TooLarge as exc:
                        self._reject(member, f"file too large: {exc}")
                        continue
                    except Exception as exc:  # bad CRC, unsupported compression, ...
                        self._reject(member, f"unreadable archive entry ({exc})")
                        continue
                    if is_zip(entry.name, inner.head):
                        self.services.store.discard(inner)
                        self._reject(member, "nested archive")
                        continue
                    self._add_photo(member, inner)
        except ArchiveError as exc:
            self._reject(name, str(exc))
            return
        if members == 0:
            self._reject(name, "the archive holds no files")

    def _add_photo(self, name: str, spooled: Spooled,
                   edge: EdgeDetectionsIn | None = None) -> None:
        try:
            header = check_photo(str(spooled.path), spooled.head, spooled.size,
                                 self.settings.max_pixels)
        except ImageError as exc:
            self.services.store.discard(spooled)
            self._reject(name, exc.reason)
            return
        pose, pose_error = read_pose_summary(spooled.path)
        warnings = []
        if pose_error and pose_error != _NO_GEO:
            if self.settings.require_gps:
                self.services.store.discard(spooled)
                self._reject(name, f"no usable GPS position: {pose_error}")
                return
            warnings.append(f"no usable GPS position ({pose_error}): its defects will not be "
                            "located")
        self.entries.append(Candidate(name, spooled, header, pose, pose_error, warnings, edge))

    def record(self) -> list[UploadItem]:
        """Phase 2: every candidate into the flight in one transaction, or none of them."""
        try:
            try:
                return self._record_once()
            except IntegrityError:  # a concurrent request won a race the guard did not cover
                return self._record_once()
        except BaseException:
            self._clean_up()
            raise

    def _record_once(self) -> list[UploadItem]:
        with self.services.sessions.begin() as session:
            guard = session.execute(
                update(Flight).where(Flight.id == self.flight_id,
                                     Flight.status == FlightStatus.DRAFT)
                .values(status=FlightStatus.DRAFT)
            )
            if guard.rowcount == 0:  # type: ignore[attr-defined]
                raise HTTPException(status.HTTP_409_CONFLICT,
                                    f"flight {self.flight_id} was submitted during the upload; "
                                    "nothing of this request was added")
            rows = self._insert(session)
            session.add_all(self._refusals())
            session.flush()
        return [self._answer(e, rows.get(i)) for i, e in enumerate(self.entries)]

    def _insert(self, session: Session) -> dict[int, tuple[Image, str]]:
        """Rows for the candidates: index in ``entries`` -> (row, accepted or duplicate)."""
        candidates = [(i, e) for i, e in enumerate(self.entries) if isinstance(e, Candidate)]
        digests = {c.spooled.sha256 for _, c in candidates}
        present = {im.sha256: im for im in self._in_flight(session, digests)}
        elsewhere = self._elsewhere(session, digests)
        store = self.services.store
        rows: dict[int, tuple[Image, str]] = {}
        for i, c in candidates:
            digest = c.spooled.sha256
            if digest in present:
                store.discard(c.spooled)
                rows[i] = (present[digest], "duplicate")
                continue
            if not store.has(digest):
                self._stored.add(digest)
            store.commit(c.spooled)  # before the row: a row never points at a missing file
            image = Image(
                flight_id=self.flight_id, filename=c.name[:500], sha256=digest,
                size=c.spooled.size, format=c.header.format, width=c.header.width,
                height=c.header.height, pose=c.pose, pose_error=c.pose_error,
                status=PhotoStatus.PENDING,
            )
            store_edge_detections(image, c.edge)
            session.add(image)
            present[digest] = image
            if digest in elsewhere:
                c.warnings.append(f"the same photo is also in flight {elsewhere[digest]}")
            rows[i] = (image, "accepted")
        return rows

    def _refusals(self) -> list[UploadRefusal]:
        """Rows for the files refused (the flight page keeps the verdicts), recorded with the
        photos so that an upload undone (409) leaves none."""
        return [UploadRefusal(flight_id=self.flight_id, filename=i.filename[:500],
                              reason=i.reason or "refused")
                for i in self.items if i.status is Verdict.REJECTED]

    def _in_flight(self, session: Session, digests: Iterable[str]) -> Iterable[Image]:
        return session.scalars(select(Image).where(Image.flight_id == self.flight_id,
                                                   Image.sha256.in_(list(digests))))

    def _elsewhere(self, session: Session, digests: set[str]) -> dict[str, int]:
        """Another flight holding the same photo, among those the caller may see (an uploader
        must not learn other teams' flight ids from this warning)."""
        query = (select(Image.sha256, Image.flight_id)
                 .where(Image.sha256.in_(list(digests)), Image.flight_id != self.flight_id))
        if self.principal.sees_only_own_flights:
            query = query.join(Flight, Flight.id == Image.flight_id).where(
                Flight.created_by == self.principal.token_id)
        first: dict[str, int] = {}
        for digest, flight in session.execute(query.order_by(Image.id)):
            if flight is not None:  # never: NULL != id is not true; for the type checker
                first.setdefault(digest, flight)
        return first

    @staticmethod
    def _answer(entry: UploadItem | Candidate, row: tuple[Image, str] | None) -> UploadItem:
        if isinstance(entry, UploadItem) or row is None:
            assert isinstance(entry, UploadItem)
            return entry
        image, outcome = row
        if outcome == "duplicate":
            return UploadItem(
                filename=entry.name, status=Verdict.DUPLICATE, image_id=image.id,
                sha256=image.sha256,
                reason=f"same photo as image {image.id} ({image.filename}) of this flight",
            )
        return UploadItem(filename=entry.name, status=Verdict.ACCEPTED, image_id=image.id,
                          sha256=image.sha256, warnings=entry.warnings)

    def _clean_up(self) -> None:
        """After a failed record: drop spooled files, and store files this request created
        that no row refers to."""
        store = self.services.store
        for entry in self.entries:
            if isinstance(entry, Candidate):
                store.discard(entry.spooled)
        if not self._stored:
            return
        with self.services.sessions() as session:
            kept = set(session.scalars(select(Image.sha256).where(
                Image.sha256.in_(list(self._stored)))))
        for digest in self._stored - kept:
            store.path_for(digest).unlink(missing_ok=True)

    def discard(self) -> None:
        """Drop everything spooled, for a request that ends before :meth:`record`."""
        for entry in self.entries:
            if isinstance(entry, Candidate):
                self.services.store.discard(entry.spooled)


def ingest_upload(services: Services, principal: Principal, flight_id: int,
                  files: list[tuple[str, BinaryIO]],
                  edge: list[EdgeDetectionsIn | None] | None = None) -> list[UploadItem]:
    """Both phases for one request's files (blocking: call it from a worker thread);
    ``edge``: the edge's boxes per file, in the same order (None: no edge sent them)."""
    ingest = Ingest(services, flight_id, principal)
    edges = edge if edge is not None else [None] * len(files)
    try:
        for (name, stream), boxes in zip(files, edges, strict=True):
            ingest.add_upload(name, stream, boxes)
    except BaseException:
        ingest.discard()
        raise
    return ingest.record()


def sweep_orphans(services: Services, grace_s: float = ORPHAN_GRACE_S) -> int:
    """Remove what uploads killed mid-request left behind: spooled files in the temporary area
    and store files that no photo row refers to, older than ``grace_s``. Returns the count."""
    store = services.store
    cutoff = time.time() - grace_s
    removed = 0
    for path in store.tmp.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    old = {p.name: p for p in store.root.glob("??/*")
           if p.is_file() and p.stat().st_mtime < cutoff}
    digests = sorted(old)
    for start in range(0, len(digests), _SWEEP_BATCH):
        batch = digests[start:start + _SWEEP_BATCH]
        with services.sessions() as session:
            kept = set(session.scalars(select(Image.sha256).where(Image.sha256.in_(batch))))
        for digest in set(batch) - kept:
            old[digest].unlink(missing_ok=True)
            removed += 1
    return removed
