"""``linepatrol train / export / evaluate``: the model life cycle, from a config to a card.

register() is cheap: torch and ultralytics are imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from linepatrol.cli import UserError
from linepatrol.detect_config import add_detection_options, class_conf_items, from_args, parse_tile


def _parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with a YAML value (``epochs=3``, ``cos_lr=false``, ``imgsz=320``)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, not {text!r}")
    return key.strip(), yaml.safe_load(value)


def _train(args: argparse.Namespace) -> int:
    from linepatrol_models.config import ConfigError
    from linepatrol_models.dataset import DatasetError
    from linepatrol_models.train import TrainError, run_training

    if _is_yolox(Path(args.config)):
        return _train_yolox(args)
    resume: Path | bool = False
    if args.resume is not None:
        resume = Path(args.resume) if args.resume else True
    try:
        best = run_training(
            Path(args.config),
            resume=resume,
            overrides=dict(args.set or []),
            data=Path(args.data) if args.data else None,
            runs_dir=Path(args.runs_dir) if args.runs_dir else None,
        )
    except (ConfigError, DatasetError, TrainError) as exc:
        raise UserError(str(exc)) from None
    print(f"best checkpoint: {best}")
    return 0


def _is_yolox(config: Path) -> bool:
    from linepatrol_models.yolox_train import is_yolox_config

    try:
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False  # the ultralytics path reports the problem
    return isinstance(raw, dict) and is_yolox_config(raw)


def _train_yolox(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from linepatrol_models.yolox_train import YoloxConfigError, load_yolox_config, train_yolox

    try:
        config = load_yolox_config(Path(args.config))
        if args.data:
            config = replace(config, data=Path(args.data).resolve())
        if args.runs_dir:
            config = replace(config, runs_dir=Path(args.runs_dir).resolve())
        if args.set:
            config = replace(config, train=replace(config.train, **dict(args.set)))
        last = train_yolox(config, resume=args.resume is not None)
    except (YoloxConfigError, TypeError) as exc:
        raise UserError(str(exc)) from None
    print(f"last checkpoint: {last}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from linepatrol_models.export import ExportError, export_all

    try:
        report = export_all(
            Path(args.weights),
            out=Path(args.out) if args.out else None,
            imgsz=args.imgsz,
            half=not args.no_fp16,
            int8=not args.no_int8,
            calibration=Path(args.calibration) if args.calibration else None,
            calibration_images=args.calibration_images,
            tile_auto=args.tile_auto,
            classes=args.classes.split(",") if args.classes else None,
            class_conf=class_conf_items(args.class_conf),
        )
    except (ExportError, ValueError) as exc:
        raise UserError(str(exc)) from None
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if len(args.data) > 1 or args.machines_as_one or args.osd or "=" in args.data[0]:
        return _evaluate_suite(args)
    args.data = args.data[0]
    from linepatrol.settings import CoreSettings
    from linepatrol_models.dataset import DatasetError
    from linepatrol_models.evaluate import EvaluationError, evaluate_model

    try:
        config = from_args(args)
        compare = [parse_tile(t) for t in args.compare_tile or []]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        result = evaluate_model(
            args.model, Path(args.data), CoreSettings(), split=args.split, conf=config.conf,
            tile=config.tile,
            card=Path(args.card) if args.card else None,
            training_configs=[Path(c) for c in args.config or []],
            notes=args.notes, limit=args.limit, variants=args.variant or [],
            compare_tiles=compare,
        )
    except (DatasetError, EvaluationError) as exc:
        raise UserError(str(exc)) from None
    print(json.dumps(result.summary(), indent=2, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(result.summary(), indent=2, ensure_ascii=False),
                                   encoding="utf-8")
    return 0


def _evaluate_suite(args: argparse.Namespace) -> int:
    from linepatrol.settings import CoreSettings
    from linepatrol_models.dataset import DatasetError
    from linepatrol_models.evaluate import EvaluationError
    from linepatrol_models.suite import DevSet, evaluate_suite, suite_table

    if args.card or args.variant or args.compare_tile:
        raise UserError("--card, --variant and --compare-tile take one dataset")
    sets = [DevSet.parse(text, args.split) for text in args.data]
    try:
        config = from_args(args)
        results, osd = evaluate_suite(args.model, sets, CoreSettings(), conf=config.conf,
                                      tile=config.tile,
                                      machines_as_one=args.machines_as_one,
                                      osd_photos=args.osd, limit=args.limit)
    except (ValueError, DatasetError, EvaluationError) as exc:
        raise UserError(str(exc)) from None
    print(suite_table(results, osd), end="")
    if args.json:
        payload = {"model": args.model, "sets": [
            {"name": r.set.name, "data": str(r.set.data), "split": r.set.split,
             "failed": r.failed, **r.metrics.as_dict()} for r in results]}
        if osd is not None:
            payload["osd"] = {"photos": osd.photos, "false_detections": osd.false_detections}
        Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False),
                                   encoding="utf-8")
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``train``, ``export`` and ``evaluate``; imports nothing heavy."""
    p = subparsers.add_parser(
        "train", help="train a detector from a config file (ultralytics, offline)",
        description="Train a detector described by a config file (models/configs/*.yaml): "
        "architecture from YAML, fixed seed, no downloads.",
    )
    p.add_argument("config", help="training config, e.g. models/configs/cplid-v1.yaml")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="CHECKPOINT",
                   help="resume the interrupted run (its last.pt, or the checkpoint given)")
    p.add_argument("--data", help="dataset data.yaml or folder (overrides the config)")
    p.add_argument("--runs-dir", help="where runs are written (overrides the config)")
    p.add_argument("--set", action="append", type=_parse_override, metavar="KEY=VALUE",
                   help="override one trainer argument, e.g. --set epochs=3 (repeatable)")
    p.set_defaults(handler=_train)

    p = subparsers.add_parser(
        "export", help="export a checkpoint to ONNX (fp32, fp16, INT8) with a parity check",
        description="Export a .pt checkpoint to ONNX fp32 (class keys and input size in the "
        "metadata), fp16 for GPUs and static-quantized INT8 for CPUs; checks ONNX Runtime "
        "against torch on the same inputs.",
    )
    p.add_argument("weights", help="ultralytics checkpoint (.pt)")
    p.add_argument("--out", help="fp32 ONNX path (default: next to the checkpoint)")
    p.add_argument("--imgsz", type=int, help="input size (default: the training size)")
    p.add_argument("--no-fp16", action="store_true", help="skip the fp16 model")
    p.add_argument("--no-int8", action="store_true", help="skip the INT8 model")
    p.add_argument("--calibration", help="images (folder or data.yaml) to calibrate INT8 on "
                   "(default: the training split of the checkpoint's dataset)")
    p.add_argument("--calibration-images", type=int, default=64,
                   help="how many calibration images (default 64)")
    p.add_argument("--tile-auto", metavar="off|N",
                   help="what '--tile auto' does for this model, kept in its metadata: tiles of "
                   "N input sides (default 2: training photos at about half scale), or 'off' "
                   "for one whole-photo pass (a model trained on whole low-resolution views)")
    p.add_argument("--classes", metavar="KEY,KEY",
                   help="keep only these classes' outputs (the ones the model was measured "
                   "good at; a model set takes the rest from its other members)")
    p.add_argument("--class-conf", action="append", default=[], metavar="CLASS=C",
                   help="the model's own operating threshold for a class, kept in its "
                   "metadata (repeatable; the model card's per-class precision and recall "
                   "choose it); other classes run at --conf")
    p.set_defaults(handler=_export)

    p = subparsers.add_parser(
        "evaluate", help="mAP and per-class precision/recall of an ONNX model on a dataset",
        description="Run the model through the LinePatrol detector (as 'linepatrol detect' "
        "does) on a YOLO dataset split and compute COCO mAP50, mAP50-95 and per-class "
        "precision/recall at the operating threshold; optionally write a model card.",
    )
    p.add_argument("model", help="ONNX model file or bundled model name (with several "
                   "datasets also a model set, A+B, or 'default')")
    p.add_argument("data", nargs="+", metavar="[NAME=]DATA[:SPLIT]",
                   help="YOLO dataset folder or data.yaml; several print one table over all "
                   "(each NAME=DATA:SPLIT; split default --split)")
    p.add_argument("--split", default="val", help="dataset split (default val)")
    p.add_argument("--machines-as-one", action="store_true",
                   help="score every machinery class as one 'machinery' class (a set that "
                   "labels only excavators, say)")
    p.add_argument("--osd", type=int, default=0, metavar="N",
                   help="also stamp camera on-screen text (date, time, voltage, coordinates) "
                   "on N photos of the sets and count detections on the text (several "
                   "datasets only)")
    add_detection_options(p)  # --conf: the operating threshold for precision/recall
    p.add_argument("--card", help="write a model card (markdown) here")
    p.add_argument("--config", action="append",
                   help="training config to describe in the card (repeat for each stage)")
    p.add_argument("--notes", help="markdown file with extra card sections (how trained, limits)")
    p.add_argument("--variant", action="append", metavar="MODEL",
                   help="also evaluate this model (e.g. the INT8 one) into the card's table")
    p.add_argument("--compare-tile", action="append", metavar="TILE",
                   help="also evaluate with this tiling (e.g. off) into the card's table")
    p.add_argument("--limit", type=int, help="evaluate only the first N images")
    p.add_argument("--json", help="also write the metrics as JSON here")
    p.set_defaults(handler=_evaluate)
