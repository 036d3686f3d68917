"""Make ultralytics work with no network: no downloads, no pip installs, no telemetry.

Ultralytics reads ``YOLO_CONFIG_DIR``, ``YOLO_OFFLINE`` and ``YOLO_AUTOINSTALL`` once, when it
is first imported, so :func:`prepare_offline` sets them first and then also patches the module
globals in case ultralytics was imported earlier in this process (tests, notebooks).

Plot labels need ``Arial.ttf``; ultralytics looks for it in its config directory before it
tries to download it, so a freely licensed font (DejaVu Sans, Bitstream Vera licence, shipped
inside matplotlib, which ultralytics depends on) is copied there under the name it asks for.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

# The fonts ultralytics asks for: Latin labels and non-Latin (e.g. Chinese) labels.
FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def bundled_font() -> Path | None:
    """A freely licensed TTF that is on this machine without a download."""
    candidates = []
    try:
        import matplotlib

        candidates.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    except ImportError:
        pass
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    return next((p for p in candidates if p.is_file()), None)


def install_fonts(config_dir: Path) -> bool:
    """Copy the bundled font where ultralytics' ``check_font`` looks first; False if none."""
    font = bundled_font()
    if font is None:
        return False
    for sub in (config_dir, config_dir / "Ultralytics"):
        sub.mkdir(parents=True, exist_ok=True)
        for name in FONT_NAMES:
            target = sub / name
            if not target.exists():
                shutil.copyfile(font, target)
    return True


def prepare_offline(config_dir: Path) -> bool:
    """Point ultralytics at ``config_dir`` and switch off everything that reaches the network.

    Returns whether a font for plots is available (callers turn plots off when it is not).
    """
    config_dir = Path(config_dir).resolve()
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "True")
    has_font = install_fonts(config_dir)
    if "ultralytics" in sys.modules:
        _patch_loaded(config_dir)
    import ultralytics.utils as uutils

    # Integrations that phone home (analytics, experiment trackers): off, whatever this
    # ultralytics version calls them.
    off: dict[str, object] = {k: False for k, v in uutils.SETTINGS.items() if isinstance(v, bool)}
    # ...and nothing written into the current directory (weights_dir, runs_dir default to it).
    off.update(weights_dir=str(config_dir / "weights"), runs_dir=str(config_dir / "runs"),
               datasets_dir=str(config_dir / "datasets"))
    uutils.SETTINGS.update(off)  # type: ignore[no-untyped-call]
    skip_amp_download()
    logs_to_stderr()
    return has_font


def skip_amp_download() -> None:
    """Ultralytics checks AMP on a GPU by downloading yolo26n.pt and comparing its outputs; on an
    offline GPU runner that download fails (or hangs until a timeout). Replace the check with one
    that trusts the config's ``amp`` (``amp: false`` turns mixed precision off) and says so."""
    import ultralytics.engine.trainer as trainer
    import ultralytics.utils.checks as checks

    def offline_amp_check(model: object) -> bool:
        device = next(model.parameters()).device  # type: ignore[attr-defined]
        if device.type in {"cpu", "mps"}:
            return False  # ultralytics uses AMP on CUDA only
        logging.getLogger(__name__).info(
            "AMP check skipped (it downloads yolo26n.pt); AMP on as the config asks")
        return True

    checks.check_amp = offline_amp_check
    trainer.check_amp = offline_amp_check  # imported by name there


def logs_to_stderr() -> None:
    """Ultralytics logs to stdout; our commands print their results (JSON) there."""
    import logging

    for handler in logging.getLogger("ultralytics").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def _patch_loaded(config_dir: Path) -> None:
    """Ultralytics was imported before the environment was set: patch its module globals."""
    import ultralytics.utils as uutils
    import ultralytics.utils.checks as checks

    uutils.AUTOINSTALL = False
    checks.AUTOINSTALL = False
    ucd = config_dir / "Ultralytics"
    ucd.mkdir(parents=True, exist_ok=True)
    uutils.USER_CONFIG_DIR = ucd
    checks.USER_CONFIG_DIR = ucd
