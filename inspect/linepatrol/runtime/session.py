"""One protocol over inference sessions, and its ONNX Runtime implementation.

After immich's ``ModelSession``: the detector talks to ``ModelSession`` only, so tests and other
backends slot in; the ONNX Runtime session is made lazily, under a lock, on first use; provider
choice is the pure :func:`resolve_providers`; and what ONNX Runtime really activated is compared
with what was asked for, so a CUDA fallback to the CPU is logged once and reported, never silent.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from linepatrol.runtime.image_input import ImageInput
from linepatrol.runtime.model_info import ModelInfo, ModelLoadError, read_model_info
from linepatrol.runtime.providers import fallback_note, planned_providers

log = logging.getLogger(__name__)


class ModelSession(Protocol):
    """What the detector needs from an inference backend."""

    @property
    def info(self) -> ModelInfo: ...

    def run(self, batch: npt.NDArray[Any]) -> list[npt.NDArray[Any]]: ...


def _provider_options(provider: str, cache_dir: str | None) -> dict[str, str]:
    if provider == "TensorrtExecutionProvider":
        cache = cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "linepatrol", "trt")
        return {
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": cache,
            "trt_timing_cache_enable": "True",
            "trt_fp16_enable": "True",
        }
    if provider == "CUDAExecutionProvider":
        return {"cudnn_conv_algo_search": "HEURISTIC"}
    return {}


@functools.cache
def _preload_gpu_libraries() -> None:
    """The `gpu` extra installs CUDA and cuDNN as nvidia-* wheels, which the dynamic loader does
    not search; ONNX Runtime (>= 1.21) can load them from site-packages itself, once per
    process. Without this a machine with only the NVIDIA driver falls back to the CPU (the
    fallback note says so)."""
    import onnxruntime as ort

    if not hasattr(ort, "preload_dlls"):
        return
    try:
        ort.preload_dlls(directory="")
    except Exception as exc:  # a missing wheel is the CPU fallback's business, not an error
        log.debug("onnxruntime.preload_dlls: %s", exc)


def _image_input_model(path: Path) -> ImageInput | None:
    """The model at ``path`` rewritten to take uint8 images (None: run the file as it is; a file
    that is not ONNX at all is left to ONNX Runtime, whose error the user then sees)."""
    import onnx

    from linepatrol.runtime.image_input import with_image_input  # imports onnx: only here

    try:
        return with_image_input(onnx.load(str(path)))
    except Exception as exc:  # protobuf's and onnx's own errors: not ours to judge
        log.debug("%s: no uint8 image input (%s)", path, exc)
        return None


class OrtSession:
    """An ONNX Runtime session for one detection model file.

    The file is checked and the session made on first use (``info``, ``run``, ``load``), once,
    under a lock: a service can construct it at start-up and a request thread pays the load.
    """

    def __init__(
        self,
        path: Path | str,
        providers: list[str] | None = None,
        intra_op_threads: int = 0,
        cache_dir: str | None = None,
        warmup: bool = True,
        spinning: bool = False,
        image_input: bool = True,
        session_per_shape: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self._requested_setting = providers
        self._threads = intra_op_threads
        self._cache_dir = cache_dir
        self._warmup = warmup
        self._spinning = spinning
        self._image_input = image_input
        self._per_shape_setting = session_per_shape
        self._lock = threading.RLock()  # the warm-up at load picks its session under it
        self._session: Any = None
        self._make: Any = None  # () -> a new InferenceSession like the first
        # input shape -> its own InferenceSession, most recently used last (see _session_for)
        self._by_shape: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._info: ModelInfo | None = None
        self.requested_providers: list[str] = []
        self.active_providers: list[str] = []
        self.fallback: str | None = None

    # --- loading ------------------------------------------------------------------------------

    def load(self) -> OrtSession:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        return self

    def _load(self) -> None:
        import onnxruntime as ort

        if not self.path.is_file():
            raise ModelLoadError(self.path, "no such file")
        if self.path.stat().st_size == 0:
            raise ModelLoadError(self.path, "the file is empty")
        self.requested_providers = planned_providers(self._requested_setting)
        if any(p != "CPUExecutionProvider" for p in self.requested_providers):
            _preload_gpu_libraries()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self._threads:
            options.intra_op_num_threads = self._threads
        if not self._spinning:
            # Spin-waiting threads burn the cores that JPEG decoding and other work need.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        # The GPU build logs its CUDA/cuDNN probing as errors on machines without them; we
        # report the outcome ourselves below, so keep ORT's own log to real errors.
        options.log_severity_level = 3
        provider_list = [
            (p, _provider_options(p, self._cache_dir)) for p in self.requested_providers
        ]
        wrapped = _image_input_model(self.path) if self._image_input else None
        source = wrapped.model if wrapped else str(self.path)

        def make() -> Any:
            return ort.InferenceSession(source, sess_options=options, providers=provider_list)

        try:
            session = make()
        except Exception as exc:  # ORT raises its own untyped errors for bad files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(self.path, f"not a loadable ONNX model ({first})") from exc
        self._info = read_model_info(session, self.path,
                                     wrapped.network_dtype if wrapped else None)
        self.active_providers = list(session.get_providers())
        self.fallback = fallback_note(self.requested_providers, self.active_providers)
        if self.fallback:
            log.warning("%s: %s", self.path.name, self.fallback)
        self._session = session
        self._make = make
        if self._warmup:
            self._run(np.zeros(self._input_shape(1), dtype=self._input_dtype()))

    # --- inference ----------------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        self.load()
        assert self._info is not None
        return self._info

    @property
    def on_gpu(self) -> bool:
        self.load()
        return bool(self.active_providers) and self.active_providers[0] in (
            "CUDAExecutionProvider",
            "TensorrtExecutionProvider",
        )

    @property
    def fixed_shape(self) -> bool:
        """Whether crops must keep the model's nominal input shape even when its axes are
        dynamic: TensorRT builds (and caches) an engine per input shape range, tens of seconds
        each, so a rect input that follows each photo's aspect ratio would keep rebuilding it."""
        self.load()
        return bool(self.active_providers) and (
            self.active_providers[0] == "TensorrtExecutionProvider"
        )

    def _input_shape(self, batch: int) -> tuple[int, int, int, int]:
        info = self.info
        if info.image_input:
            return (batch, info.input_height, info.input_width, 3)
        return (batch, 3, info.input_height, info.input_width)

    def _input_dtype(self) -> type[np.generic]:
        if self.info.image_input:
            return np.uint8
        return np.float16 if self.info.input_dtype == "float16" else np.float32

    def run(self, batch: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
        """Run a preprocessed batch (see :func:`linepatrol.detector.model_input`); models with a
        fixed batch of 1 are run image by image."""
        self.load()
        batch = batch.astype(self._input_dtype(), copy=False)
        if self.info.dynamic_batch or len(batch) == 1:
            return self._run(batch)
        parts = [self._run(batch[i : i + 1]) for i in range(len(batch))]
        return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]

    @property
    def session_per_shape(self) -> bool:
        """Whether each input shape runs in its own ONNX Runtime session.

        On CUDA, ONNX Runtime redoes its per-shape convolution set-up whenever the input shape
        differs from the previous call's, and keeps none of it for the shape before: measured on
        an H100 (2026-11-26, YOLOv8n, cuDNN 9), a call after a shape change took 140-215 ms
        against 4-7 ms in a run of one shape (50 ms with the DEFAULT algorithm search, 700 ms
        and more with EXHAUSTIVE). A tiled photo alternates two or three shapes (full tile
        batches, the last one, the whole-photo pass), so it paid that on nearly every call. One
        session per shape keeps each one's set-up; the detector pads GPU batches to its batch
        size so that a flight uses only a few shapes. On the CPU shape changes cost nothing
        measurable, and one session serves all."""
        if self._per_shape_setting is not None:
            return self._per_shape_setting
        return self.on_gpu

    MAX_SESSIONS = 4  # shapes kept at once; each holds its own copy of the weights and arena

    def _session_for(self, shape: tuple[int, ...]) -> Any:
        if not self.session_per_shape:
            return self._session
        with self._lock:
            session = self._by_shape.get(shape)
            if session is not None:
                self._by_shape.move_to_end(shape)
                return session
            # the first shape takes the session made at load; later ones get their own
            session = self._session if not self._by_shape else self._make()
            self._by_shape[shape] = session
            while len(self._by_shape) > self.MAX_SESSIONS:
                self._by_shape.popitem(last=False)
            return session

    def _run(self, batch: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
        session = self._session_for(tuple(batch.shape))
        if self.on_gpu:
            # IO binding: the input is copied to the device once and outputs come back without
            # ORT's intermediate allocations per call.
            binding = session.io_binding()
            binding.bind_cpu_input(self.info.input_name, np.ascontiguousarray(batch))
            for out in session.get_outputs():
                binding.bind_output(out.name, "cpu")
            session.run_with_iobinding(binding)
            return list(binding.copy_outputs_to_cpu())
        return list(session.run(None, {self.info.input_name: batch}))

    def describe(self) -> dict[str, Any]:
        self.load()
        return {
            **self.info.describe(),
            "requested_providers": self.requested_providers,
            "active_providers": self.active_providers,
            "fallback": self.fallback,
        }
