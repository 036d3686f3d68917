"""Checking what an upload contains before it joins a flight: photo headers and zip archives.

Only headers are read here (a full decode of a 20 MP photo costs ~100 ms; the worker does it
anyway), but that catches zero-byte files, non-images, corrupt headers, decompression bombs and
JPEGs cut short. Whatever slips through fails at processing and is counted per photo there.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from linepatrol.images import ImageError, probe_image

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_EOI_WINDOW = 4096


@dataclass(frozen=True)
class PhotoHeader:
    format: str
    width: int
    height: int


def check_photo(path: str, head: bytes, size: int, max_pixels: int) -> PhotoHeader:
    """Header-level validation; :class:`ImageError` with a reason for a file that is no photo."""
    if size == 0:
        raise ImageError("empty file (0 bytes)")
    header = probe_image(path, head[:16], max_pixels)
    fmt, width, height = header.format, header.width, header.height
    if fmt == "JPEG":
        with open(path, "rb") as f:
            f.seek(max(0, size - _EOI_WINDOW))
            tail = f.read()
        if b"\xff\xd9" not in tail:
            raise ImageError("truncated JPEG: no end-of-image marker")
    return PhotoHeader(fmt, width, height)


def is_zip(name: str, head: bytes) -> bool:
    return head[:4] in ZIP_MAGIC or name.lower().endswith(".zip")


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int
    max_entry_bytes: int
    max_ratio: float


@dataclass(frozen=True)
class ZipEntry:
    """One member of an archive: either readable (``open``) or refused (``reason``)."""

    name: str
    info: zipfile.ZipInfo | None
    reason: str | None


class ArchiveError(ValueError):
    """The archive as a whole is refused (not a zip, too many entries)."""


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name could escape the extraction directory, or None if it cannot."""
    if not name or "\x00" in name:
        return "empty or invalid entry name"
    posix, win = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or win.is_absolute() or win.drive or name.startswith(("/", "\\")):
        return "absolute path in archive"
    if ".." in posix.parts or ".." in win.parts:
        return "path with '..' in archive"
    return None


def scan_zip(zf: zipfile.ZipFile, limits: ZipLimits) -> Iterator[ZipEntry]:
    """The archive's file entries, each either allowed or refused with a reason.

    Sizes are the ones the central directory declares; ``zipfile`` stops reading a member at its
    declared size and checks its CRC, so an entry cannot expand past what was checked here.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveError(
            f"archive has {len(infos)} entries, more than the limit of {limits.max_entries}"
        )
    total = 0
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        reason = unsafe_name_reason(name)
        mode = info.external_attr >> 16
        if reason is None and stat.S_ISLNK(mode):
            reason = "symbolic link in archive"
        elif reason is None and info.flag_bits & 0x1:
            reason = "encrypted archive entry"
        elif reason is None and name.lower().endswith(".zip"):
            reason = "nested archive"
        elif reason is None and info.file_size > limits.max_entry_bytes:
            reason = (
                f"entry of {info.file_size} bytes exceeds the per-file limit of "
                f"{limits.max_entry_bytes}"
            )
        elif reason is None and info.compress_size > 0 and (
            info.file_size / info.compress_size > limits.max_ratio
        ):
            reason = (
                f"compression ratio {info.file_size / info.compress_size:.0f}:1 exceeds "
                f"{limits.max_ratio:.0f}:1 (zip bomb guard)"
            )
        elif reason is None and info.compress_size == 0 and info.file_size > 0:
            reason = "inconsistent entry sizes (zip bomb guard)"
        elif reason is None and total + info.file_size > limits.max_total_bytes:
            reason = f"archive's total size exceeds the limit of {limits.max_total_bytes} bytes"
        if reason is None:
            total += info.file_size
            yield ZipEntry(name, info, None)
        else:
            yield ZipEntry(name, None, reason)


def declared_entries(path: str) -> int | None:
    """The entry count the archive's end record declares (Zip64 included), read before
    ``zipfile`` parses a central directory that a hostile archive can make enormous."""
    end_record = getattr(zipfile, "_EndRecData", None)  # stdlib, stable since Python 2
    if end_record is None:
        return None
    try:
        with open(path, "rb") as f:
            record = end_record(f)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    return None if record is None else int(record[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]


def open_zip(path: str, max_entries: int) -> zipfile.ZipFile:
    declared = declared_entries(path)
    if declared is not None and declared > max_entries:
        raise ArchiveError(
            f"archive has {declared} entries, more than the limit of {max_entries}"
        )
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"not a readable zip archive ({exc})") from None
