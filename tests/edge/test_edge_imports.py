"""``linepatrol edge`` runs on the runtime install: no server, no torch, httpx only when run."""

from __future__ import annotations

import subprocess
import sys


def test_the_edge_imports_nothing_of_the_service_and_its_help_no_http_client() -> None:
    code = (
        "import sys\nfrom linepatrol.cli import main\n"
        "try:\n    main(['edge', 'run', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'httpx' not in sys.modules\n"
        "import linepatrol.edge.device, linepatrol.edge.client, linepatrol.cli.edge\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('linepatrol_service', 'fastapi', 'torch', 'sqlalchemy', 'starlette')]\n"
        "assert not bad, bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--flight ID" in out.stdout and "--camera CAM-ID" in out.stdout
