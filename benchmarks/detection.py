"""Detection throughput and per-stage latency: LinePatrol against ultralytics' predictor.

Both sides get the same photo files (decode included), the same weights (the ``.pt`` for
ultralytics, its ONNX export for LinePatrol), the same input size, thresholds and device, and
run interleaved in one process. LinePatrol runs exactly as users run it: ``open_detector`` +
``detect_files``. The headline compares the same work (one whole-photo pass per photo,
``--tile off``); the default ``--tile auto`` (which tiles photos beyond 2.5x the model input)
is measured next to it, because that is what ``linepatrol detect`` does by default.

Both letterbox a whole photo to the smallest stride-multiple rectangle (ultralytics for a
``.pt``, LinePatrol for an export with dynamic input axes); the same weights exported with a
fixed square input — what exports were before — run alongside, to show what that is worth.

On a CPU each side keeps its own thread default: ONNX Runtime uses every core, ultralytics sets
torch to ``min(8, cpu_count - 1)`` threads (1 on a 2-core machine). So that the ratio can be
read with the thread count taken out, a CPU run adds ultralytics with torch on every core
(``ultralytics_all_cores``); the headline ratio stays against ultralytics' own default.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import prototype
from benchmarks.timing import interleaved, median, ms, ratio
from linepatrol.detect_config import DEFAULTS, TileSetting

CONF, IOU = DEFAULTS.conf, DEFAULTS.iou  # every side runs at LinePatrol's defaults


def open_ours(
    model: Path, device: str, tile: TileSetting = "off", batch_size: int | None = 8
) -> Any:
    """The shipped core's detector; ``batch_size`` None leaves the core's device default."""
    from linepatrol.detect_config import DetectorConfig
    from linepatrol.pipeline import open_detector
    from linepatrol.settings import CoreSettings

    settings = CoreSettings(providers=["cuda"] if device == "cuda" else ["cpu"])
    config = DetectorConfig(conf=CONF, iou=IOU, tile=tile, batch_size=batch_size)
    return open_detector(str(model), settings=settings, config=config)


def run_ours(detector: Any, photos: list[Path]) -> int:
    from linepatrol.pipeline import detect_files

    found = 0
    for result in detect_files(detector, [(str(p), p) for p in photos]):
        if result.detections is None:
            raise RuntimeError(f"{result.name}: {result.error}")
        found += len(result.detections)
    return found


def open_ultralytics(weights: Path, device: str) -> Any:
    from benchmarks.weights import offline_ultralytics

    offline_ultralytics()
    from ultralytics import YOLO

    return YOLO(str(weights), task="detect")


def ultra_device(device: str) -> str | int:
    return 0 if device == "cuda" else "cpu"


def predicted_on(model: Any) -> str:
    """The device ultralytics' predictor ran on, once it has predicted (warm-up included).

    ``YOLO.predict(device=0)`` moves the *predictor's* copy of the network to the GPU; the
    wrapper's own ``model.device`` stays on the CPU, so reading that reported "cpu" for a run
    whose inference was on CUDA. The predictor's device is the one the work ran on.
    """
    predictor = getattr(model, "predictor", None)
    device = getattr(predictor, "device", None)
    if device is None:
        return "not run"
    return str(device)


def run_ultralytics(
    model: Any, photos: list[Path], imgsz: int, device: str, speeds: list[dict[str, float]] | None,
    batch: int = 1,
) -> int:
    found = 0
    for result in model.predict(source=[str(p) for p in photos], stream=True, imgsz=imgsz,
                                conf=CONF, iou=IOU, device=ultra_device(device), verbose=False,
                                save=False, batch=batch):
        found += len(result.boxes)
        if speeds is not None:
            speeds.append(dict(result.speed))
    return found


def all_cores() -> int:
    """Every logical core, as ONNX Runtime's default intra-op thread count uses them."""
    return os.cpu_count() or 1


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Torch on ``n`` intra-op threads for the block, the previous count restored after it.

    Ultralytics sets its thread count when its predictor picks the device (the warm-up run);
    a count set afterwards holds for later ``predict`` calls on the same model, so one warmed
    model serves both the default side and this one. Restoring in ``finally`` keeps every
    other side at ultralytics' own default even when the block fails.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_threads_now() -> int:
    import torch

    return int(torch.get_num_threads())


def our_stages(detector: Any, photos: list[Path], repeats: int) -> dict[str, float]:
    """Median milliseconds per photo of each stage, timed separately in a plain loop.

    Also times the reduced-size JPEG decode (DCT scaling down to no less than the model
    input), which the whole-photo pass could use instead of the full decode.
    """
    from linepatrol.detector import decode, letterbox, model_input
    from linepatrol.images import read_image

    info = detector.info
    session = detector.session
    cfg = detector.config
    stages: dict[str, list[float]] = {k: [] for k in (
        "decode", "decode_reduced", "preprocess", "inference", "postprocess")}
    for _ in range(repeats):
        for path in photos:
            t0 = time.perf_counter()
            loaded = read_image(path)
            t1 = time.perf_counter()
            read_image(path, min_size=(info.input_width, info.input_height))
            t2 = time.perf_counter()
            boxed, lb = letterbox(loaded.pixels, info.input_height, info.input_width,
                                  info.stride if detector.rect else None)
            blob = model_input([boxed], info)
            t3 = time.perf_counter()
            out = session.run(blob)[0]
            t4 = time.perf_counter()
            xyxy, _, _ = decode(out[0], info, detector.score_floor, cfg.iou, cfg.max_det)
            xyxy = (xyxy - np.array([lb.pad_x, lb.pad_y] * 2, np.float32)) / lb.scale
            t5 = time.perf_counter()
            for key, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
                               strict=True):
                stages[key].append(dt)
    return {k: ms(median(v)) for k, v in stages.items()}


def ultralytics_stages(speeds: list[dict[str, float]], photos: list[Path],
                       repeats: int) -> dict[str, float]:
    """Median of the predictor's own per-photo speed dict (ms), plus its loader's decode.

    The speed dict leaves decoding out; its image loader decodes with
    ``ultralytics.utils.patches.imread``, timed here separately on the same photos.
    """
    from ultralytics.utils.patches import imread

    keys = sorted({k for s in speeds for k in s})
    out = {k: round(median([s[k] for s in speeds if k in s]), 2) for k in keys}
    times = []
    for _ in range(repeats):
        for path in photos:
            t0 = time.perf_counter()
            imread(str(path))
            times.append(time.perf_counter() - t0)
    out["decode"] = ms(median(times))
    return out


def throughput(
    models: Any, photos: list[Path], device: str, rounds: int, stage_repeats: int
) -> dict[str, Any]:
    """Photos per second of each side (median over interleaved rounds) and per-stage latency."""
    fp32 = models.onnx["fp32"]
    ours_off = open_ours(fp32, device, tile="off")
    ours_auto = open_ours(fp32, device, tile="auto")
    ultra = open_ultralytics(models.weights, device)
    proto = prototype.open_no_spin(fp32, device, tile="off")
    int8 = models.onnx.get("int8")
    # The INT8 file through the shipped core: what a bundled model runs on a CPU.
    ours_int8 = open_ours(int8, device, tile="off") if int8 else None
    square = models.onnx.get("fp32_square")
    ours_square = open_ours(square, device, tile="off") if square else None
    warm = photos[:1]
    if ours_int8 is not None:
        run_ours(ours_int8, warm)
    if ours_square is not None:
        run_ours(ours_square, warm)
    run_ours(proto, warm)
    prototype.run_fast_path(proto, warm)
    run_ours(ours_off, warm)
    run_ours(ours_auto, warm)
    run_ultralytics(ultra, warm, models.imgsz, device, None)
    speeds: list[dict[str, float]] = []
    found: dict[str, int] = {}
    # torch's thread count as each ultralytics side left its predict loop (a check that the
    # all-cores side really ran on every core and the default side on ultralytics' own count)
    threads: dict[str, int] = {}

    def side(name: str, fn: Any) -> Any:
        def go() -> None:
            found[name] = fn()
        return go

    def ultralytics_side(name: str, n_threads: int | None) -> Any:
        def go() -> int:
            if n_threads is None:
                n = run_ultralytics(ultra, photos, models.imgsz, device, speeds)
                threads[name] = torch_threads_now()
                return n
            with torch_threads(n_threads):
                n = run_ultralytics(ultra, photos, models.imgsz, device, None)
                threads[name] = torch_threads_now()
            return n
        return side(name, go)

    sides = {
        "linepatrol": side("linepatrol", lambda: run_ours(ours_off, photos)),
        "ultralytics": ultralytics_side("ultralytics", None),
        "linepatrol_tile_auto": side("linepatrol_tile_auto", lambda: run_ours(ours_auto, photos)),
        "prototype_no_spin": side("prototype_no_spin", lambda: run_ours(proto, photos)),
        "prototype_fast_path": side("prototype_fast_path",
                                    lambda: prototype.run_fast_path(proto, photos)),
    }
    if device == "cpu":
        sides["ultralytics_all_cores"] = ultralytics_side("ultralytics_all_cores", all_cores())
    else:
        # On a GPU the core sends photos through the model a batch at a time
        # (Detector.photos_per_call); ultralytics can too, when asked (its default is 1).
        ultra_batch = ours_off.photos_per_call
        run_ultralytics(ultra, photos[:ultra_batch], models.imgsz, device, None, ultra_batch)
        sides["ultralytics_batch"] = side("ultralytics_batch", lambda: run_ultralytics(
            ultra, photos, models.imgsz, device, None, ultra_batch))
    if ours_int8 is not None:
        sides["linepatrol_int8"] = side("linepatrol_int8", lambda: run_ours(ours_int8, photos))
    if ours_square is not None:
        sides["linepatrol_square"] = side("linepatrol_square",
                                          lambda: run_ours(ours_square, photos))
    seconds = interleaved(sides, rounds)
    n = len(photos)
    rate = {k: round(n / median(v), 2) for k, v in seconds.items()}
    per_photo = {k: ms(median(v) / n) for k, v in seconds.items()}
    tiles = ours_auto.tiles_for(*_size(photos[0]))
    return {
        "photos": n,
        "photo_size": list(_size(photos[0])),
        "rounds": rounds,
        "imgsz": models.imgsz,
        # (height, width) of LinePatrol's whole-photo input for the first photo
        "input_shape": list(ours_off.input_shape(*_size(photos[0]))),
        "photos_per_s": rate,
        "ms_per_photo": per_photo,
        "seconds_per_round": {k: [round(s, 4) for s in v] for k, v in seconds.items()},
        "ratio": round(rate["linepatrol"] / rate["ultralytics"], 2),
        "ratio_tile_auto": round(rate["linepatrol_tile_auto"] / rate["ultralytics"], 2),
        # the same work against ultralytics with torch on every core (CPU runs only)
        "ratio_vs_all_cores": ratio(rate, "linepatrol", "ultralytics_all_cores"),
        "torch_threads": threads,
        # GPU runs: the same work against ultralytics asked for the core's batch of photos
        "photos_per_call": ours_off.photos_per_call,
        "ratio_vs_batch": ratio(rate, "linepatrol", "ultralytics_batch"),
        "ratio_int8": ratio(rate, "linepatrol_int8", "ultralytics"),
        "ratio_square": ratio(rate, "linepatrol_square", "ultralytics"),
        "tile_auto_crops_per_photo": (len(tiles) + 1) if tiles else 1,
        "detections_last_round": found,
        "stages_ms": {
            "linepatrol": our_stages(ours_off, photos, stage_repeats),
            "ultralytics": ultralytics_stages(speeds, photos, stage_repeats),
        },
        "active_providers": list(getattr(ours_off.session, "active_providers", [])),
        "ultralytics_device": predicted_on(ultra),
    }


def _size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    return int(w), int(h)
