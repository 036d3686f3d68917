"""Taking files into a flight: stream to the store, check, de-duplicate, record.

Each file (or zip member) gets its own answer — accepted, duplicate or rejected with a reason —
and its own savepoint, so one bad file never costs the others.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linepatrol.images import ImageError
from linepatrol_service.domain import PhotoStatus
from linepatrol_service.geotag import read_pose_summary
from linepatrol_service.intake import (
    ArchiveError,
    ZipLimits,
    check_photo,
    is_zip,
    open_zip,
    scan_zip,
)
from linepatrol_service.models import Flight, Image, UploadRefusal
from linepatrol_service.schemas import UploadItem, Verdict
from linepatrol_service.services import Services
from linepatrol_service.storage import CHUNK, Spooled, TooLarge
from linepatrol_service.validation import short, text_problem

_NO_GEO = "geotagging unavailable"


class Ingest:
    def __init__(self, services: Services, session: Session, flight: Flight) -> None:
        self.services = services
        self.settings = services.settings
        self.session = session
        self.flight = flight
        self.items: list[UploadItem] = []

    def refusals(self) -> list[UploadRefusal]:
        """Rows for the files refused so far, added with the upload's other rows so that an
        upload undone (409) leaves none."""
        return [UploadRefusal(flight_id=self.flight.id, filename=i.filename,
                              reason=i.reason or "refused")
                for i in self.items if i.status is Verdict.REJECTED]

    def add_upload(self, name: str, stream: BinaryIO) -> None:
        """One uploaded part: a photo or a zip of photos."""
        name = name or "unnamed"
        problem = text_problem(name)
        if problem:  # the bytes are never read: nothing is stored under a name the DB refuses
            self.items.append(UploadItem(filename=short(name), status="rejected",
                                         reason=f"invalid file name: it {problem}"))
            return
        try:
            spooled = self.services.store.spool_file(stream, self._upload_limit(name))
        except TooLarge as exc:
            self.items.append(UploadItem(filename=name, status=Verdict.REJECTED,
                                         reason=f"file too large: {exc}"))
            return
        if is_zip(name, spooled.head):
            try:
                self._add_zip(name, spooled)
            finally:
                self.services.store.discard(spooled)
        else:
            self._add_photo(name, spooled)

    def _upload_limit(self, name: str) -> int:
        if name.lower().endswith(".zip"):
            return self.settings.max_request_bytes
        return self.settings.max_file_bytes

    def _add_zip(self, name: str, spooled: Spooled) -> None:
        limits = ZipLimits(
            max_entries=self.settings.zip_max_entries,
            max_total_bytes=self.settings.zip_max_total_bytes,
            max_entry_bytes=self.settings.max_file_bytes,
            max_ratio=self.settings.zip_max_ratio,
        )
        try:
            with open_zip(str(spooled.path), limits.max_entries) as zf:
                for entry in scan_zip(zf, limits):
                    member = f"{name}/{entry.name}"
                    if entry.info is None:
                        self.items.append(UploadItem(filename=member, status=Verdict.REJECTED,
                                                     reason=entry.reason))
                        continue
                    try:
                        with zf.open(entry.info) as src:
                            inner = self.services.store.spool(
                                iter(lambda src=src: src.read(CHUNK), b""),  # type: ignore[misc]
                                limits.max_entry_bytes,
                            )
                    except TooLarge as exc:
                        self.items.append(UploadItem(filename=member, status=Verdict.REJECTED,
                                                     reason=f"file too large: {exc}"))
                        continue
                    except Exception as exc:  # bad CRC, unsupported compression, ...
                        self.items.append(UploadItem(filename=member, status=Verdict.REJECTED,
                                                     reason=f"unreadable archive entry ({exc})"))
                        continue
                    if is_zip(entry.name, inner.head):
                        self.services.store.discard(inner)
                        self.items.append(UploadItem(filename=member, status=Verdict.REJECTED,
                                                     reason="nested archive"))
                        continue
                    self._add_photo(member, inner)
        except ArchiveError as exc:
            self.items.append(UploadItem(filename=name, status=Verdict.REJECTED, reason=str(exc)))

    def _add_photo(self, name: str, spooled: Spooled) -> None:
        store = self.services.store
        try:
            header = check_photo(str(spooled.path), spooled.head, spooled.size,
                                 self.settings.max_pixels)
        except ImageError as exc:
            store.discard(spooled)
            self.items.append(UploadItem(filename=name, status=Verdict.REJECTED, reason=exc.reason))
            return
        existing = self.session.scalar(
            select(Image).where(Image.flight_id == self.flight.id,
                                Image.sha256 == spooled.sha256)
        )
        if existing is not None:
            store.discard(spooled)
            self.items.append(self._duplicate(name, existing))
            return
        pose, pose_error = read_pose_summary(spooled.path)
        warnings = []
        if pose_error and pose_error != _NO_GEO:
            if self.settings.require_gps:
                store.discard(spooled)
                self.items.append(UploadItem(filename=name, status=Verdict.REJECTED,
                                             reason=f"no usable GPS position: {pose_error}"))
                return
            warnings.append(f"no usable GPS position ({pose_error}): its defects will not be "
                            "located")
        elsewhere = self.session.scalar(
            select(Image.flight_id).where(Image.sha256 == spooled.sha256).limit(1)
        )
        if elsewhere is not None:
            warnings.append(f"the same photo is also in flight {elsewhere}")
        path = store.commit(spooled)
        image = Image(
            flight_id=self.flight.id, filename=name[:500], sha256=spooled.sha256,
            size=spooled.size, format=header.format, width=header.width, height=header.height,
            pose=pose, pose_error=pose_error, status=PhotoStatus.PENDING,
        )
        try:
            with self.session.begin_nested():
                self.session.add(image)
        except IntegrityError:  # the same photo arrived in a concurrent request
            existing = self.session.scalar(
                select(Image).where(Image.flight_id == self.flight.id,
                                    Image.sha256 == spooled.sha256)
            )
            self.items.append(self._duplicate(name, existing))
            return
        del path
        self.items.append(UploadItem(filename=name, status=Verdict.ACCEPTED, image_id=image.id,
                                     sha256=image.sha256, warnings=warnings))

    @staticmethod
    def _duplicate(name: str, existing: Image | None) -> UploadItem:
        if existing is None:
            return UploadItem(filename=name, status=Verdict.DUPLICATE,
                              reason="already in this flight")
        return UploadItem(
            filename=name, status=Verdict.DUPLICATE, image_id=existing.id, sha256=existing.sha256,
            reason=f"same photo as image {existing.id} ({existing.filename}) of this flight",
        )
