"""Fine-tuning YOLOX-Nano from its COCO weights, resumable at any epoch.

Why a loop of our own rather than ultralytics' trainer: the trainer builds its models from
YAML and checks AMP by downloading weights, and its checkpoints pickle the model class; here
the network is :class:`~linepatrol_models.yolox.YoloxNano` and nothing may be downloaded.
What is well kept is reused: ultralytics' dataset (mosaic, HSV, flips, letterbox), its
task-aligned assigner and box IoU, and its EMA.

Loss: YOLOX's three terms (box IoU on assigned anchors, objectness on all anchors, class on
assigned anchors), with anchors assigned by the task-aligned assigner (Feng et al., TOOD 2021)
instead of YOLOX's SimOTA: one assignment rule, kept by a maintained library.

A run writes ``last.pt`` (model, EMA, optimiser, epoch) at the end of every epoch and when it
is interrupted (Ctrl-C, SIGTERM), into a run folder outside the repository; ``--resume``
carries on from it, so a long CPU run can be spread over several sittings.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import yaml
from torch import nn

from linepatrol_datasets.merge import MergeSource, merge_yolo
from linepatrol_models.config import RunFolder
from linepatrol_models.yolox import COCO_TRUCK, YoloxNano, decode_boxes, flatten, grid

log = logging.getLogger(__name__)

ARCH = "yolox-nano"


class YoloxConfigError(ValueError):
    """A YOLOX training config that cannot be used."""


@dataclass(frozen=True)
class YoloxSettings:
    """Trainer settings (the ``train:`` block of a YOLOX config)."""

    imgsz: int = 640
    batch: int = 16
    epochs: int = 60
    lr0: float = 0.01  # SGD, for this batch size
    lrf: float = 0.05  # final LR as a fraction of lr0 (cosine)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    # Augmentation, as ultralytics names it.
    mosaic: float = 1.0
    mixup: float = 0.0
    scale: float = 0.5
    translate: float = 0.1
    degrees: float = 0.0
    fliplr: float = 0.5
    hsv_h: float = 0.015
    hsv_s: float = 0.7
    hsv_v: float = 0.4
    close_mosaic: int = 5  # last epochs without mosaic
    # Loss gains (YOLOX weights the box IoU term 5x).
    box: float = 5.0
    obj: float = 1.0
    cls: float = 1.0
    # Backbone stages kept at their COCO weights (stem, dark2, dark3, ...): generic edges and
    # textures that a small dataset should not move, and the most costly layers to train.
    freeze: int = 0
    workers: int = 2
    seed: int = 0
    threads: int = 0  # torch intra-op threads; 0 leaves torch's default


@dataclass(frozen=True)
class YoloxConfig(RunFolder):
    path: Path
    data: Path
    pretrained: Path
    runs_dir: Path
    name: str
    train: YoloxSettings = field(default_factory=YoloxSettings)
    # Taxonomy keys whose classifiers start from COCO's truck (construction machinery).
    from_truck: tuple[str, ...] = ()
    # The classes, for a run without training data (epochs: 0, the COCO network as it is
    # with its classifiers mapped); otherwise the dataset's names.
    names: tuple[str, ...] = ()
    # The source network's head, row by row, where its file does not say (see
    # linepatrol_models.yolox.source_class_rows); empty: read from the file.
    source_names: tuple[str, ...] = ()
    # ``data:`` given as a list of YOLO datasets (e.g. a review export and the base data),
    # each spelled as for ``linepatrol data merge`` (DIR[:SPLITS][*N]): merged into the run
    # folder when training starts, ``data`` then points there.
    merge: tuple[MergeSource, ...] = ()
    # Stamped on-screen-text copies of this many training photos added by that merge.
    osd: int = 0


def is_yolox_config(raw: dict[str, Any]) -> bool:
    return str(raw.get("model", "")).lower() == ARCH


def load_yolox_config(path: Path) -> YoloxConfig:
    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not is_yolox_config(raw):
        raise YoloxConfigError(f"{path}: not a '{ARCH}' config")
    base = path.parent

    def resolve(value: Any) -> Path:
        p = Path(str(value)).expanduser()
        return p if p.is_absolute() else (base / p).resolve()

    missing = [k for k in ("pretrained",) if not raw.get(k)]
    if not raw.get("data") and not raw.get("names"):
        missing.append("data (or names, for a run without training)")
    if missing:
        raise YoloxConfigError(f"{path}: missing {', '.join(missing)}")
    known = {f for f in YoloxSettings.__dataclass_fields__}
    train = raw.get("train") or {}
    unknown = sorted(set(train) - known)
    if unknown:
        raise YoloxConfigError(f"{path}: unknown train settings {unknown}")
    runs_dir = resolve(raw.get("runs_dir", "runs"))
    name = str(raw.get("name", path.stem))
    merge: tuple[MergeSource, ...] = ()
    if isinstance(raw.get("data"), list):
        try:
            parsed = [MergeSource.parse(str(p)) for p in raw["data"]]
        except ValueError as exc:
            raise YoloxConfigError(f"{path}: data: {exc}") from None
        merge = tuple(replace(m, root=resolve(m.root)) for m in parsed)
        data = runs_dir / name / "data" / "data.yaml"
    else:
        data = resolve(raw.get("data") or ".")
    return YoloxConfig(
        path=path, data=data, pretrained=resolve(raw["pretrained"]), merge=merge,
        osd=int(raw.get("osd") or 0),
        runs_dir=runs_dir, name=name,
        train=YoloxSettings(**train), from_truck=tuple(raw.get("from_truck") or ()),
        names=tuple(raw.get("names") or ()),
        source_names=tuple(raw.get("source_names") or ()),
    )


# --- loss --------------------------------------------------------------------------------------


def _targets(batch: dict[str, torch.Tensor], size: int, imgsz: torch.Tensor) -> torch.Tensor:
    """(batch, max boxes, 5): class and xyxy pixels per image, zero-padded."""
    idx = batch["batch_idx"].long()
    n = int(idx.bincount(minlength=size).max()) if idx.numel() else 0
    out = torch.zeros(size, n, 5)
    if n == 0:
        return out
    xywh = batch["bboxes"] * imgsz[[1, 0, 1, 0]]
    xyxy = torch.cat((xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2), 1)
    slot = torch.zeros_like(idx)
    seen: dict[int, int] = {}
    for i, b in enumerate(idx.tolist()):
        slot[i] = seen.get(b, 0)
        seen[b] = int(slot[i]) + 1
    out[idx, slot] = torch.cat((batch["cls"].view(-1, 1), xyxy), 1)
    return out


class YoloxLoss:
    def __init__(self, nc: int, settings: YoloxSettings) -> None:
        from ultralytics.utils.tal import TaskAlignedAssigner

        self.settings = settings
        self.assigner = TaskAlignedAssigner(topk=10, num_classes=nc, alpha=0.5, beta=6.0)
        self.bce = nn.BCEWithLogitsLoss(reduction="none")

    def __call__(self, levels: list[torch.Tensor],
                 batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        from ultralytics.utils.metrics import bbox_iou

        out = flatten(levels)
        points, strides = grid(levels)
        b = out.shape[0]
        imgsz = torch.tensor(levels[0].shape[2:], dtype=out.dtype) * 8
        xywh = decode_boxes(out, points, strides)
        pred_xyxy = torch.cat((xywh[..., :2] - xywh[..., 2:] / 2,
                               xywh[..., :2] + xywh[..., 2:] / 2), -1)
        obj_logit, cls_logit = out[..., 4], out[..., 5:]
        targets = _targets(batch, b, imgsz)
        gt_labels, gt_boxes = targets[..., :1], targets[..., 1:]
        mask_gt = gt_boxes.sum(2, keepdim=True).gt(0.0)
        scores = (cls_logit.detach().sigmoid() * obj_logit.detach().sigmoid().unsqueeze(-1))
        centres = (points + 0.5) * strides
        _, target_boxes, target_scores, fg, _ = self.assigner(
            scores, pred_xyxy.detach(), centres, gt_labels, gt_boxes, mask_gt)
        total = target_scores.sum().clamp(min=1.0)
        n_fg = fg.sum().clamp(min=1)
        weight = target_scores.sum(-1)[fg]
        if fg.any():
            iou = bbox_iou(pred_xyxy[fg], target_boxes[fg], xywh=False, CIoU=True).squeeze(-1)
            loss_box = ((1.0 - iou) * weight).sum() / total
            loss_cls = self.bce(cls_logit[fg], target_scores[fg]).sum() / total
        else:
            loss_box = pred_xyxy.sum() * 0.0
            loss_cls = cls_logit.sum() * 0.0
        loss_obj = self.bce(obj_logit, fg.to(obj_logit.dtype)).sum() / n_fg
        s = self.settings
        parts = torch.stack((loss_box * s.box, loss_obj * s.obj, loss_cls * s.cls))
        return parts.sum() * b, parts.detach()


# --- data --------------------------------------------------------------------------------------


def _loader(config: YoloxConfig, data: dict[str, Any], mosaic: bool) -> Any:
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_dataloader, build_yolo_dataset
    from ultralytics.utils import IterableSimpleNamespace

    s = config.train
    cfg = IterableSimpleNamespace(**vars(get_cfg(overrides={
        "imgsz": s.imgsz, "mosaic": s.mosaic if mosaic else 0.0, "mixup": s.mixup,
        "scale": s.scale, "translate": s.translate, "degrees": s.degrees, "fliplr": s.fliplr,
        "hsv_h": s.hsv_h, "hsv_s": s.hsv_s, "hsv_v": s.hsv_v, "cache": False,
        "close_mosaic": s.close_mosaic, "workers": s.workers, "batch": s.batch,
    })))
    dataset = build_yolo_dataset(cfg, data["train"], s.batch, data, mode="train", stride=32)
    return build_dataloader(dataset, s.batch, s.workers, shuffle=True, device="cpu")


def _dataset_dict(config: YoloxConfig) -> dict[str, Any]:
    from ultralytics.data.utils import check_det_dataset

    return check_det_dataset(str(config.data), autodownload=False)


# --- training ----------------------------------------------------------------------------------


def _merge_sources(config: YoloxConfig) -> None:
    """The config's datasets joined into ``config.data``'s folder (each keeps its own split;
    a source without splits, such as a review export, is training data)."""
    result = merge_yolo(config.merge, config.data.parent, overwrite=True, osd=config.osd)
    log.info("merged %d datasets into %s: %s", len(config.merge), config.data.parent, result)


def build_model(config: YoloxConfig, names: tuple[str, ...]) -> YoloxNano:
    from linepatrol_models.yolox import load_pretrained, source_class_rows

    model = YoloxNano(names)
    rows = source_class_rows(config.pretrained, config.source_names)
    if rows:  # a LinePatrol model fine-tuned: each class from its own classifier
        init = {name: rows[name] for name in names if name in rows}
    else:  # the COCO network: machinery from its truck classifier
        init = {name: COCO_TRUCK for name in config.from_truck if name in names}
    load_pretrained(model, config.pretrained, init)
    return model


def _lr_at(settings: YoloxSettings, epoch_f: float) -> float:
    """Linear warm-up, then cosine from lr0 to lr0 x lrf over the run."""
    s = settings
    if epoch_f < s.warmup_epochs:
        return s.lr0 * max(epoch_f / s.warmup_epochs, 0.01)
    progress = (epoch_f - s.warmup_epochs) / max(s.epochs - s.warmup_epochs, 1e-9)
    return s.lr0 * (s.lrf + (1 - s.lrf) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def _optimizer(model: nn.Module, s: YoloxSettings) -> torch.optim.Optimizer:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim > 1 and name.endswith("weight") else no_decay).append(p)
    return torch.optim.SGD([{"params": decay, "weight_decay": s.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=s.lr0, momentum=s.momentum, nesterov=True)


class _Interrupt:
    """Turns SIGTERM into KeyboardInterrupt while training, so both save a checkpoint."""

    def __enter__(self) -> _Interrupt:
        self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self.previous)


def save_checkpoint(path: Path, model: YoloxNano, ema: Any, optimizer: torch.optim.Optimizer,
                    epoch: int, config: YoloxConfig, history: list[dict[str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({
        "arch": ARCH, "names": list(model.names), "imgsz": config.train.imgsz,
        "model": model.state_dict(), "ema": ema.ema.state_dict(), "updates": ema.updates,
        "optimizer": optimizer.state_dict(), "epoch": epoch,
        "settings": asdict(config.train), "config": str(config.path), "history": history,
        # read by the exporter as ultralytics checkpoints are: calibration photos, input size
        "train_args": {"data": str(config.data), "imgsz": config.train.imgsz},
    }, tmp)
    tmp.replace(path)  # never a half-written last.pt


def load_for_inference(path: Path) -> YoloxNano:
    """The EMA network of a checkpoint, in eval mode."""
    ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or ckpt.get("arch") != ARCH:
        raise ValueError(f"{path}: not a LinePatrol {ARCH} checkpoint")
    model = YoloxNano(tuple(ckpt["names"]))
    model.load_state_dict(ckpt["ema"])
    return model.eval()


def checkpoint_meta(path: Path) -> dict[str, Any]:
    ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    return {k: ckpt[k] for k in ("arch", "names", "imgsz", "epoch", "settings", "history")
            if k in ckpt}


def is_yolox_checkpoint(path: Path) -> bool:
    try:
        ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception:  # any unreadable file is simply not ours (torch raises many kinds)
        return False
    return isinstance(ckpt, dict) and ckpt.get("arch") == ARCH


def _batches(loader: Any, count: int) -> Iterator[dict[str, torch.Tensor]]:
    it = iter(loader)
    for _ in range(count):
        yield next(it)


def train_yolox(config: YoloxConfig, resume: bool = False) -> Path:
    """Train (or carry on training) the run ``config`` describes; returns ``last.pt``."""
    from linepatrol_models.offline import prepare_offline

    s = config.train
    config.run_dir.mkdir(parents=True, exist_ok=True)
    prepare_offline(config.run_dir / ".ultralytics")  # before ultralytics is imported
    torch.manual_seed(s.seed)
    if s.threads:
        torch.set_num_threads(s.threads)
    from ultralytics.utils.torch_utils import ModelEMA

    if s.epochs == 0:
        # nothing to learn: the pretrained network with its classifiers mapped, as a checkpoint
        if not config.names:
            raise YoloxConfigError(f"{config.path}: a run of 0 epochs needs 'names'")
        model = build_model(config, config.names)
        ema = ModelEMA(model, decay=0.9998)  # type: ignore[no-untyped-call]
        save_checkpoint(config.last_checkpoint, model, ema, _optimizer(model, s), 0, config, [])
        return config.last_checkpoint
    if config.merge and not (resume and config.data.is_file()):
        _merge_sources(config)
    data = _dataset_dict(config)
    names = tuple(str(data["names"][i]) for i in range(len(data["names"])))
    if config.names and config.names != names:
        raise YoloxConfigError(f"{config.path}: names {list(config.names)} but the data has "
                               f"{list(names)}")
    model = build_model(config, names)
    frozen = [model.backbone.stem, model.backbone.dark2, model.backbone.dark3,
              model.backbone.dark4][: s.freeze]
    for part in frozen:
        part.requires_grad_(False)
    optimizer = _optimizer(model, s)
    # ultralytics' EMA ramps its decay up over the first updates, which a short CPU run needs
    ema = ModelEMA(model, decay=0.9998)  # type: ignore[no-untyped-call]
    start, history = 0, []
    last = config.last_checkpoint
    if resume:
        if not last.is_file():
            raise YoloxConfigError(f"no checkpoint to resume at {last}")
        ckpt = torch.load(str(last), map_location="cpu", weights_only=False)
        if tuple(ckpt["names"]) != names:
            raise YoloxConfigError(f"{last}: trained for {ckpt['names']}, the data has {names}")
        model.load_state_dict(ckpt["model"])
        ema.ema.load_state_dict(ckpt["ema"])
        ema.updates = ckpt["updates"]
        optimizer.load_state_dict(ckpt["optimizer"])
        start, history = int(ckpt["epoch"]), list(ckpt.get("history", []))
        log.info("resuming %s at epoch %d of %d", last, start + 1, s.epochs)
    criterion = YoloxLoss(len(names), s)
    loader, loader_mosaic = None, None
    with _Interrupt():
        epoch = start
        try:
            for epoch in range(start, s.epochs):
                mosaic = epoch < s.epochs - s.close_mosaic
                if loader is None or mosaic != loader_mosaic:
                    loader, loader_mosaic = _loader(config, data, mosaic), mosaic
                n = len(loader)
                model.train()
                sums = torch.zeros(3)
                t0 = time.monotonic()
                for i, batch in enumerate(_batches(loader, n)):
                    lr = _lr_at(s, epoch + i / n)
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                    img = batch["img"].float() / 255.0
                    loss, parts = criterion(model.raw(img), batch)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()  # type: ignore[no-untyped-call]
                    nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
                    optimizer.step()
                    ema.update(model)  # type: ignore[no-untyped-call]
                    sums += parts
                    if i % 10 == 0:
                        log.info("epoch %d/%d batch %d/%d loss box %.3f obj %.3f cls %.3f "
                                 "lr %.4f", epoch + 1, s.epochs, i, n, *parts.tolist(), lr)
                mean = (sums / max(n, 1)).tolist()
                history.append({"epoch": epoch + 1, "box": mean[0], "obj": mean[1],
                                "cls": mean[2], "seconds": time.monotonic() - t0})
                save_checkpoint(last, model, ema, optimizer, epoch + 1, config, history)
                log.info("epoch %d done in %.0f s: %s", epoch + 1, history[-1]["seconds"], mean)
        except KeyboardInterrupt:
            # The epoch in progress is not counted: resuming repeats it from its start.
            save_checkpoint(last, model, ema, optimizer, epoch, config, history)
            log.warning("interrupted: saved %s at epoch %d; resume with --resume", last, epoch)
            raise
    return last
