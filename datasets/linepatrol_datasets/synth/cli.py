"""``linepatrol data synth`` and ``linepatrol data sample-flight``.

Hooked into the ``data`` command group by ``linepatrol_datasets.cli`` calling
:func:`register_synth` with the group's subparsers. Nothing heavy is imported until a command
runs (moderngl and trimesh come with the ``synth`` extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .defaults import DEFAULT_BACKGROUNDS

if TYPE_CHECKING:
    from .render import Renderer


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x960, not {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"size {w}x{h} outside 16..8192 pixels a side")
    return w, h


def _backgrounds(args: argparse.Namespace) -> Path | None:
    from linepatrol.cli import UserError

    if args.no_photos:
        return None
    if args.backgrounds is not None:
        if not args.backgrounds.is_dir():
            raise UserError(f"--backgrounds {args.backgrounds}: not a folder")
        if not any(args.backgrounds.glob("*/images/*.jpg")):
            raise UserError(f"--backgrounds {args.backgrounds}: no */images/*.jpg photos in it "
                            "(CPLID layout expected)")
        return args.backgrounds  # type: ignore[no-any-return]
    return DEFAULT_BACKGROUNDS if DEFAULT_BACKGROUNDS.is_dir() else None


def _renderer() -> Renderer:
    from linepatrol.cli import UserError

    try:
        from .render import Renderer

        return Renderer()
    except ImportError as exc:
        raise UserError(f"{exc}; install the synth extra: pip install 'linepatrol[synth]'") \
            from None
    except Exception as exc:  # moderngl raises plain Exception when EGL is unusable
        raise UserError(
            f"cannot open an offscreen OpenGL 3.3 context ({exc}); on Debian/Ubuntu install "
            "libegl1 libegl-mesa0 libgl1-mesa-dri") from None


def _check_out(out: Path) -> None:
    from linepatrol.cli import UserError

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create it ({exc.strerror or exc})") from None


def _synth(args: argparse.Namespace) -> int:
    from .generate import generate_scenes

    if args.scenes < 1 or args.views < 1:
        from linepatrol.cli import UserError

        raise UserError("--scenes and --views must be at least 1")
    _check_out(args.out)
    summary = generate_scenes(args.out, args.scenes, args.seed, args.size, _backgrounds(args),
                              args.views, progress=not args.quiet, renderer=_renderer())
    print(json.dumps({"out": str(args.out), "scenes": summary.scenes, "images": summary.images,
                      "labels": summary.labels, "seconds": round(summary.seconds, 1),
                      "seconds_per_image": round(summary.seconds_per_image, 3),
                      "ground": summary.ground}))
    return 0


def _sample_flight(args: argparse.Namespace) -> int:
    from linepatrol.cli import UserError

    from .flight import sample_flight
    from .revisit import RevisitError

    if args.photos < 1:
        raise UserError("--photos must be at least 1")
    _check_out(args.out)
    try:
        summary = sample_flight(args.out, args.photos, args.seed, args.size, _backgrounds(args),
                                progress=not args.quiet, renderer=_renderer(),
                                revisit=args.revisit)
    except RevisitError as exc:
        raise UserError(f"--revisit --seed {args.seed}: {exc}") from None
    print(json.dumps({"out": str(args.out), **summary}))
    return 0


def _check_flight(args: argparse.Namespace) -> int:
    from linepatrol.cli import UserError

    from .truth_check import compare, load_report, oracle_findings

    truth_file = args.flight / "truth.json"
    if not truth_file.is_file():
        raise UserError(f"{truth_file}: not found (is {args.flight} a sample-flight folder?)")
    if (args.report is None) == (not args.oracle):
        raise UserError("give either --report REPORT.geojson or --oracle")
    if args.report is not None and not args.report.is_file():
        raise UserError(f"--report {args.report}: not found")
    if args.gate is not None and not args.gate > 0:
        raise UserError(f"--gate {args.gate}: must be a positive distance in metres")
    findings = oracle_findings(args.flight) if args.oracle else load_report(args.report)
    result = compare(findings, json.loads(truth_file.read_text()), gate_m=args.gate)
    result["source"] = "labels (oracle detector)" if args.oracle else str(args.report)
    print(json.dumps(result, indent=1))
    return 0


def _common(p: argparse.ArgumentParser, size: str) -> None:
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    p.add_argument("--size", type=_size, default=_size(size), help=f"WxH (default {size})")
    p.add_argument("--backgrounds", type=Path, default=None,
                   help=f"folder of real UAV photos for the ground (CPLID layout; default "
                        f"{DEFAULT_BACKGROUNDS} when present, else a procedural texture)")
    p.add_argument("--no-photos", action="store_true", help="procedural ground only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register_synth(data_subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``synth``, ``sample-flight`` and ``check-flight`` to ``linepatrol data``."""
    p = data_subparsers.add_parser(
        "synth", help="render synthetic UAV corridor scenes with labels and truth",
        description="Random corridor scenes (towers, conductors, machinery, nests, foreign "
                    "objects, smoke) rendered offscreen with DJI metadata, YOLO labels, "
                    "truth JSON and tower ledgers.")
    p.add_argument("--scenes", type=int, required=True, help="number of scenes")
    p.add_argument("--views", type=int, default=1, help="photos per scene (default 1)")
    _common(p, "1280x960")
    p.set_defaults(handler=_synth)

    f = data_subparsers.add_parser(
        "sample-flight", help="render one patrol flight with hazards and defects at known "
                              "positions, plus its ledger and truth",
        description="A three-tower corridor photographed like a patrol flight, for end-to-end "
                    "geotagging tests: images/, labels/, ledger.csv, truth.json.")
    f.add_argument("--photos", type=int, default=60, help="number of photos (default 60)")
    f.add_argument("--revisit", action="store_true",
                   help="fly the same line (same --seed) again later, changed: one missing cap "
                        "fixed, one machine moved closer to the line, one new bird nest, one "
                        "end tower and its span skipped; truth.json's 'revisit' says which")
    _common(f, "4000x3000")
    f.set_defaults(handler=_sample_flight)

    c = data_subparsers.add_parser(
        "check-flight", help="distance of a report's findings from a sample flight's truth",
        description="Score a geotagging report (report.geojson from 'linepatrol report') "
                    "against truth.json, as JSON. Top level: each finding to the nearest true "
                    "object of its class (median_m: precision-sensitive). 'matched': each "
                    "true defect or hazard paired one-to-one with a finding of its class "
                    "within --gate (median_m: placement error of the objects found, beside "
                    "recall, false_findings, missed). --oracle geotags the flight's own "
                    "labels instead (the geometry chain without a detector).")
    c.add_argument("flight", type=Path, help="sample-flight output folder")
    c.add_argument("--report", type=Path, default=None, help="report.geojson to score")
    c.add_argument("--oracle", action="store_true", help="score the labels, geotagged")
    c.add_argument("--gate", type=float, default=None, metavar="M",
                   help="farthest a finding may lie from a true object to count as it, in "
                        "metres (default: the report's merge distance, "
                        "GeoConfig.merge_distance_m)")
    c.set_defaults(handler=_check_flight)
