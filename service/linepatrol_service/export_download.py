"""The client side of the training export (``linepatrol data export-reviewed``): the archive of
``GET /datasets/export`` downloaded to a partial file in the output folder, resumed where it
stopped, then unpacked there.

Resuming uses HTTP ``Range`` with ``If-Range`` on the archive's ETag (the server keeps each
archive as a file named by its content's hash, :mod:`linepatrol_service.export_zip`): a broken
connection, or the command run again after one, fetches only the missing bytes; if the review
changed the export in between, the server answers with the whole new archive and the download
starts over, so stale and new bytes are never joined. Every archive is checked (CRC of every
entry) before it is unpacked.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

CHUNK = 1024 * 1024
PART = ".export-reviewed.zip.part"
# What an export archive may hold at its top level (the files an older export left are
# replaced with --overwrite, nothing else in the folder is touched).
ENTRIES = ("data.yaml", "images", "labels", "annotations.json", "tasks.json",
           "label_config.xml", "manifest.json")


class DownloadError(Exception):
    """The server refused the export, or the download failed after every retry."""


class Progress(Protocol):
    def start(self, done: int, total: int | None) -> None: ...

    def advance(self, n: int) -> None: ...


@dataclass(frozen=True)
class ExportRequest:
    """The export's query: format, line, flights since a date, item statuses (empty: the
    server's default, every reviewed status)."""

    format: str = "yolo"
    line: str | None = None
    since: dt.date | None = None
    statuses: tuple[str, ...] = ()
    components: bool = False  # the detector's component boxes as labels too

    def params(self) -> httpx.QueryParams:
        params = [("format", self.format)]
        if self.components:
            params.append(("components", "true"))
        if self.line is not None:
            params.append(("line", self.line))
        if self.since is not None:
            params.append(("since", self.since.isoformat()))
        params += [("status", s) for s in self.statuses]
        return httpx.QueryParams(tuple(params))


def present_entries(out: Path) -> list[str]:
    return [name for name in ENTRIES if (out / name).exists()]


def _etag_file(part: Path) -> Path:
    return part.with_name(part.name + ".etag")


def _fetch(client: httpx.Client, request: ExportRequest, part: Path,
           progress: Progress | None) -> None:
    """One attempt: the missing bytes (or all of them) appended to ``part``."""
    etag_file = _etag_file(part)
    have = part.stat().st_size if part.is_file() else 0
    etag = etag_file.read_text().strip() if have and etag_file.is_file() else None
    headers = {"Range": f"bytes={have}-", "If-Range": etag} if have and etag else {}
    with client.stream("GET", "/datasets/export", params=request.params(),
                       headers=headers) as response:
        if response.status_code == 416 and headers:  # asked past the end: complete or stale
            size = response.headers.get("Content-Range", "").rpartition("/")[2]
            if size == str(have):
                return
            part.unlink()
            raise httpx.TransportError("the partial download does not fit; starting over")
        if response.status_code not in (200, 206):
            response.read()
            raise DownloadError(f"the server answered {response.status_code}: "
                                f"{response.text[:500]}")
        if response.status_code == 200:
            have = 0
        etag_file.write_text(response.headers.get("ETag", ""))
        length = response.headers.get("Content-Length")
        if progress is not None:
            progress.start(have, have + int(length) if length is not None else None)
        with part.open("ab" if have else "wb") as f:
            for chunk in response.iter_bytes(CHUNK):
                f.write(chunk)
                if progress is not None:
                    progress.advance(len(chunk))


def download(client: httpx.Client, request: ExportRequest, part: Path,
             progress: Progress | None = None, attempts: int = 5,
             pause_s: float = 2.0) -> Path:
    """The export archive in ``part`` (resumed from what ``part`` holds), trying ``attempts``
    times across broken connections. ``client`` is based at the API root (``/api/v1``)."""
    for attempt in range(attempts):
        try:
            _fetch(client, request, part, progress)
            return part
        except httpx.TransportError as exc:
            if attempt == attempts - 1:
                raise DownloadError(f"download failed after {attempts} attempts: {exc}") \
                    from None
            time.sleep(pause_s)
    raise DownloadError("no attempt was made")  # pragma: no cover - attempts >= 1


def unpack(part: Path, out: Path, overwrite: bool) -> list[str]:
    """Check the archive, replace the export entries ``out`` holds (with ``overwrite``) and
    unpack it there; the partial file goes. Returns the archive's top-level entries."""
    try:
        with zipfile.ZipFile(part) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise zipfile.BadZipFile(f"damaged at {bad}")
            names: Sequence[str] = zf.namelist()
            top = sorted({n.split("/", 1)[0] for n in names})
            unknown = [t for t in top if t not in ENTRIES]
            if unknown:
                raise DownloadError(f"unexpected entries in the archive: {unknown}")
            present = present_entries(out)
            if present and not overwrite:
                raise DownloadError(f"{out} already holds an export ({', '.join(present)}); "
                                    "pass --overwrite to replace it")
            for name in present:
                target = out / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            zf.extractall(out)
    except zipfile.BadZipFile as exc:
        part.unlink(missing_ok=True)
        _etag_file(part).unlink(missing_ok=True)
        raise DownloadError(f"the download is not a whole zip archive ({exc}); run again to "
                            "download it anew") from None
    part.unlink()
    _etag_file(part).unlink(missing_ok=True)
    return top
