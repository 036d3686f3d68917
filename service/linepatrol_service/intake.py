"""Checking what an upload contains before it joins a flight: photo headers and zip archives.

Only headers are read here (a full decode of a 20 MP photo costs ~100 ms; the worker does it
anyway), but that catches zero-byte files, non-images, corrupt headers, decompression bombs and
JPEGs cut short. Whatever slips through fails at processing and is counted per photo there.
"""

from __future__ import annotations

import itertools
import mmap
import stat
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from linepatrol.images import ImageError, probe_image

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


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
    if fmt == "JPEG" and not _jpeg_complete(path):
        raise ImageError("truncated JPEG: no end-of-image marker")
    return PhotoHeader(fmt, width, height)


def _jpeg_complete(path: str) -> bool:
    """Whether the image data ends with an end-of-image marker — wherever that is: cameras and
    editors append bytes after it (maker notes, a second preview), and that photo is whole.

    The search starts at the first start-of-scan: the EXIF thumbnail in an APP segment before
    it has an end marker of its own; in the scan data 0xFF is always escaped, so the first
    0xFFD9 after it ends the image."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos = 2
        while pos + 4 <= len(data):
            if data[pos] != 0xFF:
                return False
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            if marker == 0xDA:
                return data.find(b"\xff\xd9", pos) >= 0
            pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return False


def is_zip(name: str, head: bytes) -> bool:
    return head[:4] in ZIP_MAGIC or name.lower().endswith(".zip")


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_total_bytes: int  # what the members may still expand to: the request's remaining budget
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
    overlap = overlapping_entries(zf)
    if overlap:
        raise ArchiveError(overlap)
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
            reason = (f"the zip members of this upload would expand past its remaining budget "
                      f"of {limits.max_total_bytes} bytes")
        if reason is None:
            total += info.file_size
            yield ZipEntry(name, info, None)
        else:
            yield ZipEntry(name, None, reason)


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
_DESCRIPTOR_MIN = 12  # a data descriptor after the data: CRC and sizes, at least 12 bytes


def overlapping_entries(zf: zipfile.ZipFile) -> str | None:
    """Why the members' byte ranges are not disjoint, or None when they are.

    Each member's local header and data must lie apart from every other's and before the
    central directory: a "zip bomb of overlapping entries" lists one large compressed member
    under many entries, each of which passes the per-entry checks, and expands it each time.
    """
    fp = zf.fp
    if fp is None:
        return None
    spans = []
    for info in zf.infolist():
        fp.seek(info.header_offset)
        local = fp.read(_LOCAL_HEADER.size)
        if len(local) < _LOCAL_HEADER.size or not local.startswith(b"PK\x03\x04"):
            return f"entry {info.filename[:100]!r} has no local header where the directory says"
        _, name_len, extra_len = _LOCAL_HEADER.unpack(local)
        end = (info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
               + info.compress_size + (_DESCRIPTOR_MIN if info.flag_bits & 0x08 else 0))
        spans.append((info.header_offset, end, info.filename[:100]))
    spans.sort()
    for (_, end, name), (start, _, other) in itertools.pairwise(spans):
        if start < end:
            return f"entries {name!r} and {other!r} overlap in the archive (zip bomb guard)"
    directory = getattr(zf, "start_dir", None)
    if spans and directory is not None and max(end for _, end, _ in spans) > directory:
        return "an entry overlaps the archive's central directory (zip bomb guard)"
    return None


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
