"""Work run in a child process, so that its peak memory is its own (``ru_maxrss`` of the child).

``python -m benchmarks.child flight MODEL DEVICE LIST_FILE`` prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def flight(model: str, device: str, list_file: str) -> dict[str, object]:
    """A whole flight through the core pipeline (``detect_files``), default settings."""
    from benchmarks.detection import open_ours, run_ours

    photos = [Path(line) for line in Path(list_file).read_text().splitlines() if line.strip()]
    t0 = time.perf_counter()
    detector = open_ours(Path(model), device, tile="auto")
    t1 = time.perf_counter()
    found = run_ours(detector, photos)
    t2 = time.perf_counter()
    return {"photos": len(photos), "load_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3),
            "detections": found}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "flight":
        print("usage: python -m benchmarks.child flight MODEL DEVICE LIST_FILE", file=sys.stderr)
        return 2
    print(json.dumps(flight(argv[1], argv[2], argv[3])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
