"""Several YOLO datasets of taxonomy keys into one training set.

Each source keeps its own train/val split (made by ``linepatrol data convert`` per source, by
near-duplicate group), so no photo crosses from one side to the other when sets are joined.
Class ids are renumbered into one list in taxonomy order: the taxonomy is the one place that
maps names, and every source already speaks it. A source without splits is training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from linepatrol import taxonomy
from linepatrol_datasets.model import Sample
from linepatrol_datasets.readers.yolo import read_yolo
from linepatrol_datasets.yolo_writer import LinkMode, WriteResult, write_yolo


class MergeError(ValueError):
    """A source that is not a YOLO dataset of taxonomy keys."""


@dataclass(frozen=True)
class MergeSource:
    root: Path
    # Only these splits of the source are kept (e.g. ("train",) for a synthetic set whose
    # 'val' repeats its training photos); empty keeps all.
    splits: tuple[str, ...] = ()


def merged_names(names: Sequence[Sequence[str]]) -> list[str]:
    """The union of the sources' class keys, in taxonomy order."""
    wanted = {n for group in names for n in group}
    unknown = sorted(wanted - set(taxonomy.BY_KEY))
    if unknown:
        raise MergeError(f"class names {unknown} are not taxonomy keys: convert with a mapping")
    return [c.key for c in taxonomy.CLASSES if c.key in wanted]


def merge_yolo(sources: Sequence[MergeSource], out: Path, *, link: LinkMode = "symlink",
               overwrite: bool = False) -> WriteResult:
    samples: list[Sample] = []
    names: list[list[str]] = []
    for source in sources:
        data = read_yolo(source.root)
        if not data.source_names:
            raise MergeError(f"{source.root}: no data.yaml class names")
        names.append(data.source_names)
        for sample in data.samples:
            split = sample.split or "train"
            if source.splits and split not in source.splits:
                continue
            samples.append(replace(sample, split=split))
    if not samples:
        raise MergeError("the sources hold no images")
    return write_yolo(samples, out, merged_names(names), root=Path("/"), link=link,
                      overwrite=overwrite)
