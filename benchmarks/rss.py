"""``python -m benchmarks.rss RESULT_FILE -- CMD...``: run CMD and write its peak RSS (KiB).

Why a launcher: Linux carries a process's memory high-water mark across ``exec``, so a command
started straight from the benchmark (which holds torch, ~1 GB) would report the benchmark's
memory as its own. Forked from this small process instead, ``wait4`` gives the command's own
peak. Only the standard library is imported here, on purpose.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m benchmarks.rss RESULT_FILE -- CMD...", file=sys.stderr)
        return 2
    result_file, cmd = argv[0], argv[2:]
    pid = os.fork()
    if pid == 0:  # the child becomes the command
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    with open(result_file, "w") as f:
        json.dump({"peak_rss_bytes": usage.ru_maxrss * scale}, f)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
