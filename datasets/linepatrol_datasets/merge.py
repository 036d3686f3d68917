"""Several YOLO datasets of taxonomy keys into one training set.

Each source keeps its own train/val split (made by ``linepatrol data convert`` per source, by
near-duplicate group), so no photo crosses from one side to the other when sets are joined.
Class ids are renumbered into one list in taxonomy order: the taxonomy is the one place that
maps names, and every source already speaks it. A source without splits is training data.

A small real set beside a large one can be repeated (``SRC*N``): its training photos enter the
merged set N times, as links under their own folder, so each epoch samples them N times more
often. Its validation photos enter once, so the measurement is not weighted.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from linepatrol import taxonomy
from linepatrol_datasets.model import Sample
from linepatrol_datasets.osd import on_text, stamp_osd
from linepatrol_datasets.readers.yolo import read_yolo
from linepatrol_datasets.yolo_writer import LinkMode, WriteResult, prepare_out, write_yolo

# Where the stamped copies live inside the merged dataset (beside images/ and labels/).
OSD_FOLDER = "osd-source"
# Where the links of a repeated source's extra training copies live.
REPEAT_FOLDER = "repeat-source"


class MergeError(ValueError):
    """A source that is not a YOLO dataset of taxonomy keys."""


@dataclass(frozen=True)
class MergeSource:
    root: Path
    # Only these splits of the source are kept (e.g. ("train",) for a synthetic set whose
    # 'val' repeats its training photos); empty keeps all.
    splits: tuple[str, ...] = ()
    # How many times its training photos enter the merged set.
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise MergeError(f"{self.root}: repeat must be at least 1, got {self.repeat}")

    @classmethod
    def parse(cls, text: str) -> MergeSource:
        """``DIR``, ``DIR:SPLITS``, ``DIR*N`` or ``DIR:SPLITS*N`` (the command line's and a
        training config's spelling of a source)."""
        body, star, count = text.rpartition("*") if "*" in text else (text, "", "")
        repeat = 1
        if star:
            try:
                repeat = int(count)
            except ValueError:
                raise MergeError(f"{text!r}: the repeat after '*' must be a whole number"
                                 ) from None
        root, _, splits = body.partition(":")
        return cls(Path(root), tuple(s for s in splits.split(",") if s), repeat)


def merged_names(names: Sequence[Sequence[str]]) -> list[str]:
    """The union of the sources' class keys, in taxonomy order."""
    wanted = {n for group in names for n in group}
    unknown = sorted(wanted - set(taxonomy.BY_KEY))
    if unknown:
        raise MergeError(f"class names {unknown} are not taxonomy keys: convert with a mapping")
    return [c.key for c in taxonomy.CLASSES if c.key in wanted]


def osd_copies(samples: Sequence[Sample], count: int, folder: Path, seed: int = 0
               ) -> list[Sample]:
    """Copies of ``count`` training photos with camera on-screen text stamped on them (a hard
    negative: the text must never be detected). A box the text covers for the most part is
    dropped, since what it labelled is no longer visible."""
    rng = np.random.default_rng(seed)
    train = [s for s in samples if s.split == "train"]
    if not train or count <= 0:
        return []
    if folder.exists():
        shutil.rmtree(folder)  # copies of an earlier merge into the same folder
    folder.mkdir(parents=True)
    copies = []
    for i in rng.choice(len(train), size=min(count, len(train)), replace=False).tolist():
        sample = train[i]
        image = cv2.imread(str(sample.image_path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        stamped, texts = stamp_osd(np.asarray(image, dtype=np.uint8), rng, varied=True)
        path = folder / f"osd{i:05d}_{sample.image_path.stem}.jpg"
        cv2.imwrite(str(path), stamped, [cv2.IMWRITE_JPEG_QUALITY, 92])
        covered = on_text(np.array([(b.x1, b.y1, b.x2, b.y2) for b in sample.boxes],
                                    dtype=np.float64).reshape(-1, 4), texts)
        kept = [b for b, hidden in zip(sample.boxes, covered, strict=True) if not hidden]
        copies.append(replace(sample, image_path=path, boxes=kept, label_paths=()))
    return copies


def repeated_copies(samples: Sequence[Sample], repeat: int, folder: Path) -> list[Sample]:
    """The extra ``repeat - 1`` copies of each training sample, as links under ``folder``
    (the writer names images by path, so a copy needs a path of its own)."""
    copies = []
    for k in range(1, repeat):
        sub = folder / str(k)
        sub.mkdir(parents=True, exist_ok=True)
        for i, sample in enumerate(s for s in samples if s.split == "train"):
            link = sub / f"{i:05d}_{sample.image_path.name}"
            link.symlink_to(sample.image_path.resolve())
            copies.append(replace(sample, image_path=link))
    return copies


def merge_yolo(sources: Sequence[MergeSource], out: Path, *, link: LinkMode = "symlink",
               overwrite: bool = False, osd: int = 0, seed: int = 0) -> WriteResult:
    roots = [source.root.resolve() for source in sources]
    twice = sorted({str(r) for r in roots if roots.count(r) > 1})
    if twice:
        raise MergeError(f"{', '.join(twice)} listed more than once: repeat a source with "
                         "SRC*N instead")
    samples: list[Sample] = []
    names: list[list[str]] = []
    kept_by_source: list[tuple[MergeSource, list[Sample]]] = []
    for source in sources:
        data = read_yolo(source.root)
        if not data.source_names:
            raise MergeError(f"{source.root}: no data.yaml class names")
        names.append(data.source_names)
        kept = [replace(s, split=s.split or "train") for s in data.samples
                if not source.splits or (s.split or "train") in source.splits]
        kept_by_source.append((source, kept))
        samples += kept
    if not samples:
        raise MergeError("the sources hold no images")
    prepare_out(out, overwrite)
    samples += osd_copies(samples, osd, out / OSD_FOLDER, seed)
    repeat_folder = out / REPEAT_FOLDER
    if repeat_folder.exists():
        shutil.rmtree(repeat_folder)  # links of an earlier merge into the same folder
    for n, (source, kept) in enumerate(kept_by_source):
        samples += repeated_copies(kept, source.repeat, repeat_folder / str(n))
    return write_yolo(samples, out, merged_names(names), root=Path("/"), link=link,
                      overwrite=True)
