"""Real ``linepatrol worker`` processes for the Celery tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent / "linepatrol"


class Worker:
    def __init__(self, name: str, data_dir: Path, database_url: str, broker: str, model: Path,
                 log_dir: Path, **settings: Any) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINEPATROL_")}
        env.update({
            "LINEPATROL_DATA_DIR": str(data_dir), "LINEPATROL_DATABASE_URL": database_url,
            "LINEPATROL_BROKER_URL": broker, "LINEPATROL_MODEL": str(model),
            "LINEPATROL_PROVIDERS": "cpu", "LINEPATROL_INTRA_OP_THREADS": "1",
            "LINEPATROL_TILE": "off", "LINEPATROL_BATCH_SIZE": "1",
        })
        env.update({f"LINEPATROL_{k.upper()}": str(v) for k, v in settings.items()})
        self.name = name
        self.log = log_dir / f"{name.replace('@', '_')}-{time.monotonic_ns()}.log"
        self._out = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN), "worker", "--name", name, "--pool", "solo", "--loglevel", "INFO"],
            env=env, stdout=self._out, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if " ready." in text:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{text[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} not ready:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to clean up or acknowledge."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()

    def text(self) -> str:
        return self.log.read_text(errors="replace")
