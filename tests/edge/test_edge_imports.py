"""``linepatrol edge`` runs on the runtime install: no server, no torch, httpx only when run."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_edge_modules_import_nothing_of_the_service() -> None:
    _run("import sys\nimport linepatrol.edge.device, linepatrol.edge.client, "
         "linepatrol.cli.edge\n"
         "bad = [m for m in sys.modules if m.split('.')[0] in "
         "('linepatrol_service', 'fastapi', 'torch', 'sqlalchemy', 'starlette')]\n"
         "assert not bad, bad")


def test_the_edge_help_imports_no_http_client() -> None:
    out = _run("import sys\nfrom linepatrol.cli import main\n"
               "try:\n    main(['edge', 'run', '--help'])\nexcept SystemExit:\n    pass\n"
               "bad = [m for m in ('httpx', 'fastapi', 'torch') if m in sys.modules]\n"
               "assert not bad, bad")
    assert "--flight ID" in out and "--camera CAM-ID" in out
