"""``linepatrol data``: convert, split, describe and tile detection datasets.

``register`` only builds argparse parsers; the work (and imports of numpy, PIL, imagehash)
happens in the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

FORMAT_HELP = """\
label formats (--format):
  voc      Pascal VOC XML (<object><name>, <bndbox> xmin/ymin/xmax/ymax in pixels). One XML
           per image, or several per image as in CPLID (labels/insulator/000.xml and
           labels/defect/000.xml both describe images/000.jpg): XML files that point at the
           same image are merged. The image is looked up by the XML's name in the XML's folder
           and in images/ or JPEGImages/ folders of it and of the folders above it.
  coco     COCO detection JSON; SRC is the .json file, --images the folder its file_name
           entries are relative to (default: the JSON's folder).
  yolo     ultralytics YOLO layout: images/<split>/x.jpg + labels/<split>/x.txt with
           "class_id cx cy w h" normalised to 0..1; class names from SRC/data.yaml or
           SRC/classes.txt. An existing train/val split is kept unless --val is given.
           All images under SRC are read (data.yaml's train:/val: paths are not followed).
  labelme  LabelMe JSON, one per image (imagePath, shapes); rectangles and polygons are used
           (a polygon becomes its bounding box), points and lines are reported and ignored.

class names: the output uses LinePatrol class keys (linepatrol.taxonomy). A source name
that is not a key needs a mapping: --map FILE (YAML/JSON "classes: {source: key}", null drops
a class on purpose) or --map DATASET for a built-in table (cplid). Unmapped names stop the
command with a list of them, unless --drop-unknown.

bad labels are reported per file and skipped, and the rest goes on: box outside the image
(a box past the edge by at most --clip-tolerance of the side, min 2 px, is clipped and kept),
zero-area box, unknown class, label without image, image without label (skipped unless
--unlabelled-as-background; an empty label file is always a valid background image),
unreadable label or image.
"""


def _wrap(text: str) -> str:
    """Descriptions are written as one paragraph; the raw formatter (kept for the epilogs'
    examples) would print them as one long line."""
    return textwrap.fill(text, width=88)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``linepatrol data ...``; imports nothing heavy."""
    data = subparsers.add_parser(
        "data",
        help="convert, split, describe and tile training datasets",
        description=_wrap("Dataset tools: read VOC, COCO, YOLO or LabelMe labels, map class names "
        "to LinePatrol classes, check them, split train/val without near-duplicate leakage, "
        "print statistics and cut large photos into training tiles."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=FORMAT_HELP,
    )
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    data.set_defaults(handler=lambda _args: (data.print_help(), 2)[1])
    _add_convert(sub)
    _add_split(sub)
    _add_stats(sub)
    _add_slice(sub)
    _add_merge(sub)
    _add_export_reviewed(sub)
    from linepatrol_datasets.synth.cli import register_synth  # synth, sample-flight, check-flight

    register_synth(sub)


# ---------------------------------------------------------------------------- arguments

def _source_args(p: argparse.ArgumentParser) -> None:
    from_formats = "voc, coco, yolo, labelme"
    p.add_argument("src", type=Path, metavar="SRC",
                   help="dataset folder (for coco: the annotation .json file)")
    p.add_argument("--format", "-f", required=True,
                   choices=["voc", "voc-split", "coco", "yolo", "labelme"],
                   help=f"label format of SRC ({from_formats}; voc-split is another name for voc, "
                   "which merges split XML files by itself; see the notes below)")
    p.add_argument("--images", type=Path, metavar="DIR",
                   help="coco only: folder that the JSON's file_name entries are relative to")
    p.add_argument("--map", metavar="FILE|DATASET",
                   help="class mapping: a YAML/JSON file (e.g. datasets/mappings/cplid.yaml) or a "
                   "built-in dataset name (cplid); without it names must be LinePatrol keys")
    p.add_argument("--drop-unknown", action="store_true",
                   help="skip (and report) boxes whose class has no mapping instead of stopping")
    p.add_argument("--clip-tolerance", type=float, default=0.01, metavar="FRACTION",
                   help="boxes past the image edge by at most this fraction of the side "
                   "(min 2 px) are clipped and kept; further out they are dropped "
                   "(default %(default)s)")
    p.add_argument("--unlabelled-as-background", action="store_true",
                   help="keep images that have no label file as background images "
                   "(default: report and skip them)")
    p.add_argument("--max-issues", type=int, default=30, metavar="N",
                   help="print at most N label problems (all go to the JSON report)")


def _split_args(p: argparse.ArgumentParser, default_val: float | None) -> None:
    p.add_argument("--val", "--split", dest="val", type=float, default=default_val,
                   metavar="FRACTION",
                   help="fraction of images for validation, e.g. 0.2"
                   + (" (default: keep the source's split if it has one, else 0.2)"
                      if default_val is None else " (default %(default)s)"))
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default %(default)s)")
    p.add_argument("--no-dedup", action="store_true",
                   help="split image by image, without near-duplicate grouping")
    p.add_argument("--dedup-classes", metavar="KEYS",
                   help="comma-separated class keys whose crops are hashed to find the same "
                   "object pasted or photographed in several images (default: all line-defect "
                   "classes)")
    p.add_argument("--crop-distance", type=int, default=10, metavar="BITS",
                   help="crops whose 64-bit perceptual hashes differ in at most BITS bits are the "
                   "same object (default %(default)s)")
    p.add_argument("--image-distance", type=int, default=4, metavar="BITS",
                   help="whole images within BITS bits are near-duplicates (default %(default)s)")


def _add_convert(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a dataset to the ultralytics YOLO layout (and split it)",
        description=_wrap("Read SRC, map its classes to LinePatrol keys, drop bad labels (reported "
        "per file), split train/val by near-duplicate group and write the ultralytics YOLO "
        "layout: OUT/data.yaml, OUT/images/{train,val}, OUT/labels/{train,val}, "
        "OUT/manifest.json (where each image came from) and OUT/report.json (problems, split, "
        "statistics)."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: CPLID with an 80/20 split, then training on it\n"
        "  linepatrol data convert /work/shared/datasets/cplid --format voc \\\n"
        "      --map datasets/mappings/cplid.yaml --out /work/data/cplid-yolo --val 0.2 --seed 0\n"
        "  linepatrol train models/configs/cplid-v1.yaml --data /work/data/cplid-yolo/data.yaml\n\n"
        + FORMAT_HELP,
    )
    _source_args(p)
    p.add_argument("--out", "-o", type=Path, required=True, metavar="DIR",
                   help="output folder (created; refuses to replace a dataset without --overwrite)")
    _split_args(p, None)
    p.add_argument("--link", choices=["copy", "symlink", "hardlink"], default="copy",
                   help="how images get into OUT (default %(default)s; symlink saves space but "
                   "breaks when the source moves)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the dataset already in OUT (only files this tool writes)")
    p.set_defaults(handler=_run_convert)


def _add_split(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "split",
        help="plan a train/val split (near-duplicates kept together) without converting",
        description=_wrap(
            "Group near-duplicate images, split the groups train/val with a fixed seed "
            "and report the result. With --out, write OUT/train.txt and OUT/val.txt (one image "
            "path per line; ultralytics accepts such lists as train:/val: in a data YAML) and "
            "OUT/split.json (every image with its group and side)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  linepatrol data split /work/shared/datasets/cplid -f voc --map cplid "
        "--val 0.2 --seed 0 --out /tmp/cplid-split\n\n" + FORMAT_HELP,
    )
    _source_args(p)
    _split_args(p, 0.2)
    p.add_argument("--out", "-o", type=Path, metavar="DIR", help="where to write the lists")
    p.set_defaults(handler=_run_split)


def _add_stats(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "stats",
        help="count images and boxes per class and describe box sizes",
        description=_wrap(
            "Images, boxes per class, images per class, and box sizes relative to the "
            "image (sqrt of box area / image area, width and height fractions): percentiles and "
        "a histogram per class. Small relative sizes mean the photo should be tiled "
        "(linepatrol data slice) or trained at a larger imgsz."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  linepatrol data stats /work/data/cplid-yolo -f yolo --json stats.json"
        "\n\n" + FORMAT_HELP,
    )
    _source_args(p)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the statistics as JSON")
    p.add_argument("--imgsz", type=int, default=640,
                   help="also give box sizes in pixels after resizing the image's long side to "
                   "this (the training imgsz; default %(default)s)")
    p.set_defaults(handler=_run_stats)


def _add_slice(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "slice",
        help="cut large photos into training tiles with their labels (YOLO layout)",
        description=_wrap("Cut every image into TILE x TILE tiles overlapping by OVERLAP (the same "
        "grid the detector uses at inference, linepatrol.slicing.tile_grid), clip each box to "
        "the tile and keep it if at least --min-visible of its area is inside. The split is "
        "made on whole photos before cutting, so tiles of one photo never straddle train/val."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  linepatrol data slice /work/data/cplid-yolo -f yolo --tile 640 "
        "--overlap 0.2 --out /work/data/cplid-tiles\n\n" + FORMAT_HELP,
    )
    _source_args(p)
    p.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--tile", type=int, default=640,
                   help="tile side in pixels (default %(default)s)")
    p.add_argument("--overlap", type=float, default=0.2,
                   help="overlap of adjacent tiles as a fraction of the tile (default %(default)s)")
    p.add_argument("--min-visible", type=float, default=0.5, metavar="FRACTION",
                   help="keep a clipped box if at least this fraction of its area is in the tile "
                   "(default %(default)s); less is dropped, as a sliver teaches a wrong shape")
    p.add_argument("--drop-empty", action="store_true",
                   help="do not write tiles without boxes (default: keep them as background)")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality of tiles (default 95)")
    _split_args(p, None)
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already in OUT")
    p.set_defaults(handler=_run_slice)


def _add_merge(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "merge",
        help="join YOLO datasets of taxonomy keys into one training set",
        description=_wrap("Join datasets written by 'linepatrol data convert' or 'data synth' "
        "into one YOLO dataset: each keeps its own train/val split, class ids are renumbered "
        "in taxonomy order. SRC:SPLITS keeps only those splits of a source (e.g. a synthetic "
        "set whose val repeats its train photos: DIR:train); SRC*N puts a source's training "
        "photos in N times (a small real set beside a large one), its val photos once."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  linepatrol data merge /work/data/cplid-yolo /work/data/idd-yolo "
        "/work/data/synth-a:train --out /work/data/patrol-v2",
    )
    p.add_argument("sources", nargs="+", metavar="SRC[:SPLITS][*N]",
                   help="YOLO dataset folders; ':train' or ':train,val' keeps those splits, "
                   "'*N' repeats the training photos N times")
    p.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--link", choices=["copy", "symlink", "hardlink"], default="symlink",
                   help="how images get into OUT (default %(default)s)")
    p.add_argument("--osd", type=int, default=0, metavar="N",
                   help="also add stamped copies of N training photos with camera on-screen text "
                   "(date, time, voltage, coordinates): a hard negative (default none)")
    p.add_argument("--seed", type=int, default=0, help="which photos get text (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already in OUT")
    p.set_defaults(handler=_run_merge)


def _run_merge(args: argparse.Namespace) -> int:
    from linepatrol_datasets.merge import MergeError, MergeSource, merge_yolo
    from linepatrol_datasets.yolo_writer import OutputExistsError

    try:
        sources = [MergeSource.parse(text) for text in args.sources]
        result = merge_yolo(sources, args.out, link=args.link, overwrite=args.overwrite,
                            osd=args.osd, seed=args.seed)
    except (MergeError, OutputExistsError) as exc:
        raise _user_error(str(exc)) from None
    counts = ", ".join(f"{split} {n}" for split, n in sorted(result.images.items()))
    print(f"wrote {args.out} ({counts}; data: {result.data_yaml})")
    return 0


def _add_export_reviewed(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "export-reviewed",
        help="download the service's reviewed photos and their labels (YOLO, COCO, Label Studio)",
        description=_wrap("Download GET /api/v1/datasets/export of a LinePatrol service (a "
        "reviewer's or admin's token): the reviewed photos at full resolution and their labels "
        "in taxonomy keys; confirmed and corrected boxes are positives, photos whose "
        "detections were all rejected are negatives. The archive is downloaded into OUT with "
        "a progress bar, resumed where it stopped when run again after a broken connection, "
        "checked and unpacked there (data.yaml, images/, labels/ for yolo; annotations.json "
        "for coco; tasks.json for labelstudio; manifest.json always)."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  linepatrol data export-reviewed --server http://lp:8000 --token "
        "$LP_TOKEN \\\n      --line '500kV 江城线' --since 2026-01-01 --out /work/data/reviewed\n"
        "  linepatrol data convert /work/data/reviewed -f yolo --out /work/data/reviewed-split",
    )
    p.add_argument("--server", required=True, metavar="URL",
                   help="the service's base URL, e.g. http://lp:8000")
    p.add_argument("--token", metavar="T", default=None,
                   help="a reviewer's or admin's API token (default: $LINEPATROL_TOKEN)")
    p.add_argument("--out", "-o", type=Path, required=True, metavar="DIR",
                   help="folder to unpack into (created)")
    p.add_argument("--format", "-f", choices=["yolo", "coco", "labelstudio"], default="yolo",
                   help="label format (default %(default)s)")
    p.add_argument("--line", metavar="NAME", help="only this line's flights")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only flights dated on or after")
    p.add_argument("--status", action="append", metavar="STATUS", default=[],
                   help="photos showing items of this status (repeatable; default: every "
                   "reviewed status: confirmed, assigned, fixed, closed, rejected)")
    p.add_argument("--components", action="store_true",
                   help="also label components (insulators, towers, dampers: never reviewed) "
                   "with the detector's boxes, for a fine-tune that must keep them")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an export already in OUT (only the files an export writes)")
    p.set_defaults(handler=_run_export_reviewed)


class _Bar:
    """A tqdm bar in bytes, made when the size is known (after a resume: from where it was)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, done: int, total: int | None) -> None:
        from tqdm import tqdm

        if self.bar is not None:
            self.bar.close()
        self.bar = tqdm(total=total, initial=done, unit="B", unit_scale=True,
                        unit_divisor=1024, desc="export", file=sys.stderr)

    def advance(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run_export_reviewed(args: argparse.Namespace) -> int:
    import datetime as dt
    import os

    import httpx

    from linepatrol_service.client import api_client
    from linepatrol_service.export_download import (
        PART,
        DownloadError,
        ExportRequest,
        download,
        present_entries,
        unpack,
    )

    token = args.token or os.environ.get("LINEPATROL_TOKEN")
    if not token:
        raise _user_error("--token (or $LINEPATROL_TOKEN) is needed")
    try:
        since = dt.date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise _user_error(f"--since {args.since!r} is not a date (YYYY-MM-DD)") from None
    present = present_entries(args.out)
    if present and not args.overwrite:
        raise _user_error(f"{args.out} already holds an export ({', '.join(present)}); pass "
                          "--overwrite to replace it")
    args.out.mkdir(parents=True, exist_ok=True)
    request = ExportRequest(args.format, args.line, since, tuple(args.status),
                            components=args.components)
    bar = _Bar()
    # the server builds the archive before its first byte: a long read timeout
    timeout = httpx.Timeout(30.0, read=3600.0)
    try:
        with api_client(args.server, token, timeout=timeout) as client:
            part = download(client, request, args.out / PART, bar)
        bar.close()
        top = unpack(part, args.out, args.overwrite)
    except DownloadError as exc:
        bar.close()
        raise _user_error(str(exc)) from None
    print(f"unpacked {', '.join(top)} into {args.out}")
    return 0


# ---------------------------------------------------------------------------- shared steps

def _user_error(message: str) -> Exception:
    from linepatrol.cli import UserError

    return UserError(message)


def _read(args: argparse.Namespace) -> tuple[Any, Any]:
    """Read SRC and map its classes; print the label problems. Returns (Dataset, ClassMap)."""
    from linepatrol_datasets.issues import summary_lines
    from linepatrol_datasets.mapping import MappingError, apply_mapping, load_mapping
    from linepatrol_datasets.readers import read_dataset
    from linepatrol_datasets.readers.common import ReadOptions

    if not args.src.exists():
        raise _user_error(f"{args.src} does not exist")
    if args.format == "coco" and not args.src.is_file():
        raise _user_error("for --format coco, SRC is the annotation .json file")
    if args.format != "coco" and not args.src.is_dir():
        raise _user_error(f"for --format {args.format}, SRC is a folder")
    options = ReadOptions(args.clip_tolerance, args.unlabelled_as_background)
    if args.format == "voc-split":
        args.format = "voc"
    try:
        cmap = load_mapping(args.map)
        dataset = read_dataset(args.format, args.src, options, args.images)
        dataset = apply_mapping(dataset, cmap, args.drop_unknown)
    except MappingError as exc:
        raise _user_error(str(exc)) from None
    except ValueError as exc:  # a data.yaml / COCO file that cannot be used at all
        raise _user_error(str(exc)) from None
    for line in summary_lines(dataset.issues, args.max_issues):
        print(line, file=sys.stderr)
    if not dataset.samples:
        raise _user_error(f"no usable images with labels found in {args.src}")
    return dataset, cmap


def _dedup_config(args: argparse.Namespace) -> Any:
    from linepatrol import taxonomy
    from linepatrol_datasets.dedup import DedupConfig, default_crop_classes

    classes = default_crop_classes()
    if args.dedup_classes:
        classes = frozenset(c.strip() for c in args.dedup_classes.split(",") if c.strip())
        bad = sorted(c for c in classes if c not in taxonomy.BY_KEY)
        if bad:
            raise _user_error(f"--dedup-classes: not LinePatrol classes: {', '.join(bad)}")
    return DedupConfig(classes, args.crop_distance, args.image_distance)


def _split(args: argparse.Namespace, samples: list[Any]) -> tuple[Any, Any]:
    """Assign ``sample.split``; returns (SplitReport, DuplicateGroups or None).

    Keeps the source's own split when there is one and --val was not given.
    """
    from dataclasses import asdict

    from tqdm import tqdm

    from linepatrol_datasets.dedup import DuplicateGroups, find_near_duplicates
    from linepatrol_datasets.split import report, split_groups

    if args.val is None and any(s.split for s in samples):
        assignment = [s.split or "train" for s in samples]
        rep = report(samples, assignment, None, -1.0, args.seed, {"kept": "source split"})
        return rep, None
    val = 0.2 if args.val is None else args.val
    if not 0.0 <= val < 1.0:
        raise _user_error(f"--val must be at least 0 and below 1, got {val}")
    if args.no_dedup:
        groups = DuplicateGroups(list(range(len(samples))), [])
        settings: dict[str, Any] = {"enabled": False}
    else:
        config = _dedup_config(args)

        def progress(it: Any) -> Any:
            return tqdm(it, desc="hashing", unit="img", file=sys.stderr, leave=False)

        groups = find_near_duplicates(samples, config, progress)
        settings = {**asdict(config), "crop_classes": sorted(config.crop_classes),
                    "hash": "imagehash.phash"}
    assignment = split_groups(samples, groups, val, args.seed)
    for sample, side in zip(samples, assignment, strict=True):
        sample.split = side
    return report(samples, assignment, groups, val, args.seed, settings), groups


def _names_for(dataset: Any, cmap: Any) -> list[str]:
    """Class ids: the keys the mapping can produce plus any key present, in taxonomy order."""
    from linepatrol import taxonomy

    wanted = set(cmap.target_keys()) | set(dataset.class_counts())
    return [c.key for c in taxonomy.CLASSES if c.key in wanted]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- handlers

def _run_convert(args: argparse.Namespace) -> int:
    from linepatrol_datasets.issues import as_json
    from linepatrol_datasets.stats import compute_stats
    from linepatrol_datasets.yolo_writer import OutputExistsError, write_yolo

    dataset, cmap = _read(args)
    rep, groups = _split(args, dataset.samples)
    extra = None
    if groups is not None:
        extra = [{"group": g} for g in groups.group_of]
    try:
        result = write_yolo(dataset.samples, args.out, _names_for(dataset, cmap), root=dataset.root,
                            link=args.link, overwrite=args.overwrite, extra_manifest=extra)
    except OutputExistsError as exc:
        raise _user_error(str(exc)) from None
    stats = compute_stats(dataset.samples, imgsz=640)
    _write_json(args.out / "report.json", {
        "command": " ".join(sys.argv),
        "source": str(args.src), "format": args.format, "mapping": cmap.origin,
        "names": _names_for(dataset, cmap), "split": rep.as_dict(), "statistics": stats,
        "label_problems": as_json(dataset.issues),
    })
    print(rep.text())
    print(f"wrote {sum(result.images.values())} images to {args.out} "
          f"(data: {result.data_yaml}; report: {args.out / 'report.json'})")
    return 0


def _run_split(args: argparse.Namespace) -> int:
    dataset, _cmap = _read(args)
    rep, groups = _split(args, dataset.samples)
    print(rep.text())
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for side in ("train", "val"):
            paths = [str(s.image_path.resolve()) for s in dataset.samples if s.split == side]
            (args.out / f"{side}.txt").write_text("".join(p + "\n" for p in paths), "utf-8")
        _write_json(args.out / "split.json", {
            "report": rep.as_dict(),
            "images": [
                {"image": str(s.image_path), "split": s.split,
                 "group": groups.group_of[i] if groups else i}
                for i, s in enumerate(dataset.samples)
            ],
            "links": [vars(link) for link in groups.links] if groups else [],
        })
        print(f"wrote {args.out / 'train.txt'}, {args.out / 'val.txt'}, {args.out / 'split.json'}")
    return 0


def _run_stats(args: argparse.Namespace) -> int:
    from linepatrol_datasets.issues import as_json
    from linepatrol_datasets.stats import compute_stats, stats_text

    dataset, _cmap = _read(args)
    stats = compute_stats(dataset.samples, imgsz=args.imgsz)
    print(stats_text(stats))
    if args.json:
        _write_json(args.json, {**stats, "label_problems": as_json(dataset.issues)["counts"]})
        print(f"wrote {args.json}")
    return 0


def _run_slice(args: argparse.Namespace) -> int:
    from linepatrol_datasets.issues import as_json
    from linepatrol_datasets.tiling import TileOptions, slice_dataset
    from linepatrol_datasets.yolo_writer import OutputExistsError, prepare_out

    if args.tile <= 0 or not 0.0 <= args.overlap < 1.0 or not 0.0 < args.min_visible <= 1.0:
        raise _user_error("need --tile > 0, 0 <= --overlap < 1 and 0 < --min-visible <= 1")
    dataset, cmap = _read(args)
    rep, _groups = _split(args, dataset.samples)
    try:
        prepare_out(args.out, args.overwrite)
    except OutputExistsError as exc:
        raise _user_error(str(exc)) from None
    options = TileOptions(args.tile, args.overlap, args.min_visible, not args.drop_empty,
                          args.quality)
    result = slice_dataset(dataset.samples, args.out, _names_for(dataset, cmap), options)
    _write_json(args.out / "report.json", {
        "command": " ".join(sys.argv), "source": str(args.src), "split": rep.as_dict(),
        "tiles": result.as_dict(), "label_problems": as_json(dataset.issues + result.issues),
    })
    print(rep.text())
    print(result.text())
    return 0
