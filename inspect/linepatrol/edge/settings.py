"""``linepatrol edge``'s settings: every default written once, each also read from the
environment (``LINEPATROL_EDGE_...``), so a device's service unit can set them without a long
command line. The command's options override them."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def user_data_dir() -> Path:
    """Where a user's application data lives (XDG on Linux, the platforms' own elsewhere) —
    what ``platformdirs`` would answer, without one more dependency for one path."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "linepatrol"


class EdgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINEPATROL_EDGE_", extra="ignore")

    server: str | None = Field(default=None, description="the LinePatrol server's base URL")
    token: str | None = Field(default=None, description="an uploader token of that server")
    model: str = Field(
        default="linepatrol-cplid-v1",
        description="the edge model: a bundled name (run at INT8) or an ONNX file (run as it is)",
    )
    precision: str = Field(default="int8", description="precision of a bundled edge model")
    spool: Path = Field(default_factory=lambda: user_data_dir() / "edge",
                        description="folder of the spool (survives restarts)")
    device: str = Field(default_factory=socket.gethostname,
                        description="this device's name in the edge summary")
    poll_s: float = Field(default=2.0, gt=0, description="seconds between folder polls")
    proof_every_min: float | None = Field(
        default=None, gt=0,
        description="send one photo per this many minutes of capture time even without a "
        "finding (a camera's proof of coverage)")
    timeout_s: float = Field(default=60.0, gt=0, description="seconds per HTTP request")
