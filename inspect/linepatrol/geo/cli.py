"""``linepatrol geo locate`` and ``linepatrol report``: geotagging from the command line.

``register`` imports nothing heavy; each handler imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linepatrol.cli.errors import UserError
from linepatrol.detect_config import add_detection_options, from_args
from linepatrol.geo.coverage import MIN_OBJECT_PX

if TYPE_CHECKING:
    from collections.abc import Sequence

    from linepatrol.flight import DetectedPhoto
    from linepatrol.geo.coverage import Coverage
    from linepatrol.geo.ledger import Ledger
    from linepatrol.geo.locate import Defect, GeoConfig
    from linepatrol.report import ReportDefect
    from linepatrol.tracking import Finding


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``geo locate`` and ``report``; imports nothing heavy."""
    geo = subparsers.add_parser(
        "geo", help="geotagging tools (camera pose, pixel to map position)",
        description="Geotagging tools for DJI photos.",
    )
    geo_sub = geo.add_subparsers(dest="geo_command", metavar="COMMAND")
    geo.set_defaults(handler=lambda _args: _help(geo))
    loc = geo_sub.add_parser(
        "locate",
        help="map positions of pixels of a photo",
        description="Read a photo's camera pose (EXIF GPS + DJI XMP) and print, as JSON, the "
        "pose and where each given pixel's viewing ray meets the ground. Altitudes are in the "
        "photo's own vertical datum (see camera.altitude_datum).",
    )
    loc.add_argument("image", metavar="IMAGE", help="a JPEG with DJI metadata")
    loc.add_argument(
        "--pixel", nargs=2, type=float, action="append", metavar=("X", "Y"),
        help="pixel (x, y), pixel centres on integers; repeatable (default: the image centre)",
    )
    _ground_args(loc)
    loc.set_defaults(handler=run_locate)

    rep = subparsers.add_parser(
        "report",
        help="defect report of a flight: detect, geotag, merge; GeoJSON, KML, CSV, HTML (PDF)",
        description="Detect defects and hazards in a folder of DJI photos, place each on its "
        "tower, span or ground position, merge repeated sightings into one defect, and write "
        "report.geojson, report.kml (or .kmz), report.csv and report.html (one file, evidence "
        "crops inside) to --out, and report.pdf with --pdf. The service writes the same files "
        "for the same flight. With --ledger, also coverage.csv: which towers and spans the "
        "photos showed closely enough.",
    )
    rep.add_argument("folder", metavar="FOLDER", help="folder of photos (searched recursively)")
    rep.add_argument("--ledger", help="tower ledger, .csv or .geojson (line, tower, lat, lon...)")
    rep.add_argument("--model", help="ONNX model file or bundled model name; A+B runs both "
                     "(default: the bundled default)")
    rep.add_argument("--out", required=True, help="output folder (created if needed)")
    rep.add_argument("--line", help="the line the flight patrolled: defects not tied to a "
                     "tower or span of the ledger are reported on it (as the service does)")
    add_detection_options(rep)
    rep.add_argument("--merge-distance", type=float, default=15.0, metavar="M",
                     help="merge same-class detections within M metres on the ground (15)")
    rep.add_argument("--hazard-critical", type=float, default=10.0, metavar="M",
                     help="a hazard closer than M metres to the line is critical (10)")
    rep.add_argument("--hazard-serious", type=float, default=30.0, metavar="M",
                     help="a hazard closer than M metres to the line is at least serious (30)")
    rep.add_argument("--include-components", action="store_true",
                     help="also report plain components (insulators, dampers), not only defects")
    rep.add_argument("--previous", metavar="GEOJSON",
                     help="an earlier report.geojson of the same line: write changes.csv, "
                     "each defect new or seen again, and each earlier one this flight did not "
                     "see, where it covered its tower or span (a candidate fix; needs --ledger) "
                     "or not")
    rep.add_argument("--kmz", action="store_true", help="write report.kmz instead of report.kml")
    rep.add_argument("--pdf", action="store_true",
                     help="also write report.pdf, the HTML report's content for printing "
                     "(needs the pdf extra: pip install 'linepatrol[pdf]')")
    rep.add_argument("--min-object-px", type=float, default=MIN_OBJECT_PX, metavar="PX",
                     help="coverage: a tower or span counts as covered when a missing cap there "
                     f"spans at least PX pixels in a photo ({MIN_OBJECT_PX:g}: the default "
                     "model's smallest measured cap, on photos tiled by --tile auto)")
    _ground_args(rep)
    rep.set_defaults(handler=run_report)


def _ground_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--ground-alt", type=float, metavar="METRES",
                   help="constant ground elevation, in the photos' datum "
                   "(default: the take-off point's elevation)")
    g.add_argument("--dem", metavar="GEOTIFF", help="ground from a DEM GeoTIFF (needs rasterio)")


def _help(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def _config(args: argparse.Namespace, **extra: Any) -> GeoConfig:
    from linepatrol.geo.locate import GeoConfig

    dem = Path(args.dem) if getattr(args, "dem", None) else None
    if dem is not None and not dem.is_file():
        raise UserError(f"DEM {dem} does not exist")
    return GeoConfig(ground_alt=args.ground_alt, dem_path=dem, **extra)


def run_locate(args: argparse.Namespace) -> int:
    from linepatrol.geo.ground import GroundError
    from linepatrol.geo.locate import locate_pixels, make_ground
    from linepatrol.geo.pose import PoseError, read_pose

    if not Path(args.image).is_file():
        raise UserError(f"{args.image} is not a file")
    config = _config(args)
    try:
        ground = make_ground(config)
    except GroundError as exc:
        raise UserError(str(exc)) from None
    try:
        pose = read_pose(args.image)
    except PoseError as exc:
        pixels = args.pixel or []
        print(json.dumps({
            "camera": None, "error": exc.reason,
            "points": [{"pixel": list(p), "lat": None, "lon": None, "alt": None,
                        "reason": exc.reason} for p in pixels],
        }, ensure_ascii=False, indent=1))
        print(f"{args.image}: no camera pose: {exc.reason}", file=sys.stderr)
        return 1
    pixels = args.pixel or [[(pose.width - 1) / 2.0, (pose.height - 1) / 2.0]]
    placements = locate_pixels(pose, pixels, config, ground)
    camera = pose.to_json()
    camera["ground"] = ground.description if ground else (
        f"take-off ground at {pose.takeoff_alt:.2f} m" if pose.takeoff_alt is not None
        else "take-off ground (relative altitude)"
    )
    points = []
    for px, pl in zip(pixels, placements, strict=True):
        point: dict[str, Any] = {"pixel": [float(px[0]), float(px[1])], "lat": pl.lat,
                                 "lon": pl.lon, "alt": pl.alt}
        if pl.lat is None:
            point["reason"] = pl.reason
        else:
            point["range_m"] = round(pl.range_m or 0.0, 2)
            point["uncertainty_m"] = None if pl.uncertainty_m is None else round(
                pl.uncertainty_m, 2)
        points.append(point)
    print(json.dumps({"camera": camera, "points": points}, ensure_ascii=False, indent=1))
    return 0


def run_report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from linepatrol.flight import FlightPhoto, detect_photos, locate_photos
    from linepatrol.geo.ground import GroundError
    from linepatrol.geo.ledger import Ledger, LedgerError
    from linepatrol.images import iter_image_paths
    from linepatrol.model_store import ModelNotFoundError
    from linepatrol.pipeline import open_detector
    from linepatrol.report import (
        Format,
        Report,
        ReportHeader,
        changes_to_csv_bytes,
        coverage_to_csv_bytes,
        file_name,
        render,
    )
    from linepatrol.report.view import from_geo_all
    from linepatrol.runtime.model_info import ModelLoadError
    from linepatrol.runtime.providers import ProviderError
    from linepatrol.settings import CoreSettings
    from linepatrol.tracking import ChangeState, Finding, changes_since, place_of

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    if args.pdf:  # before the photos are read, not after
        from linepatrol.report import pdf

        if not pdf.available():
            raise UserError(str(pdf.PdfUnavailableError()))
    config = _config(
        args, merge_distance_m=args.merge_distance, hazard_critical_m=args.hazard_critical,
        hazard_serious_m=args.hazard_serious, include_components=args.include_components,
    )
    previous = _previous(args.previous) if args.previous else None
    ledger = None
    if args.ledger:
        try:
            ledger = Ledger.load(args.ledger)
        except LedgerError as exc:
            raise UserError(f"ledger: {exc}") from None
    try:
        detector = open_detector(args.model, CoreSettings(), from_args(args))
    except (ModelNotFoundError, ModelLoadError, ProviderError, ValueError) as exc:
        raise UserError(str(exc)) from None
    files = iter_image_paths([str(folder)])
    if not files:
        raise UserError(f"no photos found in {folder}")
    photos = [FlightPhoto(_relative(folder, Path(path)), Path(path)) for _name, path in files]
    detected = []
    show = len(photos) > 1 and sys.stderr.isatty()
    for photo in tqdm(detect_photos(detector, photos), total=len(photos), disable=not show,
                      unit="photo", desc="report"):
        detected.append(photo)
        if not photo.readable:
            print(f"{photo.name}: {photo.error}", file=sys.stderr)
        elif photo.pose is None:
            print(f"{photo.name}: no camera pose: {photo.pose_error}", file=sys.stderr)
    failed = [p.name for p in detected if not p.readable]
    no_pose = [p.name for p in detected if p.readable and p.pose is None]
    try:
        defects = locate_photos(detected, ledger, config, line=args.line)
    except GroundError as exc:
        raise UserError(str(exc)) from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    header = ReportHeader(title=f"LinePatrol {folder.name}", photos=len(photos),
                          photos_failed=len(failed))
    paths = {p.name: p.path for p in photos}
    views = from_geo_all(defects)
    report = Report(header, views, _crops(views, paths))
    formats = [Format.GEOJSON, Format.KMZ if args.kmz else Format.KML, Format.CSV, Format.HTML]
    if args.pdf:
        formats.append(Format.PDF)
    written = []
    for fmt in formats:
        path = out / file_name("report", fmt)
        path.write_bytes(render(fmt, report))
        written.append(path)
    coverage = None
    if ledger is not None:
        coverage = _coverage(args, ledger, detected, config)
        path = out / "coverage.csv"
        path.write_bytes(coverage_to_csv_bytes(coverage))
        written.append(path)
    changes = None
    if previous is not None:
        covered = set() if coverage is None else {
            (i.kind, i.line, i.id) for i in coverage.items if i.covered}
        current = [(d.defect_id, Finding(d.class_key, d.category or "", place_of(d)))
                   for d in defects]
        changes = changes_since(current, previous, covered)
        path = out / "changes.csv"
        path.write_bytes(changes_to_csv_bytes(changes))
        written.append(path)
    _summary(len(photos), failed, no_pose, defects, written)
    if coverage is not None:
        _coverage_summary(coverage, args.min_object_px)
    if changes is not None:
        counts = Counter(c.state.value for c in changes)
        print("since the earlier report: " + ", ".join(
            f"{counts[s.value]} {s.value.replace('_', ' ')}" for s in ChangeState))
    return 1 if len(failed) == len(photos) else 0


def _previous(path: str) -> list[tuple[str, Finding]]:
    from linepatrol.report.geojson import findings_of

    try:
        return findings_of(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # json's errors are ValueErrors
        raise UserError(f"--previous {path}: {exc}") from None


def _coverage(args: argparse.Namespace, ledger: Ledger, detected: Sequence[DetectedPhoto],
              config: GeoConfig) -> Coverage:
    """The flight's coverage of the ledger (of ``--line`` when the ledger has it) from the
    poses of the photos that were read: a photo that could not be analysed covers nothing."""
    from linepatrol.geo.coverage import CoverageConfig
    from linepatrol.geo.ground import GroundError
    from linepatrol.geo.visibility import flight_coverage

    try:
        coverage_config = CoverageConfig(min_object_px=args.min_object_px)
    except ValueError as exc:
        raise UserError(f"--min-object-px: {exc}") from None
    line = args.line
    if line is not None and all(t.line != line for t in ledger.towers):
        print(f"coverage: the ledger has no line {line!r}; covering all its lines",
              file=sys.stderr)
        line = None
    poses = [p.pose for p in detected if p.readable and p.pose is not None]
    try:
        return flight_coverage(ledger, poses, coverage_config, config, line=line)
    except GroundError as exc:
        raise UserError(str(exc)) from None


def _coverage_summary(coverage: Coverage, min_object_px: float) -> None:
    from linepatrol.geo.coverage import percent

    gaps = coverage.gaps
    items = coverage.items
    print(f"coverage: {percent(coverage.ratio)} of {len(items)} towers and spans covered "
          f"(a missing cap >= {min_object_px:g} px); {len(gaps)} gap(s)"
          + (": " + ", ".join(f"{g.kind} {g.id}" for g in gaps[:10]) if gaps else "")
          + (f" ... {len(gaps) - 10} more in coverage.csv" if len(gaps) > 10 else ""))


def _crops(defects: Sequence[ReportDefect], paths: dict[str, Path]) -> dict[str, bytes]:
    """Each defect's best view, cropped, for the HTML and PDF reports; a photo that cannot be
    read again (it was read a moment ago) just leaves its defect without a crop."""
    from linepatrol.images import ImageError
    from linepatrol.report.crops import crop_jpeg

    crops = {}
    for d in defects:
        best = d.best
        if best is None or best.photo not in paths:
            continue
        try:
            crops[d.id] = crop_jpeg(paths[best.photo], best.xyxy)
        except (ImageError, ValueError):
            continue
    return crops


def _relative(folder: Path, path: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def _summary(
    photos: int, failed: list[str], no_pose: list[str], defects: list[Defect],
    written: list[Path],
) -> None:
    placed = sum(1 for d in defects if d.lat is not None)
    grades = Counter(d.severity or "ungraded" for d in defects)
    print(f"{photos} photos: {photos - len(failed)} read, {len(failed)} unreadable, "
          f"{len(no_pose)} without a camera pose")
    print(f"{len(defects)} defects ({placed} placed on the map): "
          + (", ".join(f"{n} {g}" for g, n in grades.most_common()) or "none"))
    for d in defects[:10]:
        where = (f"at line {d.line} tower {d.tower}" if d.tower and d.placement == "tower"
                 else f"at line {d.line} span {d.span}" if d.span and d.placement == "span"
                 else f"at {d.lat:.6f}, {d.lon:.6f}" if d.lat is not None and d.lon is not None
                 else f"not placed: {d.geo_reason}")
        extra = (f", {d.distance_to_line_m:.0f} m from line {d.line}"
                 if d.distance_to_line_m is not None else "")
        print(f"  {d.defect_id} {d.severity or '-':8} {d.name_zh} ({d.class_key}) {where}"
              f"{extra}; {len(d.evidence)} sighting(s)")
    if len(defects) > 10:
        print(f"  ... {len(defects) - 10} more in {written[2].name}")
    print("wrote " + ", ".join(str(p) for p in written))
