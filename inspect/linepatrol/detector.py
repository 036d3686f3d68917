"""The detector: letterbox, batched inference, YOLO decoding, NMS, and tiled inference.

A UAV photo is 12–48 MP and a missing insulator cap is tens of pixels wide: at the model's
640 px input it would vanish. Large photos are therefore cut into overlapping tiles (pure
geometry in :mod:`linepatrol.slicing`), the tiles are batched through the session, their boxes
shifted back into the photo and merged across tile borders by intersection-over-smaller, and an
optional whole-photo pass at low resolution adds the large objects (cranes, towers) that no tile
contains whole.

A model whose input height and width are dynamic (``linepatrol export`` writes them so) gets
each whole-photo pass at the smallest stride-multiple rectangle, as ultralytics predicts: a 4:3
photo runs at 640x480 instead of 640x640. Fixed-shape models (older exports, users' own) and
tiles keep the square input, and a batch only ever holds crops of one shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol import boxes as box_ops
from linepatrol.detect_config import DetectorConfig
from linepatrol.detections import Detections
from linepatrol.runtime.model_info import ModelInfo, OutputLayout
from linepatrol.runtime.session import ModelSession
from linepatrol.slicing import Tile, should_tile, tile_grid

P = TypeVar("P")  # what a detector's ``prepare`` makes of a photo
LETTERBOX_FILL = 114  # the grey ultralytics pads with; models are trained on it


# --- preprocessing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Letterbox:
    """How a crop was fitted into the model input: ``input = crop * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float


@dataclass(frozen=True)
class LetterboxFit:
    """Where a ``width`` x ``height`` crop goes in the model input (pure geometry)."""

    scale: float
    resized: tuple[int, int]  # (width, height) of the crop after resizing
    shape: tuple[int, int]  # (height, width) of the model input it is padded to
    left: int
    top: int

    @property
    def box(self) -> Letterbox:
        return Letterbox(self.scale, float(self.left), float(self.top))


def fit_letterbox(
    width: int, height: int, input_height: int, input_width: int, stride: int | None = None
) -> LetterboxFit:
    """Scale a crop to fit ``input_height`` x ``input_width`` keeping its aspect ratio.

    With ``stride`` (a model with dynamic input axes) the padding is cut to the smallest
    multiple of the stride — ultralytics' rect letterbox (``LetterBox(auto=True)``, which its
    predictor uses for a ``.pt``): a 1152x864 photo at 640 becomes 640x480, not 640x640, 25 %
    fewer pixels to run. The scale is the nominal size's either way, so the model sees objects
    at the scale it was trained at; padding is centred and rounded as ultralytics does.
    """
    scale = min(input_height / height, input_width / width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    pad_w, pad_h = input_width - new_w, input_height - new_h
    if stride:
        pad_w, pad_h = pad_w % stride, pad_h % stride
    top, left = round(pad_h / 2 - 0.1), round(pad_w / 2 - 0.1)
    return LetterboxFit(scale, (new_w, new_h), (new_h + pad_h, new_w + pad_w), left, top)


def letterbox(
    image: npt.NDArray[np.uint8], height: int, width: int, stride: int | None = None
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """Resize keeping the aspect ratio, centred on grey padding (the ultralytics convention);
    with ``stride``, padded only to the smallest stride multiple (see :func:`fit_letterbox`)."""
    h, w = image.shape[:2]
    fit = fit_letterbox(w, h, height, width, stride)
    new_w, new_h = fit.resized
    if (new_w, new_h) != (w, h):
        # Bilinear, as ultralytics resizes its training images: the model sees what it learned
        # from (INTER_AREA is also 4x slower for the 1/2-1/8 downscales of whole photos).
        image = np.asarray(
            cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR), np.uint8
        )
    out_h, out_w = fit.shape
    out = cv2.copyMakeBorder(
        image, fit.top, out_h - new_h - fit.top, fit.left, out_w - new_w - fit.left,
        cv2.BORDER_CONSTANT, value=(LETTERBOX_FILL,) * 3,
    )
    return np.asarray(out, np.uint8), fit.box


def to_blob(images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
    """Letterboxed BGR uint8 images -> NCHW RGB float32 in [0, 1], in one OpenCV call."""
    blob = cv2.dnn.blobFromImages(list(images), scalefactor=1.0 / 255.0, swapRB=True, crop=False)
    return np.asarray(blob, dtype=np.float32)


def model_input(images: Sequence[npt.NDArray[np.uint8]], info: ModelInfo) -> npt.NDArray[Any]:
    """Letterboxed BGR uint8 crops of one shape -> the batch the model takes: the crops stacked
    as they are for a uint8 image input (normalised inside the graph, see
    :mod:`linepatrol.runtime.image_input`), else the float blob."""
    if info.image_input:
        return np.stack(list(images))
    return to_blob(images)


# --- decoding ----------------------------------------------------------------------------------


def decode(
    output: npt.NDArray[Any], info: ModelInfo, conf: float, iou: float, max_det: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """One image's raw output -> boxes (model-input pixels), scores, classes after NMS."""
    out = np.asarray(output, dtype=np.float32)
    if info.layout is OutputLayout.END2END:
        rows = out[out[:, 4] >= conf]
        rows = rows[np.argsort(-rows[:, 4], kind="stable")][:max_det]
        return rows[:, :4].copy(), rows[:, 4].copy(), rows[:, 5].astype(np.int64)
    pred = out.T  # (anchors, 4 + classes)
    class_scores = pred[:, 4:]
    cls = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(cls)), cls]
    keep = scores >= conf
    pred, cls, scores = pred[keep], cls[keep], scores[keep]
    xyxy = np.empty((len(pred), 4), dtype=np.float32)
    xyxy[:, 0:2] = pred[:, 0:2] - pred[:, 2:4] / 2
    xyxy[:, 2:4] = pred[:, 0:2] + pred[:, 2:4] / 2
    idx = box_ops.nms(xyxy, scores, cls, iou)[:max_det]
    return xyxy[idx], scores[idx], cls[idx].astype(np.int64)


# --- the detector ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    source: int  # which crop of its photo (tiles and the whole-photo pass)
    offset: tuple[int, int]
    box: Letterbox
    crop_scale: float  # photo pixels per decoded pixel (reduced-size decodes)


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo's letterboxed crops and where each came from, ready for the session."""

    crops: list[npt.NDArray[np.uint8]]
    jobs: list[_Job]
    tiled: bool
    width: float  # the photo's size in photo pixels
    height: float


class PreparingDetector(Generic[P]):
    """Detection in two steps, ``prepare`` (per photo, any thread) then ``detect_prepared``
    (batched through the model); ``detect`` and ``detect_many`` are both in one go. Shared by
    :class:`Detector` and the ensemble, whose prepared photo is one per member."""

    def prepare(self, image: npt.NDArray[np.uint8], scale: float = 1.0) -> P:
        raise NotImplementedError

    def detect_prepared(self, photos: Sequence[P]) -> list[Detections]:
        raise NotImplementedError

    def detect(self, image: npt.NDArray[np.uint8], scale: float = 1.0) -> Detections:
        """Detect in one BGR photo; boxes in photo pixels (``scale`` = photo px per array px)."""
        return self.detect_many([image], [scale])[0]

    def detect_many(
        self, images: Sequence[npt.NDArray[np.uint8]], scales: Sequence[float] | None = None
    ) -> list[Detections]:
        """Detect in several photos, batching their crops through the model together."""
        scales = list(scales) if scales is not None else [1.0] * len(images)
        return self.detect_prepared(
            [self.prepare(img, sc) for img, sc in zip(images, scales, strict=True)])


class Detector(PreparingDetector[PreparedPhoto]):
    """Detection on photos of any size through a :class:`ModelSession`."""

    def __init__(self, session: ModelSession, config: DetectorConfig | None = None) -> None:
        self.session = session
        self.config = config or DetectorConfig()

    @property
    def info(self) -> ModelInfo:
        return self.session.info

    @property
    def names(self) -> tuple[str, ...]:
        return self.info.names

    def describe(self) -> dict[str, Any]:
        """The model as ``linepatrol info`` and the service's health show it: its session's own
        account (requested and active providers) where it gives one."""
        describe = getattr(self.session, "describe", None)
        return dict(describe()) if callable(describe) else self.info.describe()

    @property
    def model_class_conf(self) -> dict[str, float]:
        """The model's own operating thresholds, by class (its metadata)."""
        return self.info.class_conf

    @property
    def _class_conf(self) -> dict[str, float]:
        """Per-class thresholds: the model's own operating points, then the user's."""
        own = self.model_class_conf if self.config.model_class_conf else {}
        return {**own, **self.config.class_conf}

    @property
    def score_floor(self) -> float:
        """The lowest threshold any class keeps boxes at: the decode's cut."""
        return min([self.config.conf, *self._class_conf.values()])

    @property
    def _on_gpu(self) -> bool:
        return bool(getattr(self.session, "on_gpu", False))

    @property
    def rect(self) -> bool:
        """Whether whole-photo passes run at a rect input: the model must accept any size, and
        TensorRT, which builds an engine per input shape, keeps the nominal one."""
        return (self.config.rect and self.info.dynamic_hw
                and not getattr(self.session, "fixed_shape", False))

    def input_shape(self, width: int, height: int) -> tuple[int, int]:
        """(height, width) of the model input for a whole-photo pass over a photo (or its
        reduced-size decode) of ``width`` x ``height`` pixels."""
        info = self.info
        stride = info.stride if self.rect else None
        return fit_letterbox(width, height, info.input_height, info.input_width, stride).shape

    @property
    def batch_size(self) -> int:
        """Crops per inference call. On the CPU a large batch buys no speed and doubles memory
        (48 MP photo: 397 MiB at batch 1, 784 MiB at 8, 5.4 s vs 5.2 s); a GPU wants batches."""
        if self.config.batch_size:
            return self.config.batch_size
        return 8 if self._on_gpu else 2

    @property
    def pads_batches(self) -> bool:
        """Whether every call carries a full batch (short ones padded with blank crops): on a GPU
        each new input shape costs a session set-up (see ``OrtSession.session_per_shape``), and
        a blank crop costs next to nothing there; on the CPU it would cost a whole crop's work.
        """
        return self._on_gpu and self.info.dynamic_batch

    @property
    def photos_per_call(self) -> int:
        """Photos whose crops ``detect_files`` sends through the session together. A GPU runs a
        batch of whole-photo passes in about the time of one, so photos are grouped a batch at
        a time; on the CPU grouping gains nothing and only holds more photos in memory."""
        return self.batch_size if self._on_gpu else 1

    def tiles_for(self, width: int, height: int) -> list[Tile] | None:
        """The tiles a photo of this size is cut into, or None for one whole-photo pass."""
        setting = self.config.tile
        size = self.info.input_size
        if setting == "off":
            return None
        if setting == "auto":
            # tiles of N input sides, downscaled N times: the scale of the model's training
            # photos (N from the model's metadata; 2 by default, None: one whole-photo pass)
            factor = self.info.auto_tile_factor
            if factor is None or not should_tile(width, height, size, 1.25 * factor):
                return None
            tile = round(factor * size)
        else:
            tile = setting
        if max(width, height) <= tile:
            return None
        return tile_grid(width, height, tile, self.config.tile_overlap)

    def decode_size(self, width: int, height: int) -> tuple[int, int] | None:
        """How many pixels a photo of this size needs decoded, or None for all of them.

        Every crop is downscaled to the model input, so the photo can be decoded at a reduced
        DCT scale (1/2, 1/4, 1/8, straight from the JPEG's coefficients) as long as the crops
        keep at least the input's pixels: a 12 MP JPEG for a 640 px whole-photo pass decodes at
        1/4 scale (16x fewer pixels), and a 20 MP photo cut into ``auto`` tiles (2x the input
        side) at 1/2 — the tiles then need no resize, and decoding does a quarter of the work.
        """
        side = self.info.input_size
        tiles = self.tiles_for(width, height)
        # the longest side that is fitted into the input: the photo's, or its tiles'
        span = (max(width, height) if tiles is None
                else max(max(t.width, t.height) for t in tiles))
        if span <= side:
            return None
        return (-(-side * width // span), -(-side * height // span))

    def prepare(self, image: npt.NDArray[np.uint8], scale: float = 1.0) -> PreparedPhoto:
        """Cut and letterbox one photo's crops: the per-photo CPU work before inference, which
        touches no session, so ``detect_files`` runs it in its decode threads while the model
        works on earlier photos (on a GPU it was most of what the inference thread did)."""
        info = self.info
        stride = info.stride if self.rect else None
        h, w = image.shape[:2]
        tiles = self.tiles_for(round(w * scale), round(h * scale))
        regions: list[tuple[int, int, int, int, int | None]] = []  # x1 y1 x2 y2 stride
        if tiles is None or self.config.full_pass:
            regions.append((0, 0, w, h, stride))  # the whole photo: rect when it may be
        for t in tiles or []:  # tiles: the square nominal input, so they batch together
            regions.append((int(t.x1 / scale), int(t.y1 / scale), int(t.x2 / scale),
                            int(t.y2 / scale), None))
        crops, jobs = [], []
        for source, (x1, y1, x2, y2, crop_stride) in enumerate(regions):
            boxed, lb = letterbox(image[y1:y2, x1:x2], info.input_height, info.input_width,
                                  crop_stride)
            crops.append(boxed)
            jobs.append(_Job(source, (x1, y1), lb, scale))
        return PreparedPhoto(crops, jobs, tiles is not None, w * scale, h * scale)

    def detect_prepared(self, photos: Sequence[PreparedPhoto]) -> list[Detections]:
        """Run prepared photos' crops through the session, batched across photos, and combine
        each photo's detections."""
        info = self.info
        # One batch holds crops of one shape: tiles (square) apart from rect whole-photo passes.
        groups: dict[tuple[int, ...], list[tuple[int, int]]] = {}  # shape -> (photo, crop)
        for i, photo in enumerate(photos):
            for c, crop in enumerate(photo.crops):
                groups.setdefault(crop.shape, []).append((i, c))
        parts: list[list[tuple[Detections, int]]] = [[] for _ in photos]
        bs = max(1, self.batch_size)
        pad = self.pads_batches
        for members in groups.values():
            for start in range(0, len(members), bs):
                chunk = members[start : start + bs]
                batch = [photos[i].crops[c] for i, c in chunk]
                if pad and len(batch) < bs:  # blank crops: the batch keeps the session's shape
                    batch += [np.full_like(batch[0], LETTERBOX_FILL)] * (bs - len(batch))
                outputs = self.session.run(model_input(batch, info))[0][: len(chunk)]
                for (i, c), out in zip(chunk, outputs, strict=True):
                    job = photos[i].jobs[c]
                    parts[i].append((self._to_photo(out, job), job.source))
        results = []
        for photo, photo_parts in zip(photos, parts, strict=True):
            photo_parts.sort(key=lambda part: part[1])  # crop order, whatever the batching
            results.append(self._combine(photo_parts, photo.tiled, photo.width, photo.height))
        return results

    def _to_photo(self, output: npt.NDArray[Any], job: _Job) -> Detections:
        cfg = self.config
        xyxy, scores, cls = decode(output, self.info, self.score_floor, cfg.iou, cfg.max_det)
        lb = job.box
        xyxy = (xyxy - np.array([lb.pad_x, lb.pad_y] * 2, dtype=np.float32)) / lb.scale
        xyxy += np.array(job.offset * 2, dtype=np.float32)
        xyxy *= job.crop_scale
        return Detections(xyxy, scores, cls, self.names)

    def _combine(
        self, parts: list[tuple[Detections, int]], tiled: bool, width: float, height: float
    ) -> Detections:
        if not parts:
            return Detections.empty(self.names)
        merged = Detections.merge([d for d, _ in parts])
        if tiled and len(merged):
            sources = np.concatenate([np.full(len(d), s) for d, s in parts])
            xyxy, conf, cls = box_ops.greedy_merge(
                merged.xyxy, merged.confidence, merged.class_id, self.config.merge_ios,
                box_ops.MatchMetric.IOS, merge=True, sources=sources,
            )
            merged = Detections(xyxy, conf, cls, self.names)
        merged = merged.clipped(width, height).filter_confidence(
            self.config.conf, self._class_conf
        )
        return merged.sorted_by_confidence()[: self.config.max_det]
