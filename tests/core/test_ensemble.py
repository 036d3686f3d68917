"""Several models as one detector: class ownership, the default pair, and the pipeline.

The members are real (tiny) ONNX models that always answer with the boxes they were built
with, so which model a class comes from is known exactly.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from linepatrol.detect_config import DetectorConfig
from linepatrol.ensemble import DetectorEnsemble, class_owners
from linepatrol.model_store import ModelNotFoundError, resolve_model, resolve_models
from linepatrol.pipeline import detect_files, model_paths, open_detector
from linepatrol.settings import CoreSettings
from support.tiny_onnx import make_yolo_onnx

CPU = CoreSettings(providers=["cpu"])


def test_each_class_belongs_to_the_first_model_that_has_it() -> None:
    owners = class_owners([("insulator", "insulator_missing_cap"),
                           ("insulator", "tower", "insulator_missing_cap", "excavator")])
    assert owners == {"insulator": 0, "insulator_missing_cap": 0, "tower": 1, "excavator": 1}
    assert list(owners) == ["insulator", "insulator_missing_cap", "tower", "excavator"]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """A 'CPLID' model (insulator at the left, cap) and a 'corridor' model that also sees an
    insulator (elsewhere, which must be dropped) and an excavator."""
    cplid = make_yolo_onnx(tmp_path / "a.onnx", ["insulator", "insulator_missing_cap"],
                           [(16, 32, 8, 8, 0, 0.9), (20, 32, 4, 4, 1, 0.8)])
    corridor = make_yolo_onnx(tmp_path / "b.onnx", ["insulator", "tower", "excavator"],
                              [(48, 32, 8, 8, 0, 0.95), (40, 20, 10, 20, 2, 0.7)])
    return cplid, corridor


def test_an_ensemble_keeps_the_first_models_classes_and_adds_the_others(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    config = DetectorConfig(tile="off")
    alone = open_detector(str(pair[0]), CPU, config)
    both = open_detector(f"{pair[0]}+{pair[1]}", CPU, config)
    assert isinstance(both, DetectorEnsemble)
    assert both.names == ("insulator", "insulator_missing_cap", "tower", "excavator")
    photo = tmp_path / "p.jpg"
    cv2.imwrite(str(photo), np.full((64, 64, 3), 80, np.uint8))
    [mine] = list(detect_files(alone, [("p.jpg", photo)]))
    [ours] = list(detect_files(both, [("p.jpg", photo)]))
    assert mine.detections is not None and ours.detections is not None
    keys = ours.detections.class_keys
    assert sorted(keys) == ["excavator", "insulator", "insulator_missing_cap"]
    # the first model's classes are exactly its own answer: the second's insulator is dropped
    own = [i for i, k in enumerate(keys) if k in ("insulator", "insulator_missing_cap")]
    assert ours.detections.xyxy[own].tolist() == mine.detections.xyxy.tolist()
    assert [r["class"] for r in ours.to_json()["detections"]] == keys
    # one config for all members
    both.config = DetectorConfig(tile="off", conf=0.9)
    assert all(m.config.conf == 0.9 for m in both.members)
    [strict] = list(detect_files(both, [("p.jpg", photo)]))
    assert strict.detections is not None and strict.detections.class_keys == ["insulator"]


def test_the_ensemble_decodes_as_much_as_its_hungriest_member(pair: tuple[Path, Path]) -> None:
    both = open_detector(f"{pair[0]}+{pair[1]}", CPU, DetectorConfig(tile="off"))
    assert isinstance(both, DetectorEnsemble)
    assert both.decode_size(1024, 768) == (64, 48)
    both.members[0].config = DetectorConfig(tile="auto")  # 1024 px: tiles of 128 -> 1/2
    assert both.decode_size(1024, 768) == (512, 384)
    both.members[0].config = DetectorConfig(tile=64)  # tiles at full resolution
    assert both.decode_size(1024, 768) is None


def test_the_default_is_the_pair_when_both_are_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bundled"
    cplid = make_yolo_onnx(folder / "linepatrol-cplid-v1.onnx", ["insulator"], [])
    cplid_int8 = make_yolo_onnx(folder / "linepatrol-cplid-v1-int8.onnx", ["insulator"], [])
    monkeypatch.setattr("linepatrol.model_store.bundled_dirs", lambda: [folder])
    assert resolve_models(None) == [cplid]  # the corridor model is not installed: cplid alone
    corridor = make_yolo_onnx(folder / "linepatrol-corridor-v2.onnx", ["tower"], [])
    assert resolve_models(None) == [cplid, corridor]
    assert resolve_model(None) == cplid
    # on the CPU each member runs its INT8 sibling where it has one
    assert model_paths(None, CPU) == [cplid_int8, corridor]
    assert model_paths("linepatrol-corridor-v2+linepatrol-cplid-v1", CPU) == [corridor,
                                                                               cplid_int8]
    assert resolve_models(f"{corridor} + linepatrol-cplid-v1") == [corridor, cplid]
    with pytest.raises(ModelNotFoundError, match="'nope' is neither"):
        resolve_models("linepatrol-cplid-v1+nope")
    with pytest.raises(ModelNotFoundError, match="empty name"):
        resolve_models("linepatrol-cplid-v1+")
    with pytest.raises(ValueError, match="at least two"):
        DetectorEnsemble([])


def test_a_member_needing_fewer_pixels_gets_the_photo_reduced_as_a_decoder_would(
    pair: tuple[Path, Path]
) -> None:
    from linepatrol.ensemble import _as_decoded_for

    both = open_detector(f"{pair[0]}+{pair[1]}", CPU, DetectorConfig(tile="off"))
    assert isinstance(both, DetectorEnsemble)
    whole = both.members[1]  # 64 px input, one whole-photo pass of a 1024x768 photo
    half = np.zeros((384, 512, 3), np.uint8)  # the photo decoded at 1/2 for a tiling member
    half[:, 256:] = 200
    # alone it would be decoded at 1/8 (128x96: the decoder's limit, though 64x48 would do)
    reduced, scale = _as_decoded_for(whole, half, 2.0)
    assert reduced.shape == (96, 128, 3) and scale == 8.0
    assert reduced[:, :63].max() == 0 and reduced[:, 65:].min() == 200  # averaged, not sampled
    same, unchanged = _as_decoded_for(whole, reduced, 8.0)  # already as small as it gets
    assert same is reduced and unchanged == 8.0
