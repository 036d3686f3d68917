"""Prototypes of suggested core changes, measured next to the shipped core (never the headline).

The core belongs to its own maintainers; when the benchmark finds it slow, these show by how
much a specific change would help, through the core's own extension points:

- ``no_spin``: the shipped ``Detector`` and ``detect_files``, with a ``ModelSession`` whose ONNX
  Runtime threads do not spin-wait (``session.intra_op.allow_spinning = 0``). Spinning threads
  burn the cores that the decode threads (and anything else on the machine) need. The core
  adopted that; this session also feeds the export's own float NCHW input, as the core did
  before it gave models a uint8 image input (``linepatrol.runtime.image_input``), so the row
  now measures what that input is worth.
- ``fast_path``: additionally letterboxes with bilinear instead of area interpolation, decoding
  JPEGs at reduced size (DCT scaling, never below what the model input needs; the core does
  this too since c0fa45f), in a loop with one decode thread ahead — only for the whole-photo
  pass (``tile off``). The core adopted the bilinear letterbox in 8f2f34b; this loop now uses
  the core's own letterbox (rect when the model allows), so only the decode-ahead loop differs.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from linepatrol.detect_config import TileSetting


class NoSpinSession:
    """A CPU/GPU ``ModelSession`` like the core's ``OrtSession`` before its uint8 image input:
    no thread spinning, the export's float blob as input."""

    def __init__(self, path: Path, device: str) -> None:
        import onnxruntime as ort

        from linepatrol.runtime.model_info import read_model_info

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        # On CUDA the core asks cuDNN for HEURISTIC convolution algorithms; without that ONNX
        # Runtime searches exhaustively on every new input shape (tile batch sizes, whole-photo
        # passes). On the H100 run of 2026-11-26 this prototype, then without the option, was
        # 2.5-3.9x slower than the core on large photos, most likely from that search (not
        # verified). Same options as the core now, so that only spinning differs.
        providers: list[Any] = (
            [("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"}),
             "CPUExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"])
        self._session = ort.InferenceSession(str(path), options, providers=providers)
        self.info = read_model_info(self._session, path)
        self.active_providers = list(self._session.get_providers())
        self._dtype = np.float16 if self.info.input_dtype == "float16" else np.float32

    def run(self, batch: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
        batch = batch.astype(self._dtype, copy=False)
        if self.info.dynamic_batch or len(batch) == 1:
            return list(self._session.run(None, {self.info.input_name: batch}))
        parts = [self._session.run(None, {self.info.input_name: batch[i:i + 1]})
                 for i in range(len(batch))]
        return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def open_no_spin(model: Path, device: str, tile: TileSetting = "off",
                 batch_size: int = 8) -> Any:
    from benchmarks.detection import CONF, IOU
    from linepatrol.detect_config import DetectorConfig
    from linepatrol.detector import Detector

    session = NoSpinSession(model, device)
    session.run(np.zeros((1, 3, session.info.input_height, session.info.input_width),
                         np.float32))  # warm-up, as the core does
    return Detector(session, DetectorConfig(conf=CONF, iou=IOU, tile=tile,
                                            batch_size=batch_size))


def run_fast_path(detector: Any, photos: list[Path]) -> int:
    """Whole-photo detection with reduced-size decode, bilinear letterbox, decode ahead."""
    from linepatrol.detector import decode, letterbox, model_input
    from linepatrol.images import read_image

    info = detector.info
    cfg = detector.config
    # Letterboxing a W x H photo into the input keeps the aspect ratio: a landscape photo only
    # needs input_width columns and input_width * H / W rows, so DCT scaling may go that far.
    need = (info.input_width, info.input_height)
    found = 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        futures: list[Future[Any]] = [pool.submit(read_image, p, min_size=need)
                                      for p in photos[:2]]
        for i in range(len(photos)):
            loaded = futures[i].result()
            if i + 2 < len(photos):
                futures.append(pool.submit(read_image, photos[i + 2], min_size=need))
            boxed, lb = letterbox(loaded.pixels, info.input_height, info.input_width,
                                  info.stride if detector.rect else None)
            out = detector.session.run(model_input([boxed], info))[0]
            xyxy, _, _ = decode(out[0], info, detector.score_floor, cfg.iou, cfg.max_det)
            xyxy = (xyxy - np.array([lb.pad_x, lb.pad_y] * 2, np.float32)) / lb.scale
            xyxy /= loaded.scale
            found += len(xyxy)
    return found
