"""``linepatrol detect PATH...``: detections for photos and folders, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from linepatrol.cli.errors import UserError
from linepatrol.detect_config import (
    DEFAULTS,
    add_detection_options,
    class_conf_items,
    from_args,
)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "detect",
        help="detect defects and hazards in photos",
        description="Run the detection model on photos (files or folders, searched recursively). "
        "Unreadable files are reported and skipped; the exit code is 0 unless every file failed.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="photo files or folders")
    p.add_argument("--model", help="ONNX model file or bundled model name; A+B runs both, each "
                   "class from the first that has it (default: the bundled default)")
    add_detection_options(p)
    p.add_argument(
        "--class-conf", action="append", default=[], metavar="CLASS=C",
        help="per-class confidence threshold, e.g. insulator_missing_cap=0.4 (repeatable)",
    )
    p.add_argument("--iou", type=float, default=DEFAULTS.iou,
                   help=f"NMS IoU threshold ({DEFAULTS.iou})")
    p.add_argument("--json", metavar="OUT", help="write results as JSON to OUT ('-' = stdout)")
    p.add_argument(
        "--annotate", metavar="DIR",
        help="also write each photo with its boxes drawn to DIR (same file names and formats)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from linepatrol.images import iter_image_paths
    from linepatrol.model_store import ModelNotFoundError
    from linepatrol.pipeline import detect_files, open_detector
    from linepatrol.runtime.model_info import ModelLoadError
    from linepatrol.runtime.providers import ProviderError
    from linepatrol.settings import CoreSettings

    try:
        config = replace(from_args(args), iou=args.iou,
                         class_conf=class_conf_items(args.class_conf))
        detector = open_detector(args.model, CoreSettings(), config)
    except (ModelNotFoundError, ModelLoadError, ProviderError, ValueError) as exc:
        raise UserError(str(exc)) from None
    files = iter_image_paths(args.paths)
    if not files:
        raise UserError("no photos found in " + ", ".join(args.paths))
    show = not args.no_progress and len(files) > 1 and sys.stderr.isatty()
    results = []
    for result in tqdm(detect_files(detector, files), total=len(files), disable=not show,
                       unit="photo", desc="detect"):
        results.append(result)
        if result.error:
            print(f"{result.name}: {result.error}", file=sys.stderr)
        elif args.annotate:
            _write_annotated(result, Path(args.annotate))
    records = [r.to_json() for r in results]
    if args.json:
        text = json.dumps(records, ensure_ascii=False, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.json != "-":
        _print_table(records)
    failed = sum(1 for r in results if r.error)
    return 1 if failed == len(results) else 0


def _write_annotated(result: Any, folder: Path) -> None:
    import cv2

    from linepatrol.annotate import draw_detections
    from linepatrol.images import ImageError, read_image

    try:
        pixels = read_image(result.path).pixels
    except ImageError:
        return
    folder.mkdir(parents=True, exist_ok=True)
    # the photo's own name (DJI_0042.JPG stays .JPG, so it sorts and matches beside the
    # original); OpenCV encodes by the suffix, so a PNG stays a PNG
    out = folder / result.path.name
    cv2.imwrite(str(out), draw_detections(pixels, result.detections),
                [cv2.IMWRITE_JPEG_QUALITY, 90])


def _print_table(records: list[dict[str, Any]]) -> None:
    from collections import Counter

    from linepatrol import taxonomy

    for rec in records:
        if rec["error"]:
            continue
        counts = Counter(d["class"] for d in rec["detections"])
        summary = ", ".join(
            f"{n} {taxonomy.BY_KEY[k].label if k in taxonomy.BY_KEY else k}"
            for k, n in counts.most_common()
        )
        print(f"{rec['image']}: {summary or 'nothing found'}")
