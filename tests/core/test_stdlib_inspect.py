"""The card's layout rule: the ``inspect/`` source root never shadows the standard library."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def test_inspect_folder_is_not_a_package(repo_root: Path) -> None:
    assert (repo_root / "inspect" / "linepatrol").is_dir()
    assert not (repo_root / "inspect" / "__init__.py").exists()


def test_import_inspect_from_repo_root_is_stdlib(repo_root: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    # Both as a script run from the root and with the root explicitly first on sys.path.
    for extra in ("", str(repo_root)):
        env = {**os.environ, "PYTHONPATH": extra}
        out = subprocess.run(
            [sys.executable, "-c", "import inspect; print(inspect.__file__); inspect.signature(len)"],
            cwd=repo_root, env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()
        assert Path(out).resolve().parent == stdlib, out


def test_linepatrol_imports_without_torch_or_fastapi(repo_root: Path) -> None:
    code = (
        "import sys, linepatrol.pipeline, linepatrol.cli, linepatrol.geo;"
        "bad = [m for m in ('torch', 'fastapi', 'ultralytics') if m in sys.modules];"
        "print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=repo_root, check=True)
