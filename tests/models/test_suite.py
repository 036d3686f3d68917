"""``linepatrol evaluate`` over several dev sets: one table, machines scored as one, and the
on-screen-display negative check."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import yaml

from linepatrol.cli import main
from linepatrol.detect_config import DetectorConfig
from linepatrol.detector import Detector
from linepatrol.runtime.model_info import ModelInfo, OutputLayout
from linepatrol.settings import CoreSettings
from linepatrol_datasets.osd import stamp_osd
from linepatrol_models.evaluate import EvaluationError
from linepatrol_models.suite import (
    MACHINERY,
    DevSet,
    evaluate_suite,
    machine_grouped,
    osd_check,
    suite_table,
)
from support.tiny_onnx import make_yolo_onnx

CPU = CoreSettings(providers=["cpu"])


def _dataset(root: Path, names: list[str], objects: list[tuple[float, float, float, float, int]],
             count: int = 3) -> Path:
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        cv2.imwrite(str(root / "images" / "val" / f"p{i}.jpg"),
                    rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        (root / "labels" / "val" / f"p{i}.txt").write_text("".join(
            f"{c} {cx / 64} {cy / 64} {w / 64} {h / 64}\n" for cx, cy, w, h, c in objects))
    (root / "data.yaml").write_text(yaml.safe_dump(
        {"path": str(root), "train": "images/val", "val": "images/val",
         "names": dict(enumerate(names))}))
    return root


def test_dev_set_specs() -> None:
    assert DevSet.parse("idd=/d/idd-yolo:test") == DevSet("idd", Path("/d/idd-yolo"), "test")
    assert DevSet.parse("/d/idd-yolo", "train") == DevSet("idd-yolo", Path("/d/idd-yolo"),
                                                          "train")
    assert DevSet.parse("/d/x/data.yaml").name == "x"


def test_machines_group_only_machine_classes() -> None:
    assert machine_grouped(("excavator", "insulator", "truck_crane")) == (
        MACHINERY, "insulator", MACHINERY)


def test_one_table_over_two_sets_and_machines_as_one(tmp_path: Path) -> None:
    # one model, two sets: insulators found where they are; a real excavator found as a
    # bulldozer counts as found once machines are scored as one
    ins = _dataset(tmp_path / "ins", ["insulator"], [(20, 16, 24, 12, 0)])
    exc = _dataset(tmp_path / "exc", ["excavator"], [(40, 40, 20, 16, 0)])
    model = make_yolo_onnx(tmp_path / "m.onnx", ["insulator", "bulldozer"],
                           [(20, 16, 24, 12, 0, 0.9), (40, 40, 20, 16, 1, 0.8)])
    results, osd = evaluate_suite(str(model), [DevSet("ins", ins), DevSet("exc", exc)], CPU,
                                  tile="off", machines_as_one=True)
    assert osd is None
    by_set = {r.set.name: r.metrics for r in results}
    assert [c.name for c in by_set["exc"].per_class] == [MACHINERY]
    assert by_set["exc"].per_class[0].recall == pytest.approx(1.0)
    assert by_set["ins"].per_class[0].ap50 == pytest.approx(1.0)
    table = suite_table(results, None)
    assert "| exc (val, 3 photos) | `machinery` | 3 | 100.0 | 100.0 | 100.0 |" in table
    # scored class by class, a bulldozer is no excavator: nothing in common
    with pytest.raises(EvaluationError, match="no key in common"):
        evaluate_suite(str(model), [DevSet("exc", exc)], CPU, tile="off")


def test_osd_text_is_stamped_where_its_boxes_say() -> None:
    photo = np.full((720, 1280, 3), 128, dtype=np.uint8)
    stamped, boxes = stamp_osd(photo, np.random.default_rng(1))
    assert len(boxes) == 4
    for x1, y1, x2, y2 in boxes:
        assert 0 <= x1 < x2 <= 1280 and 0 <= y1 < y2 <= 720
        assert (stamped[y1:y2, x1:x2] != 128).any()
    outside = np.ones(photo.shape[:2], dtype=bool)
    for x1, y1, x2, y2 in boxes:
        outside[max(y1 - 4, 0):y2 + 4, max(x1 - 4, 0):x2 + 4] = False
    assert (stamped[outside] == 128).all()


def test_osd_detections_on_text_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    data = _dataset(tmp_path / "ins", ["insulator"], [(20, 16, 24, 12, 0)])
    # a model that always answers one box over the whole top-left corner, where the date is
    # stamped, and one over the labelled insulator
    model = make_yolo_onnx(tmp_path / "m.onnx", ["insulator"],
                           [(20, 16, 24, 12, 0, 0.9), (16, 4, 32, 8, 0, 0.9)])
    rc = main(["evaluate", str(model), f"ins={data}", "--tile", "off", "--osd", "3",
               "--json", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "| OSD text overlays (3 photos) |" in out
    saved = yaml.safe_load((tmp_path / "s.json").read_text())
    assert saved["osd"]["photos"] == 3
    # the model answers the same boxes with or without the text: the text made none of them
    assert saved["osd"]["false_detections"] == 0


class _BrightSession:
    """A model that boxes every bright blob as an insulator: white OSD text, a white object."""

    def __init__(self) -> None:
        self.info = ModelInfo("bright.onnx", "images", 256, 256, "float32", True,
                              ("insulator",), 32, OutputLayout.RAW, {})

    def run(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        out = np.zeros((len(batch), 5, 64), np.float32)
        for i, img in enumerate(batch):
            mask = cv2.dilate((img.mean(axis=0) > 0.6).astype(np.uint8), np.ones((9, 9)))
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for k in range(1, min(n, 65)):
                x, y, w, h, _ = stats[k]
                out[i, :, k - 1] = (x + w / 2, y + h / 2, w, h, 0.9)
        return [out]


def test_only_detections_the_text_made_count(tmp_path: Path) -> None:
    plain = np.full((360, 640, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "empty.jpg"), plain)
    # a large white object under where the voltage line is stamped: found with or without it
    cv2.rectangle(plain, (0, 20), (200, 140), (255, 255, 255), -1)
    cv2.imwrite(str(tmp_path / "object.jpg"), plain)
    detector = Detector(_BrightSession(), DetectorConfig(tile="off"))  # type: ignore[arg-type]
    empty = osd_check(detector, [tmp_path / "empty.jpg"], 0.25)
    assert empty.photos == 1 and empty.false_detections >= 2  # the text lines, found as objects
    with_object = osd_check(detector, [tmp_path / "object.jpg"], 0.25)
    assert with_object.false_detections < empty.false_detections
