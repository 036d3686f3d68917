"""The core's flight use case (linepatrol.flight): photos -> detected, posed photos -> defects,
and the record the service keeps of a photo between the two steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linepatrol.flight import DetectedPhoto, FlightPhoto, detect_photos, locate_photos
from linepatrol.geo.ledger import Ledger
from linepatrol.geo.pose import CameraPose
from linepatrol.pipeline import open_detector
from linepatrol.settings import CoreSettings

Flight = tuple[Path, Path, Path, dict[str, CameraPose]]


def _photos(folder: Path) -> list[FlightPhoto]:
    return [FlightPhoto(p.name, p) for p in sorted(folder.iterdir())]


def test_each_photo_comes_back_in_order_with_its_pose_or_the_reason(flight: Flight) -> None:
    folder, _ledger, model, poses = flight
    detector = open_detector(str(model), CoreSettings(providers=["cpu"]))
    detected = list(detect_photos(detector, _photos(folder)))
    assert [p.name for p in detected] == sorted(p.name for p in folder.iterdir())
    by_name = {p.name: p for p in detected}
    assert not by_name["broken.jpg"].readable and by_name["broken.jpg"].error
    assert by_name["broken.jpg"].observation() is None
    assert by_name["no_metadata.jpg"].readable and by_name["no_metadata.jpg"].pose is None
    assert by_name["no_metadata.jpg"].pose_error
    for name, pose in poses.items():
        assert by_name[name].pose is not None
        assert (by_name[name].pose.lat, by_name[name].pose.lon) == pytest.approx(
            (pose.lat, pose.lon), abs=1e-7)
        assert len(by_name[name].detections or ()) == 2


def test_a_known_pose_is_not_read_again(flight: Flight) -> None:
    """The service reads a photo's pose at upload; the worker passes it on, and the photo's
    metadata is not parsed a second time (here: a pose the file does not have wins)."""
    folder, _ledger, model, poses = flight
    detector = open_detector(str(model), CoreSettings(providers=["cpu"]))
    stored = poses["DJI_0002.JPG"]
    photos = [FlightPhoto("a", folder / "DJI_0001.JPG", stored),
              FlightPhoto("b", folder / "DJI_0001.JPG", None, "stored reason")]
    a, b = detect_photos(detector, photos)
    assert a.pose == stored
    assert (b.pose, b.pose_error) == (None, "stored reason")


def test_photo_names_must_be_unique(flight: Flight) -> None:
    folder, _ledger, model, _poses = flight
    detector = open_detector(str(model), CoreSettings(providers=["cpu"]))
    photo = FlightPhoto("same", folder / "DJI_0001.JPG")
    with pytest.raises(ValueError, match="unique"):
        list(detect_photos(detector, [photo, photo]))


def test_the_stored_record_geotags_as_the_photo_did(flight: Flight) -> None:
    """A photo's record, through JSON (a database row), gives back a photo that places and
    merges into the same defects: the service's two steps equal the CLI's one."""
    folder, ledger_path, model, _poses = flight
    detector = open_detector(str(model), CoreSettings(providers=["cpu"]))
    detected = list(detect_photos(detector, _photos(folder)))
    stored = [DetectedPhoto.from_record(p.name, p.path, json.loads(json.dumps(p.to_record())))
              for p in detected]
    assert [p.to_record() for p in stored] == [p.to_record() for p in detected]
    ledger = Ledger.load(ledger_path)
    direct = locate_photos(detected, ledger, line="L1")
    again = locate_photos(stored, ledger, line="L1")
    assert direct, "the fixture's flight has a nest and an excavator"
    assert [d.properties() for d in again] == [d.properties() for d in direct]


def test_a_pose_stored_by_another_version_is_read_from_the_photo(flight: Flight) -> None:
    folder, _ledger, model, poses = flight
    detector = open_detector(str(model), CoreSettings(providers=["cpu"]))
    (photo,) = detect_photos(detector, [FlightPhoto("p", folder / "DJI_0001.JPG")])
    record = photo.to_record()
    record["pose"] = {"lat": 1.0}  # not a whole pose
    again = DetectedPhoto.from_record("p", photo.path, record)
    assert again.pose is not None
    assert again.pose.lat == pytest.approx(poses["DJI_0001.JPG"].lat, abs=1e-7)
