"""The edge's spool: a SQLite file that remembers every photo the device saw, what the edge
decided for it and whether the server has it, so that nothing is lost and nothing is sent twice.

- Every photo seen is a row keyed by (target, content hash), written *before* any upload: a
  photo seen once is never judged or counted again, whatever its path.
- A photo to send stays ``pending`` until the server acknowledged it with an image id; only
  then is it ``uploaded``. A crash between the server's commit and ours re-sends the photo,
  and the server answers a photo it holds (same flight, same content hash) with the same image
  id, so the re-send is harmless and the row is then marked.
- A photo without findings is ``skipped`` at once and counted: the edge summary the server
  gets says how many photos the device saw and did not send, so coverage stays honest.
- Failures back off exponentially per photo (``next_try``), capped, with the server's
  ``Retry-After`` taking precedence; a file the server refuses for good (not a photo, say) is
  ``refused`` with its reason, never retried.

SQLite in WAL mode with ``synchronous=FULL``: a row committed survives a power cut, which is
what a drone controller's card or a camera's box gets. Times are Unix seconds (the spool never
leaves the device).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from linepatrol.detections import DetectionRecord

BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 300.0


class EdgeVerdict(StrEnum):
    """What the edge decided for a photo."""

    UPLOAD = "upload"
    SKIP = "skip"


class SpoolState(StrEnum):
    PENDING = "pending"  # to send; stays so across restarts until the server acknowledges it
    UPLOADED = "uploaded"  # acknowledged by the server (``image_id``): never sent again
    SKIPPED = "skipped"  # no finding on the edge: counted, not sent
    REFUSED = "refused"  # the server refused the file for good (``last_error`` says why)


# The only moves a row makes; a photo starts PENDING (verdict upload) or SKIPPED (skip).
MOVES: dict[SpoolState, frozenset[SpoolState]] = {
    SpoolState.PENDING: frozenset({SpoolState.UPLOADED, SpoolState.REFUSED}),
    SpoolState.UPLOADED: frozenset(),
    SpoolState.SKIPPED: frozenset(),
    SpoolState.REFUSED: frozenset(),
}


class SpoolError(RuntimeError):
    """A move the table does not allow (a bug, or two processes on one spool)."""


@dataclass(frozen=True)
class SpooledPhoto:
    target: str
    sha256: str
    path: Path
    name: str
    verdict: EdgeVerdict
    reason: str  # finding, proof, no finding, unreadable: ...
    state: SpoolState
    detections: list[DetectionRecord]
    model: str
    captured_at: dt.datetime
    attempts: int = 0
    image_id: int | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class SpoolCounts:
    """A target's photos by what became of them (the edge summary the server gets)."""

    seen: int
    uploaded: int
    skipped: int
    pending: int
    refused: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS photos (
    target TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    detections TEXT NOT NULL,
    model TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    seen_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    image_id INTEGER,
    done_at REAL,
    PRIMARY KEY (target, sha256)
);
CREATE INDEX IF NOT EXISTS ix_photos_state ON photos (target, state, next_try);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
);
"""
_COLUMNS = ("target, sha256, path, name, verdict, reason, state, detections, model, "
            "captured_at, attempts, image_id, last_error")


def backoff_s(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 2, 4, 8 ... 300."""
    return float(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


class Spool:
    """One spool file. Single writer: one ``linepatrol edge`` per spool folder."""

    FILE = "spool.sqlite3"

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / self.FILE
        self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit per statement
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- files a watched folder showed -------------------------------------------------------

    def file_known(self, path: Path, size: int, mtime_ns: int) -> bool:
        row = self._db.execute("SELECT size, mtime_ns FROM files WHERE path = ?",
                               (str(path),)).fetchone()
        return row is not None and (row[0], row[1]) == (size, mtime_ns)

    def remember_file(self, path: Path, size: int, mtime_ns: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO files (path, size, mtime_ns) VALUES (?, ?, ?)",
                         (str(path), size, mtime_ns))

    # --- photos ------------------------------------------------------------------------------

    def get(self, target: str, sha256: str) -> SpooledPhoto | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM photos WHERE target = ? AND sha256 = ?",
                               (target, sha256)).fetchone()
        return None if row is None else _photo(row)

    def add(self, photo: SpooledPhoto) -> bool:
        """Record a photo seen; False (and nothing changes) when this target has it already."""
        if photo.state not in (SpoolState.PENDING, SpoolState.SKIPPED):
            raise SpoolError(f"a photo enters the spool pending or skipped, not {photo.state}")
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO photos (target, sha256, path, name, verdict, reason, state, "
            "detections, model, captured_at, seen_at, done_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (photo.target, photo.sha256, str(photo.path), photo.name, photo.verdict.value,
             photo.reason, photo.state.value, json.dumps(photo.detections), photo.model,
             photo.captured_at.isoformat(), time.time(),
             time.time() if photo.state is SpoolState.SKIPPED else None))
        return cursor.rowcount == 1

    def due(self, target: str, now: float | None = None, limit: int = 100) -> list[SpooledPhoto]:
        """Pending photos whose next try is due, oldest first."""
        now = time.time() if now is None else now
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM photos WHERE target = ? AND state = ? AND next_try <= ? "
            "ORDER BY seen_at LIMIT ?", (target, SpoolState.PENDING.value, now, limit))
        return [_photo(r) for r in rows]

    def next_try(self, target: str) -> float | None:
        """When the earliest pending photo may be tried (None: nothing pending)."""
        row = self._db.execute("SELECT MIN(next_try) FROM photos WHERE target = ? AND state = ?",
                               (target, SpoolState.PENDING.value)).fetchone()
        return None if row[0] is None else float(row[0])

    def _move(self, photo: SpooledPhoto, to: SpoolState, **values: object) -> None:
        if to not in MOVES[photo.state]:
            raise SpoolError(f"{photo.name}: {photo.state} -> {to} is not a move")
        sets = ", ".join(f"{k} = ?" for k in values)
        cursor = self._db.execute(
            f"UPDATE photos SET state = ?, {sets} WHERE target = ? AND sha256 = ? AND state = ?",
            (to.value, *values.values(), photo.target, photo.sha256, photo.state.value))
        if cursor.rowcount != 1:
            raise SpoolError(f"{photo.name} is no longer {photo.state}")

    def mark_uploaded(self, photo: SpooledPhoto, image_id: int | None) -> None:
        self._move(photo, SpoolState.UPLOADED, image_id=image_id, done_at=time.time(),
                   last_error=None)

    def mark_refused(self, photo: SpooledPhoto, reason: str) -> None:
        self._move(photo, SpoolState.REFUSED, last_error=reason[:2000], done_at=time.time())

    def mark_failed(self, photo: SpooledPhoto, error: str, retry_after_s: float | None = None,
                    now: float | None = None) -> float:
        """A try that failed (server unreachable, 5xx): tried again after the back-off or the
        server's Retry-After. Returns the seconds until then."""
        now = time.time() if now is None else now
        attempts = photo.attempts + 1
        wait = retry_after_s if retry_after_s is not None else backoff_s(attempts)
        self._db.execute(
            "UPDATE photos SET attempts = ?, next_try = ?, last_error = ? "
            "WHERE target = ? AND sha256 = ? AND state = ?",
            (attempts, now + wait, error[:2000], photo.target, photo.sha256,
             SpoolState.PENDING.value))
        return wait

    def retry_now(self, target: str) -> None:
        """Every pending photo due at once (the command started again: try straight away)."""
        self._db.execute("UPDATE photos SET next_try = 0 WHERE target = ? AND state = ?",
                         (target, SpoolState.PENDING.value))

    def last_sent_at(self, target: str) -> dt.datetime | None:
        """The capture time of the newest photo this target sent or will send (proof of
        coverage counts from it)."""
        row = self._db.execute(
            "SELECT MAX(captured_at) FROM photos WHERE target = ? AND verdict = ?",
            (target, EdgeVerdict.UPLOAD.value)).fetchone()
        return None if row[0] is None else dt.datetime.fromisoformat(row[0])

    def counts(self, target: str) -> SpoolCounts:
        by_state = dict(self._db.execute(
            "SELECT state, COUNT(*) FROM photos WHERE target = ? GROUP BY state", (target,)))
        n = {state: int(by_state.get(state.value, 0)) for state in SpoolState}
        return SpoolCounts(seen=sum(n.values()), uploaded=n[SpoolState.UPLOADED],
                           skipped=n[SpoolState.SKIPPED], pending=n[SpoolState.PENDING],
                           refused=n[SpoolState.REFUSED])

    def photos(self, target: str) -> Iterator[SpooledPhoto]:
        for row in self._db.execute(f"SELECT {_COLUMNS} FROM photos WHERE target = ? "
                                    "ORDER BY seen_at", (target,)):
            yield _photo(row)


def _photo(row: Sequence[object]) -> SpooledPhoto:
    (target, sha256, path, name, verdict, reason, state, detections, model, captured_at,
     attempts, image_id, last_error) = row
    return SpooledPhoto(
        target=str(target), sha256=str(sha256), path=Path(str(path)), name=str(name),
        verdict=EdgeVerdict(str(verdict)), reason=str(reason), state=SpoolState(str(state)),
        detections=json.loads(str(detections)), model=str(model),
        captured_at=dt.datetime.fromisoformat(str(captured_at)), attempts=int(str(attempts)),
        image_id=None if image_id is None else int(str(image_id)),
        last_error=None if last_error is None else str(last_error))
