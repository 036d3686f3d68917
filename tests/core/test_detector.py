"""Decoding, letterboxing and tiled inference, without a trained model.

``BlobSession`` is a real :class:`ModelSession`: it "detects" bright rectangles in whatever crop
it is given (connected components on the letterboxed input) and answers in the raw ultralytics
layout, so the whole path — letterbox, batching, decode, shift back, cross-tile merge — is
exercised against objects at known positions.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from linepatrol.detect_config import DetectorConfig, parse_tile
from linepatrol.detector import Detector, decode, fit_letterbox, letterbox
from linepatrol.runtime.model_info import ModelInfo, OutputLayout


def _info(size: int = 64, names: tuple[str, ...] = ("insulator", "bird_nest"),
          layout: OutputLayout = OutputLayout.RAW, dynamic_hw: bool = False) -> ModelInfo:
    return ModelInfo("fake.onnx", "images", size, size, "float32", True, names, 32, layout, {},
                     dynamic_hw)


class BlobSession:
    def __init__(self, size: int = 64, anchors: int = 32, dynamic_hw: bool = False) -> None:
        self._info = _info(size, dynamic_hw=dynamic_hw)
        self.anchors = anchors
        self.batches: list[int] = []
        self.shapes: list[tuple[int, ...]] = []  # (batch, channels, height, width) per run

    @property
    def info(self) -> ModelInfo:
        return self._info

    def run(self, batch: np.ndarray[Any, Any]) -> list[np.ndarray[Any, Any]]:
        self.batches.append(len(batch))
        self.shapes.append(batch.shape)
        out = np.zeros((len(batch), 4 + 2, self.anchors), np.float32)
        for i, img in enumerate(batch):
            mask = (img.mean(axis=0) > 0.9).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for k in range(1, min(n, self.anchors + 1)):
                x, y, w, h, _ = stats[k]
                out[i, 0:4, k - 1] = (x + w / 2, y + h / 2, w, h)
                out[i, 4, k - 1] = 0.8
        return [out]


def test_decode_raw_hand_case() -> None:
    info = _info()
    out = np.zeros((6, 4), np.float32)
    out[:, 0] = (10, 10, 4, 4, 0.9, 0.1)  # class 0 at 0.9
    out[:, 1] = (11, 10, 4, 4, 0.8, 0.0)  # duplicate of the first: suppressed
    out[:, 2] = (40, 40, 10, 20, 0.2, 0.7)  # class 1
    out[:, 3] = (50, 50, 4, 4, 0.1, 0.1)  # below threshold
    xyxy, scores, cls = decode(out, info, 0.25, 0.45, 300)
    assert xyxy.tolist() == [[8, 8, 12, 12], [35, 30, 45, 50]]
    assert scores.tolist() == pytest.approx([0.9, 0.7]) and cls.tolist() == [0, 1]


def test_decode_end2end() -> None:
    info = _info(layout=OutputLayout.END2END)
    out = np.zeros((300, 6), np.float32)
    out[0] = (1, 2, 3, 4, 0.5, 1)
    out[1] = (5, 6, 7, 8, 0.1, 0)
    xyxy, _, cls = decode(out, info, 0.25, 0.45, 300)
    assert xyxy.tolist() == [[1, 2, 3, 4]] and cls.tolist() == [1]


def test_letterbox_maps_back() -> None:
    img = np.zeros((100, 200, 3), np.uint8)
    out, lb = letterbox(img, 64, 64)
    assert out.shape == (64, 64, 3)
    assert lb.scale == pytest.approx(0.32) and lb.pad_x == 0 and lb.pad_y == 16
    assert out[0, 0, 0] == 114 and out[32, 32, 0] == 0


def _scene(w: int, h: int, rects: list[tuple[int, int, int, int]]) -> np.ndarray[Any, Any]:
    img = np.zeros((h, w, 3), np.uint8)
    for x1, y1, x2, y2 in rects:
        img[y1:y2, x1:x2] = 255
    return img


def test_whole_image_pass_finds_boxes_in_photo_pixels() -> None:
    det = Detector(BlobSession(), DetectorConfig(tile="off"))
    img = _scene(128, 96, [(20, 30, 60, 70)])
    d = det.detect(img)
    assert len(d) == 1
    assert d.xyxy[0] == pytest.approx([20, 30, 60, 70], abs=2.5)


def test_object_straddling_tiles_comes_back_as_one_box() -> None:
    session = BlobSession()
    det = Detector(session, DetectorConfig(tile=128, tile_overlap=0.25, full_pass=False,
                                           batch_size=4))
    # 400x300 photo, 128 px tiles with step 96: a 70x40 object across the border at x=128.
    truth = [(100, 100, 170, 140), (300, 220, 330, 250)]
    d = det.detect(_scene(400, 300, truth))
    tiles = det.tiles_for(400, 300)
    assert tiles is not None and len(tiles) > 4
    assert sum(session.batches) == len(tiles) and max(session.batches) == 4
    got = sorted(d.xyxy.tolist())
    assert len(got) == 2, got
    for box, want in zip(got, sorted(truth), strict=True):
        assert box == pytest.approx(want, abs=3)


def test_auto_tiling_adds_whole_pass_and_keeps_one_box_per_object() -> None:
    det = Detector(BlobSession(), DetectorConfig(tile="auto"))
    truth = [(150, 150, 200, 190)]
    d = det.detect(_scene(400, 300, truth))  # 400 > 2.5 * 64: tiles of 128 plus whole pass
    assert det.tiles_for(400, 300) is not None
    assert len(d) == 1 and d.xyxy[0] == pytest.approx(truth[0], abs=4)


def test_reduced_decode_scale_maps_to_full_resolution() -> None:
    det = Detector(BlobSession(), DetectorConfig(tile="off"))
    half = _scene(128, 96, [(20, 30, 60, 70)])
    d = det.detect(half, scale=2.0)  # the array is a 1/2-size decode of a 256x192 photo
    assert d.xyxy[0] == pytest.approx([40, 60, 120, 140], abs=5)


def test_tiled_photo_decoded_at_half_scale_finds_what_the_full_decode_finds() -> None:
    det = Detector(BlobSession(), DetectorConfig(tile="auto"))
    truth = [(150, 150, 200, 190), (20, 200, 60, 240)]
    assert det.decode_size(400, 300) == (200, 150)  # tiles of 128 px are seen at 64: 1/2
    full = det.detect(_scene(400, 300, truth))
    half_pixels = cv2.resize(_scene(400, 300, truth), (200, 150), interpolation=cv2.INTER_AREA)
    half = det.detect(half_pixels, scale=2.0)
    assert len(full) == len(half) == 2
    order_h, order_f = np.argsort(half.xyxy[:, 0]), np.argsort(full.xyxy[:, 0])
    assert half.xyxy[order_h] == pytest.approx(full.xyxy[order_f], abs=4)


@pytest.mark.parametrize(("rule", "tiles_of"), [(None, 128), ("3", 192), ("off", None),
                                                ("nonsense", 128)])
def test_auto_tiling_follows_the_models_own_rule(rule: str | None, tiles_of: int | None) -> None:
    session = BlobSession()
    if rule is not None:
        session._info.metadata["linepatrol_tile_auto"] = rule
    det = Detector(session, DetectorConfig(tile="auto"))
    tiles = det.tiles_for(1000, 750)
    assert (max(t.width for t in tiles) if tiles else None) == tiles_of
    # a size the user gives wins over the model's rule
    det.config = DetectorConfig(tile=100)
    assert det.tiles_for(1000, 750) is not None


@pytest.mark.parametrize(("own", "config", "found"), [
    ('{"insulator": 0.9}', DetectorConfig(tile="off"), 0),  # the model's own point: above 0.8
    ('{"insulator": 0.5}', DetectorConfig(tile="off", conf=0.95), 1),  # lower than --conf
    ('{"insulator": 0.9}', DetectorConfig(tile="off", class_conf={"insulator": 0.5}), 1),
    ('{"insulator": 0.9}', DetectorConfig(tile="off", model_class_conf=False), 1),
    ('{"insulator": 7}', DetectorConfig(tile="off", conf=0.9), 0),  # unreadable: --conf
    ('{"wire": 0.1}', DetectorConfig(tile="off", conf=0.9), 0),  # not its class: --conf
])
def test_the_models_own_class_thresholds_apply_unless_the_user_sets_one(
        own: str, config: DetectorConfig, found: int) -> None:
    session = BlobSession()  # one blob scores 0.8 as insulator
    session._info.metadata["linepatrol_class_conf"] = own
    det = Detector(session, config)
    assert len(det.detect(_scene(64, 64, [(5, 5, 20, 20)]))) == found


def test_detect_many_batches_photos_together() -> None:
    session = BlobSession()
    det = Detector(session, DetectorConfig(tile="off", batch_size=8))
    res = det.detect_many([_scene(64, 64, [(5, 5, 20, 20)]), _scene(64, 64, [])])
    assert session.batches == [2]
    assert [len(r) for r in res] == [1, 0]


def test_config_validation() -> None:
    assert parse_tile("auto") == "auto" and parse_tile("1024") == 1024
    with pytest.raises(ValueError, match="auto, off"):
        parse_tile("big")
    with pytest.raises(ValueError):
        DetectorConfig(conf=1.5)


def test_batch_size_defaults_by_device() -> None:
    cpu = BlobSession()
    assert Detector(cpu).batch_size == 2
    cpu.on_gpu = True  # type: ignore[attr-defined]
    assert Detector(cpu).batch_size == 8
    assert Detector(cpu, DetectorConfig(batch_size=3)).batch_size == 3


# --- rect input (models with dynamic height and width) -----------------------------------------


@pytest.mark.parametrize(
    ("photo", "shape", "pad"),
    [
        ((1152, 864), (480, 640), (0, 0)),  # 4:3 -> 640x480, no padding at all
        ((864, 1152), (640, 480), (0, 0)),  # portrait
        ((5472, 3648), (448, 640), (0, 10)),  # 640x427 -> 448 rows; 21 px of padding, 10 on top
        ((100, 50), (320, 640), (0, 0)),  # small photos are scaled up, as ultralytics does
        ((640, 640), (640, 640), (0, 0)),
        ((6000, 100), (32, 640), (0, 10)),  # 640x11 -> one stride of rows
    ],
)
def test_rect_letterbox_is_the_smallest_stride_multiple(
    photo: tuple[int, int], shape: tuple[int, int], pad: tuple[int, int]
) -> None:
    w, h = photo
    fit = fit_letterbox(w, h, 640, 640, stride=32)
    assert fit.shape == shape and (fit.left, fit.top) == pad
    assert fit.scale == pytest.approx(640 / max(w, h))  # the nominal size's scale, rect or not
    assert fit.shape[0] % 32 == 0 and fit.shape[1] % 32 == 0
    new_w, new_h = fit.resized
    assert new_w <= fit.shape[1] < new_w + 32 and new_h <= fit.shape[0] < new_h + 32
    square = fit_letterbox(w, h, 640, 640)
    assert square.shape == (640, 640) and square.scale == fit.scale
    assert square.resized == fit.resized
    img = np.zeros((h // 8, w // 8, 3), np.uint8)  # the same geometry on a smaller image
    out, lb = letterbox(img, 80, 80, stride=4)
    small = fit_letterbox(w // 8, h // 8, 80, 80, stride=4)
    assert out.shape[:2] == small.shape and (lb.pad_x, lb.pad_y) == (small.left, small.top)


def test_rect_letterbox_round_trips_boxes() -> None:
    """A box drawn on the photo is where the letterbox mapping says, and maps back exactly."""
    img = np.zeros((480, 1000, 3), np.uint8)  # 1000x480 at 128, stride 32: 128x61 -> 128x64
    img[100:300, 200:400] = 255
    out, lb = letterbox(img, 128, 128, stride=32)
    assert out.shape == (64, 128, 3) and lb.pad_x == 0 and lb.pad_y == 1
    ys, xs = np.nonzero(out[..., 0] > 127)
    drawn = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)
    mapped = np.array([200, 100, 400, 300]) * lb.scale + [lb.pad_x, lb.pad_y] * 2
    assert drawn == pytest.approx(mapped, abs=1.0)  # pixel grid of the resize
    back = (mapped - [lb.pad_x, lb.pad_y] * 2) / lb.scale
    assert back == pytest.approx([200, 100, 400, 300], abs=1e-9)


def test_whole_photo_pass_runs_rect_on_a_dynamic_model() -> None:
    session = BlobSession(size=128, dynamic_hw=True)
    det = Detector(session, DetectorConfig(tile="off"))
    assert det.rect and det.input_shape(256, 192) == (96, 128)
    truth = (40, 60, 120, 140)
    d = det.detect(_scene(256, 192, [truth]))
    assert session.shapes == [(1, 3, 96, 128)]
    assert len(d) == 1 and d.xyxy[0] == pytest.approx(truth, abs=2.5)
    # the same photo in portrait, and a reduced-size decode of a larger photo
    d = det.detect(_scene(192, 256, [truth]))
    assert session.shapes[-1] == (1, 3, 128, 96)
    assert d.xyxy[0] == pytest.approx(truth, abs=2.5)
    d = det.detect(_scene(256, 192, [truth]), scale=2.0)
    assert d.xyxy[0] == pytest.approx([2 * v for v in truth], abs=5)


@pytest.mark.parametrize("why", ["fixed model", "config", "session"])
def test_square_input_when_the_model_or_the_user_wants_it(why: str) -> None:
    session = BlobSession(size=128, dynamic_hw=why != "fixed model")
    if why == "session":
        session.fixed_shape = True  # type: ignore[attr-defined]  # TensorRT: one engine shape
    det = Detector(session, DetectorConfig(tile="off", rect=why != "config"))
    assert not det.rect and det.input_shape(256, 192) == (128, 128)
    truth = (40, 60, 120, 140)
    d = det.detect(_scene(256, 192, [truth]))
    assert session.shapes == [(1, 3, 128, 128)]
    assert d.xyxy[0] == pytest.approx(truth, abs=2.5)


def test_batches_hold_one_shape_and_tiles_stay_square() -> None:
    session = BlobSession(size=64, dynamic_hw=True)
    det = Detector(session, DetectorConfig(tile="auto", batch_size=8))
    landscape, portrait = _scene(128, 64, [(20, 20, 60, 60)]), _scene(64, 128, [(8, 8, 30, 30)])
    big = _scene(400, 200, [(150, 100, 200, 150)])  # 400 > 2.5 * 64: 128 px tiles + whole pass
    tiles = det.tiles_for(400, 200)
    assert tiles is not None
    res = det.detect_many([landscape, big, portrait, landscape])
    by_shape: dict[tuple[int, int], int] = {}
    for shape in session.shapes:
        by_shape[shape[2:]] = by_shape.get(shape[2:], 0) + shape[0]
    # whole passes: two landscapes and the big photo at 32x64, the portrait at 64x32; tiles 64
    assert by_shape == {(32, 64): 3, (64, 32): 1, (64, 64): len(tiles)}
    assert [len(r) for r in res] == [1, 1, 1, 1]
    assert res[1].xyxy[0] == pytest.approx([150, 100, 200, 150], abs=4)
    assert res[0].xyxy.tolist() == res[3].xyxy.tolist()


def test_detect_files_groups_photos_on_a_gpu_and_keeps_each_files_result(tmp_path: Any) -> None:
    from linepatrol.pipeline import detect_files

    files = []
    for i in range(5):
        path = tmp_path / f"p{i}.png"
        cv2.imwrite(str(path), _scene(64, 64, [(5, 5, 5 + 4 * (i + 2), 20)]))
        files.append((path.name, path))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a photo")
    files.insert(2, ("broken.jpg", broken))
    gpu = BlobSession()
    gpu.on_gpu = True  # type: ignore[attr-defined]
    det = Detector(gpu, DetectorConfig(tile="off", batch_size=4))
    assert det.photos_per_call == 4 and Detector(BlobSession()).photos_per_call == 1
    results = list(detect_files(det, files))
    assert [r.name for r in results] == [name for name, _ in files]  # in order, none lost
    assert gpu.batches == [4, 4]  # two calls: groups of 4 files (3 and 2 photos), padded
    assert results[2].error and results[2].detections is None
    widths = [float(r.detections.xyxy[0, 2]) for r in results if r.detections is not None]
    assert widths == pytest.approx([13, 17, 21, 25, 29], abs=2.5)  # each photo its own boxes


def test_gpu_batches_are_padded_to_one_shape_and_padding_finds_nothing() -> None:
    gpu = BlobSession()
    gpu.on_gpu = True  # type: ignore[attr-defined]
    det = Detector(gpu, DetectorConfig(tile="off", batch_size=4))
    assert det.pads_batches and not Detector(BlobSession()).pads_batches
    res = det.detect_many([_scene(64, 64, [(5, 5, 20, 20)]), _scene(64, 64, [])])
    assert gpu.batches == [4]  # two photos, two blank crops
    assert [len(r) for r in res] == [1, 0]
