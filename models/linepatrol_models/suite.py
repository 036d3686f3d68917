"""One model (or model set) over every development set at once, in one table.

Why: a model that learned one dataset can score 99 there and nothing on real photos from any
other source. The issue of record (#14) judges the default on several sets side by side:
CPLID, IDD, the obstruction photos, real machinery (measurement only) and synthetic corridor
scenes, plus a negative check on on-screen-display text, which corridor cameras burn into
every frame and which a detector must never report.

Scoring is :mod:`linepatrol_models.metrics` (faster-coco-eval) on the classes model and set
share (:class:`~linepatrol_models.evaluate.ClassMap`); photos go through
:func:`linepatrol.pipeline.detect_files`, the path of ``linepatrol detect``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from linepatrol import taxonomy
from linepatrol.boxes import MatchMetric, overlap_matrix
from linepatrol.detect_config import DEFAULTS, DetectorConfig, TileSetting
from linepatrol.detections import Detections
from linepatrol.ensemble import AnyDetector
from linepatrol.model_store import ModelNotFoundError
from linepatrol.pipeline import open_detector
from linepatrol.runtime.model_info import ModelLoadError
from linepatrol.settings import CoreSettings
from linepatrol_datasets.osd import on_text, stamp_osd
from linepatrol_models.dataset import load_dataset
from linepatrol_models.evaluate import SCORE_FLOOR, ClassMap, EvaluationError, score_images
from linepatrol_models.metrics import ClassMetrics, Metrics, evaluate_records

log = logging.getLogger(__name__)

# The model argument that means "what 'linepatrol detect' runs when given no --model".
DEFAULT = "default"

# The pseudo-class under which every machine class is scored when a set only says "machine"
# (a real excavator found as a bulldozer is still a hazard found).
MACHINERY = "machinery"


@dataclass(frozen=True)
class DevSet:
    name: str
    data: Path
    split: str = "val"

    @classmethod
    def parse(cls, text: str, split: str = "val") -> DevSet:
        """``[NAME=]PATH[:SPLIT]``; the name defaults to the dataset folder's, the split to
        ``split``."""
        name, sep, rest = text.partition("=")
        if not sep:
            name, rest = "", text
        path, _, own_split = rest.partition(":")
        data = Path(path)
        return cls(name or (data.parent.name if data.suffix in (".yaml", ".yml") else data.name),
                   data, own_split or split)


@dataclass(frozen=True)
class SetResult:
    set: DevSet
    metrics: Metrics
    failed: int


@dataclass(frozen=True)
class OsdResult:
    photos: int
    false_detections: int  # detections at the operating threshold on the burned-in text
    conf: float  # the threshold of classes without their own

    @property
    def per_photo(self) -> float:
        return self.false_detections / max(self.photos, 1)


def machine_grouped(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(MACHINERY if n in taxonomy.BY_KEY and taxonomy.BY_KEY[n].machine else n
                 for n in names)


def score_set(detector: AnyDetector, dev: DevSet, conf: float, machines_as_one: bool,
              limit: int | None = None) -> SetResult:
    dataset = load_dataset(dev.data)
    images = dataset.images(dev.split)[:limit] if limit else dataset.images(dev.split)
    model_names, data_names = tuple(detector.names), tuple(dataset.names)
    if machines_as_one:
        model_names, data_names = machine_grouped(model_names), machine_grouped(data_names)
    classes = ClassMap(model_names, data_names)
    records, failed = score_images(detector, dataset, images, classes)
    metrics = evaluate_records(records, tuple(dict.fromkeys(classes.names)), conf,
                               detector.model_class_conf)
    return SetResult(dev, metrics, len(failed))


# --- on-screen display text: a negative check ----------------------------------------------------


def osd_check(detector: AnyDetector, images: Sequence[Path], conf: float,
              seed: int = 0) -> OsdResult:
    """Stamp OSD text on real photos and count the detections (at each class's operating
    threshold) that the text made: boxes that lie mostly on a text, or hold one mostly, and
    that the photo without the text does not have (same class, IoU >= 0.5). A long insulator
    string whose box happens to hold the small voltage text is still the insulator."""
    rng = np.random.default_rng(seed)
    false = photos = 0
    for path in images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        photo = np.asarray(image, dtype=np.uint8)
        stamped, regions = stamp_osd(photo, rng)
        plain, found = (d.filter_confidence(conf, detector.model_class_conf)
                        for d in detector.detect_many([photo, stamped]))
        false += int((on_text(found.xyxy, regions) & ~seen_without(found, plain)).sum())
        photos += 1
    return OsdResult(photos, false, conf)


def seen_without(found: Detections, plain: Detections, iou: float = 0.5
                 ) -> npt.NDArray[np.bool_]:
    """Per box of ``found``: whether ``plain`` has a box of its class at IoU >= ``iou``."""
    if not len(found) or not len(plain):
        return np.zeros(len(found), dtype=bool)
    overlaps = overlap_matrix(found.xyxy, plain.xyxy, MatchMetric.IOU)
    same = found.class_id[:, None] == plain.class_id[None, :]
    return np.asarray(((overlaps >= iou) & same).any(axis=1), dtype=bool)


def evaluate_suite(model: str, sets: Sequence[DevSet], settings: CoreSettings,
                   conf: float = DEFAULTS.conf, tile: TileSetting = DEFAULTS.tile,
                   machines_as_one: bool = False,
                   osd_photos: int = 0, limit: int | None = None
                   ) -> tuple[list[SetResult], OsdResult | None]:
    try:
        detector = open_detector(None if model == DEFAULT else model, settings,
                                 DetectorConfig(conf=SCORE_FLOOR, tile=tile,
                                                model_class_conf=False))
    except (ModelLoadError, ModelNotFoundError) as exc:
        raise EvaluationError(str(exc)) from None
    results = [score_set(detector, s, conf, machines_as_one, limit) for s in sets]
    osd = None
    if osd_photos and sets:
        images = [p for s in sets for p in load_dataset(s.data).images(s.split)]
        step = max(1, len(images) // osd_photos)
        osd = osd_check(detector, images[::step][:osd_photos], conf)
    return results, osd


def _pct(x: float) -> str:
    return "—" if x != x or x < 0 else f"{100 * x:.1f}"  # NaN / -1: no instances


def _best_f1(c: ClassMetrics) -> str:
    if c.best_f1_conf != c.best_f1_conf:  # NaN: nothing found or nothing labelled
        return "—"
    return f"{c.best_f1_conf:.2f} (F1 {100 * c.best_f1:.0f})"


def suite_table(results: Sequence[SetResult], osd: OsdResult | None) -> str:
    """Markdown: per set and class, instances, AP50, and precision / recall at the operating
    threshold."""
    lines = ["| set | class | instances | AP50 | precision | recall | at conf ≥ | best F1 at |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for c in r.metrics.per_class:
            if c.instances == 0 and c.detections == 0:
                continue  # neither labelled in this set nor reported: nothing to say
            lines.append(f"| {r.set.name} ({r.set.split}, {r.metrics.images} photos) | "
                         f"`{c.name}` | {c.instances} | {_pct(c.ap50)} | {_pct(c.precision)} "
                         f"| {_pct(c.recall)} | {c.conf:g} | {_best_f1(c)} |")
    if osd is not None:
        lines.append(f"| OSD text overlays ({osd.photos} photos) | false detections on the "
                     f"text | — | — | {osd.false_detections} ({osd.per_photo:.3f} per photo) "
                     f"| — | {osd.conf:g} (each class's own) | — |")
    return "\n".join(lines) + "\n"
