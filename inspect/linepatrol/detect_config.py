"""The detection settings: one typed record, one source for every default.

:class:`DetectorConfig` is what a detector runs with. The ``detect``, ``report`` and ``models
evaluate`` commands derive their ``--conf`` and ``--tile`` options from it
(:func:`add_detection_options`, :func:`from_args`), and the service's settings take their
defaults from it (``ServiceSettings.detector_config``), so a default is written here only. This
module imports nothing heavy: ``linepatrol --help`` reads it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

TileSetting = Literal["auto", "off"] | int


@dataclass(frozen=True)
class DetectorConfig:
    conf: float = 0.25
    iou: float = 0.45
    class_conf: Mapping[str, float] = field(default_factory=dict)
    # Apply the model's own per-class operating thresholds (its metadata) where ``class_conf``
    # names no threshold; False: ``conf`` for every such class (a score floor, as for AP).
    model_class_conf: bool = True
    tile: TileSetting = "auto"  # tile side in photo pixels, or auto/off
    tile_overlap: float = 0.2
    merge_ios: float = 0.5  # boxes from different tiles with IoS >= this are one object
    full_pass: bool = True  # add a whole-photo pass when tiling
    batch_size: int | None = None  # crops per inference; None: 8 on a GPU, 2 on the CPU
    max_det: int = 300
    # Whole-photo passes at the smallest stride-multiple rectangle when the model's input axes
    # are dynamic (as ultralytics predicts); False: always the square input. Tiles stay square.
    rect: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.conf <= 1.0:
            raise ValueError(f"confidence threshold must be in [0, 1], got {self.conf}")
        if isinstance(self.tile, int) and self.tile < 32:
            raise ValueError(f"tile size must be at least 32 px, got {self.tile}")
        if self.tile not in ("auto", "off") and not isinstance(self.tile, int):
            raise ValueError(f"tile must be 'auto', 'off' or a size in pixels, got {self.tile!r}")


def parse_tile(value: str) -> TileSetting:
    """``--tile`` argument: ``auto``, ``off`` or a tile side in pixels."""
    v = value.strip().lower()
    if v in ("auto", "off"):
        return v  # type: ignore[return-value]
    try:
        size = int(v)
    except ValueError:
        raise ValueError(f"--tile must be auto, off or a size in pixels, not {value!r}") from None
    if size < 32:
        raise ValueError(f"--tile size must be at least 32 px, not {size}")
    return size


def class_conf_items(items: Sequence[str]) -> dict[str, float]:
    """``CLASS=CONF`` items (``--class-conf``, repeated) as thresholds by class key; a
    ValueError names the item that is not one."""
    from linepatrol import taxonomy

    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--class-conf wants CLASS=CONF, got {item!r}")
        try:
            taxonomy.get(key)
            conf = float(value)
        except (taxonomy.UnknownClassError, ValueError) as exc:
            raise ValueError(f"--class-conf {item!r}: {exc}") from None
        if not 0.0 <= conf <= 1.0:
            raise ValueError(f"--class-conf {item!r}: a threshold is in [0, 1]")
        out[key] = conf
    return out


DEFAULTS = DetectorConfig()


def add_detection_options(p: argparse.ArgumentParser) -> None:
    """``--conf`` and ``--tile``, with :data:`DEFAULTS`' values as their defaults."""
    p.add_argument("--conf", type=float, default=DEFAULTS.conf,
                   help=f"confidence threshold ({DEFAULTS.conf})")
    p.add_argument(
        "--tile", default=str(DEFAULTS.tile),
        help=f"tiled inference for large photos: auto, off, or a tile side in pixels "
        f"({DEFAULTS.tile})",
    )


def from_args(args: argparse.Namespace) -> DetectorConfig:
    """The configuration the options of :func:`add_detection_options` ask for (other fields
    at their defaults); ``ValueError`` for a bad value."""
    return DetectorConfig(conf=args.conf, tile=parse_tile(args.tile))
