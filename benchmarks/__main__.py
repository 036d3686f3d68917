"""``python -m benchmarks run --quick|--full [--device cpu|cuda] [--out DIR]``;
``python -m benchmarks merge PART... --out DIR`` (a run made in parts); ``... readme``."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks import report, suite

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description="LinePatrol against ultralytics and SAHI, side by side")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the suite and write results.json/.md/.png")
    mode = r.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="harness check: 3 small photos")
    mode.add_argument("--full", action="store_true", help="the measurement")
    r.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    r.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results folder ({DEFAULT_OUT})")
    r.add_argument("--work", type=Path,
                   default=Path(tempfile.gettempdir()) / "linepatrol-bench",
                   help="scratch folder for exported models and generated photos")
    r.add_argument("--weights", type=Path, help="ultralytics .pt (default: random YOLOv8n)")
    r.add_argument("--onnx", type=Path, help="its ONNX export (default: exported here)")
    r.add_argument("--weights-from-onnx", type=Path, metavar="ONNX",
                   help="recover the checkpoint from an ultralytics ONNX export (a shipped model "
                   "whose .pt is not here) and export it afresh for LinePatrol")
    r.add_argument("--imgsz", type=int, help="input size (default: the checkpoint's)")
    r.add_argument("--val", default=str(suite.DEFAULT_VAL),
                   help="YOLO data.yaml whose 'val' split gives mAP50, or 'cplid' for the "
                   "benchmark photos with their CPLID labels (default: %(default)s if it exists, "
                   "else 'cplid')")
    r.add_argument("--sections", default=",".join(suite.SECTIONS),
                   help="comma-separated sections to run (default: all)")
    r.add_argument("--note", help="conditions to print with the results (e.g. shared CPU)")
    mg = sub.add_parser("merge", help="merge the results of a run made in parts (--sections) "
                        "into one results.json/.md/.png")
    mg.add_argument("parts", type=Path, nargs="+", help="folders holding each part's results.json")
    mg.add_argument("--out", type=Path, required=True, help="folder for the merged results")
    mg.add_argument("--note", help="conditions to print with the results (replaces the parts')")
    rd = sub.add_parser("readme", help="copy a run's results.md into benchmarks/README.md")
    rd.add_argument("results", type=Path, nargs="?", default=DEFAULT_OUT,
                    help="folder holding results.md (default: %(default)s)")
    return p.parse_args(argv)


def update_readme(results_md: Path, readme: Path) -> None:
    """Replace the text between the README's latest-results markers with ``results_md``."""
    start, end = "<!-- latest-results -->", "<!-- /latest-results -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"{readme}: no {start} ... {end} markers")
    body = results_md.read_text(encoding="utf-8").strip()
    # The run's own title becomes a subsection of the README's "Latest results".
    body = "\n".join(("###" + line[1:] if line.startswith("# ") else
                      "#" + line if line.startswith("## ") else line)
                     for line in body.splitlines())
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")


def merge_parts(folders: list[Path], out: Path, note: str | None) -> int:
    """Write the merged results of a run made in parts; the first part's CUDA check (gpu.sh
    writes one per part) is copied alongside."""
    from benchmarks.merge import merge

    try:
        results = merge([json.loads((f / "results.json").read_text(encoding="utf-8"))
                         for f in folders], note)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    paths = report.write_all(results, out)
    check = folders[0] / "cuda_check.json"
    if check.is_file():
        shutil.copyfile(check, out / "cuda_check.json")
        paths["cuda_check"] = out / "cuda_check.json"
    print("\n".join(f"wrote {p}" for p in paths.values()))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command == "readme":
        update_readme(args.results / "results.md", Path(__file__).resolve().parent / "README.md")
        print(f"README.md updated from {args.results / 'results.md'}")
        return 0
    if args.command == "merge":
        return merge_parts(args.parts, args.out, args.note)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)  # its summary table
    if args.weights_from_onnx is not None and (args.weights or args.onnx):
        print("error: --weights-from-onnx replaces --weights and --onnx", file=sys.stderr)
        return 2
    for arg in (args.weights, args.onnx, args.weights_from_onnx):
        if arg is not None and not arg.is_file():
            print(f"error: {arg}: no such file", file=sys.stderr)
            return 2
    val = None if args.val == "cplid" else Path(args.val)
    if val is not None and not val.is_file() and args.val != str(suite.DEFAULT_VAL):
        print(f"error: --val {val}: no such file", file=sys.stderr)
        return 2
    only = tuple(x.strip() for x in args.sections.split(",") if x.strip())
    unknown = sorted(set(only) - set(suite.SECTIONS))
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)}; choose from "
              f"{', '.join(suite.SECTIONS)}", file=sys.stderr)
        return 2
    profile = suite.QUICK if args.quick else suite.FULL
    results = suite.run_suite(profile, args.device, args.work, args.weights, args.onnx,
                              args.imgsz, val, args.note, only, args.weights_from_onnx)
    paths = report.write_all(results, args.out)
    print(report.markdown(results))
    print("\n".join(f"wrote {p}" for p in paths.values()))
    failed = [k for k in only if isinstance(results.get(k), dict) and "error" in results[k]]
    if failed:
        print(f"sections failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
