"""Content-addressed photo store: each photo lives once under its SHA-256, so a photo that is
uploaded again (to this flight or another) is recognised and not stored twice."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class TooLarge(Exception):
    """A stream went past its byte limit (the partial file has been removed)."""


@dataclass(frozen=True)
class Spooled:
    """A file streamed to the store's temporary area, hashed on the way."""

    path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for sniffing the type


class PhotoStore:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp
        root.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def spool(self, chunks: Iterable[bytes], limit: int) -> Spooled:
        """Write chunks to a temporary file while hashing; :class:`TooLarge` past ``limit``."""
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="up-")
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"larger than the {limit} byte limit")
                    if len(head) < 64:
                        head += chunk[: 64 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Spooled(Path(name), digest.hexdigest(), size, head)

    def spool_file(self, src: BinaryIO, limit: int) -> Spooled:
        return self.spool(iter(lambda: src.read(CHUNK), b""), limit)

    def commit(self, spooled: Spooled) -> Path:
        """Move a spooled file to its place in the store (or drop it if already there)."""
        dest = self.path_for(spooled.sha256)
        if dest.is_file():
            spooled.path.unlink(missing_ok=True)
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spooled.path, dest)  # atomic: readers never see a half-written photo
        return dest

    def discard(self, spooled: Spooled) -> None:
        spooled.path.unlink(missing_ok=True)
