"""A flight, from photos to placed and merged defects: the one use case that ``linepatrol
report`` and the service's worker share.

Two steps, because the service runs them at different times: :func:`detect_photos` (any number
of workers, each on its claimed batch of a flight's photos) and :func:`locate_photos` (once,
when every photo is in). Between them a photo travels as a :class:`DetectedPhoto`, which the
service stores in its photo row through :meth:`DetectedPhoto.to_record` and reads back with
:meth:`DetectedPhoto.from_record` — so the CLI, which runs both steps at once, and the service
geotag the same detections and poses in the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from linepatrol.detections import DetectionRecord, Detections
from linepatrol.ensemble import AnyDetector
from linepatrol.geo.flight import locate_flight
from linepatrol.geo.ledger import Ledger
from linepatrol.geo.locate import Defect, GeoConfig, Observation
from linepatrol.geo.pose import CameraPose, read_pose_or_reason
from linepatrol.images import DEFAULT_MAX_PIXELS
from linepatrol.pipeline import detect_files


@dataclass(frozen=True)
class FlightPhoto:
    """A photo of a flight before detection. ``pose`` / ``pose_error`` when its metadata was
    read already (the service reads it at upload); neither: it is read here."""

    name: str
    path: Path
    pose: CameraPose | None = None
    pose_error: str | None = None

    @property
    def pose_known(self) -> bool:
        return self.pose is not None or self.pose_error is not None


class PhotoRecord(TypedDict):
    """What a photo's row keeps of a :class:`DetectedPhoto` (JSON-ready)."""

    width: int | None
    height: int | None
    detections: list[DetectionRecord] | None
    error: str | None
    pose: dict[str, Any] | None
    pose_error: str | None


@dataclass(frozen=True)
class DetectedPhoto:
    """A photo after detection: its size and boxes (or why it could not be read) and its camera
    pose (or why it has none)."""

    name: str
    path: Path
    width: int | None
    height: int | None
    detections: Detections | None  # None: the photo could not be read
    error: str | None
    pose: CameraPose | None
    pose_error: str | None

    @property
    def readable(self) -> bool:
        return self.detections is not None

    def observation(self) -> Observation | None:
        """What geotagging takes of this photo; None for a photo that could not be read."""
        if self.detections is None:
            return None
        return Observation(self.name, self.pose, self.pose_error, self.width, self.height,
                           self.detections)

    def to_record(self) -> PhotoRecord:
        return PhotoRecord(
            width=self.width, height=self.height,
            detections=None if self.detections is None else self.detections.records(),
            error=self.error,
            pose=None if self.pose is None else self.pose.to_json(),
            pose_error=self.pose_error,
        )

    @classmethod
    def from_record(cls, name: str, path: Path, record: PhotoRecord) -> DetectedPhoto:
        """The photo a row stored. A pose stored by another version that no longer parses is
        read from the photo again."""
        pose, pose_error = None, record["pose_error"]
        if record["pose"]:
            try:
                pose = CameraPose.from_json(record["pose"])
            except ValueError:
                pose, pose_error = read_pose_or_reason(path)
        detections = record["detections"]
        return cls(name, path, record["width"], record["height"],
                   None if detections is None else Detections.from_records(detections),
                   record["error"], pose, pose_error)


def detected_photo(photo: FlightPhoto, width: int | None, height: int | None,
                   detections: Detections | None, error: str | None = None) -> DetectedPhoto:
    """``photo`` with what a detector (or a label file, for a perfect detector) found in it,
    posed: its pose read now unless it is known; an unreadable photo is not read again."""
    if photo.pose_known or detections is None:
        pose, pose_error = photo.pose, photo.pose_error
    else:
        pose, pose_error = read_pose_or_reason(photo.path)
    return DetectedPhoto(photo.name, photo.path, width, height, detections, error, pose,
                         pose_error)


def detect_photos(
    detector: AnyDetector,
    photos: Iterable[FlightPhoto],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    decode_threads: int | None = None,
) -> Iterator[DetectedPhoto]:
    """Each photo detected (through :func:`linepatrol.pipeline.detect_files`) and posed, in
    order; an unreadable photo comes back with its error and the run goes on."""
    items = list(photos)
    by_name: Mapping[str, FlightPhoto] = {p.name: p for p in items}
    if len(by_name) != len(items):
        raise ValueError("a flight's photo names must be unique")
    for result in detect_files(detector, [(p.name, p.path) for p in items],
                               max_pixels=max_pixels, decode_threads=decode_threads):
        yield detected_photo(by_name[result.name], result.width, result.height,
                             result.detections, result.error)


def locate_photos(
    photos: Sequence[DetectedPhoto], ledger: Ledger | None, config: GeoConfig | None = None,
    line: str | None = None,
) -> list[Defect]:
    """The flight's defects from its detected photos, in the order given (which fixes the
    defects' order and ids); photos that could not be read are left out. Raises
    :class:`linepatrol.geo.ground.GroundError` only for an unusable configured DEM."""
    observations = [obs for p in photos if (obs := p.observation()) is not None]
    return locate_flight(observations, ledger, config, line=line)
