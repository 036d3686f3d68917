"""A font with Chinese glyphs on this machine, for text drawn outside a browser: box labels on
evidence images and the PDF report.

Nothing is downloaded or shipped with LinePatrol: the font comes from fontconfig, which lists
only fonts that cover Chinese for ``:lang=zh`` (Debian's fonts-wqy-microhei is the small one the
test setup installs). Without fontconfig or such a font the callers fall back — box labels to
the English class key, the PDF to a CJK font every PDF reader knows by name — so a machine
without CJK fonts (a slim container) still works, only plainer.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# path, face index in a collection (.ttc), outline format, family, spacing (100 = monospace)
_FC_FORMAT = "%{file}\t%{index}\t%{fontformat}\t%{family[0]}\t%{spacing}\n"


@dataclass(frozen=True)
class FontFile:
    """One face of a font file."""

    path: Path
    index: int  # the face in a collection (.ttc); 0 for a single-face file
    family: str
    truetype: bool  # TrueType outlines: what a PDF can embed here (not CFF/PostScript ones)


def _parse(listing: str) -> list[FontFile]:
    fonts = []
    for line in listing.splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or not parts[0]:
            continue
        path, index, fmt, family, spacing = parts
        mono = spacing.strip() == "100" or "mono" in family.lower()
        fonts.append((mono, FontFile(
            Path(path), int(index) if index.isdigit() else 0, family,
            fmt.strip() == "TrueType")))
    # proportional faces before monospaced ones; then a stable order, the same on every call
    fonts.sort(key=lambda mf: (mf[0], str(mf[1].path), mf[1].index))
    return [f for _mono, f in fonts]


@functools.cache
def cjk_fonts() -> tuple[FontFile, ...]:
    """Every installed face that covers Chinese, proportional ones first; empty without
    fontconfig (``fc-list``) or without such a font."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return ()
    try:
        done = subprocess.run([fc_list, "--format", _FC_FORMAT, ":lang=zh"], capture_output=True,
                              text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(f for f in _parse(done.stdout) if f.path.is_file())


def cjk_font(truetype: bool = False) -> FontFile | None:
    """The first face that covers Chinese (with TrueType outlines if ``truetype``), or None."""
    return next((f for f in cjk_fonts() if f.truetype or not truetype), None)
