"""The rules every reader applies to an image and its raw boxes: one place for each decision.

Box rule (explicit, because formats and labelling tools disagree on edges): a box that leaves
the image by at most ``tolerance`` (default: 1 % of that image side, and never less than 2 px)
is clipped to the image and kept, with a ``box_clipped`` notice. Labelling tools let a corner
be dragged a pixel or two past the edge and VOC's 1-based pixels put ``xmax`` at ``width + 1``;
such boxes are good labels. A box further outside means the coordinates or the declared image
size are wrong, and guessing would teach the model a wrong box, so it is dropped as
``box_outside``. A box with no area left (``xmax <= xmin`` or ``ymax <= ymin``) is dropped as
``zero_area``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from linepatrol_datasets.model import Box, Issue, IssueKind

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_TOLERANCE = 0.01
MIN_TOLERANCE_PX = 2.0
# Normalised YOLO coordinates written with 6 decimals come back up to ~0.001 px past the edge
# of a 2000 px image: clipping that is rounding, not a labelling problem worth a notice.
ROUNDING_PX = 0.01
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}

RawBox = tuple[str, float, float, float, float]


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_size(path: Path, label_file: Path, issues: list[Issue]) -> tuple[int, int] | None:
    """Width and height as the image is displayed (EXIF rotation applied), from the header only.

    Reading the header is enough to catch a missing, empty or non-image file without decoding
    every pixel of a large dataset. ``None`` (with an issue) when the image cannot be used.
    """
    if not path.is_file():
        issues.append(Issue(label_file, IssueKind.LABEL_WITHOUT_IMAGE, f"image {path} not found"))
        return None
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        issues.append(Issue(path, IssueKind.UNREADABLE_IMAGE, str(exc) or type(exc).__name__))
        return None
    if orientation in _TRANSPOSED_ORIENTATIONS:  # the labeller saw the image rotated upright
        width, height = height, width
    return width, height


def check_declared_size(
    declared: tuple[int, int] | None, real: tuple[int, int], label_file: Path, issues: list[Issue]
) -> None:
    """Report a label whose stated image size disagrees with the image; the real size wins."""
    if declared and all(declared) and tuple(declared) != tuple(real):
        issues.append(
            Issue(
                label_file,
                IssueKind.SIZE_MISMATCH,
                f"label says {declared[0]}x{declared[1]}, image is {real[0]}x{real[1]}",
            )
        )


def clean_boxes(
    raw: Iterable[RawBox],
    width: int,
    height: int,
    label_file: Path,
    issues: list[Issue],
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[Box]:
    """Apply the box rule of this module to pixel boxes; the kept boxes are inside the image."""
    tol_x = max(MIN_TOLERANCE_PX, tolerance * width)
    tol_y = max(MIN_TOLERANCE_PX, tolerance * height)
    kept: list[Box] = []
    for name, x1, y1, x2, y2 in raw:
        text = f"{name!r} ({x1:g}, {y1:g}, {x2:g}, {y2:g})"
        if x2 <= x1 or y2 <= y1:
            issues.append(Issue(label_file, IssueKind.ZERO_AREA, f"box {text} has no area"))
            continue
        if x1 < -tol_x or y1 < -tol_y or x2 > width + tol_x or y2 > height + tol_y:
            issues.append(
                Issue(label_file, IssueKind.BOX_OUTSIDE,
                      f"box {text} is outside the {width}x{height} image; dropped")
            )
            continue
        cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
        cx2, cy2 = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
        moved = max(abs(cx1 - x1), abs(cy1 - y1), abs(cx2 - x2), abs(cy2 - y2))
        if cx2 <= cx1 or cy2 <= cy1:
            issues.append(Issue(label_file, IssueKind.ZERO_AREA,
                                f"box {text} has no area inside the image"))
            continue
        if moved > ROUNDING_PX:
            issues.append(Issue(label_file, IssueKind.BOX_CLIPPED,
                                f"box {text} clipped to the {width}x{height} image"))
        kept.append(Box(name, cx1, cy1, cx2, cy2, label_file))
    return kept
