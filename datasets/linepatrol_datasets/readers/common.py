"""What the readers share: finding images next to label files, and the images nobody labelled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from linepatrol_datasets.model import Issue, IssueKind, Sample
from linepatrol_datasets.validate import DEFAULT_TOLERANCE, image_size, is_image


@dataclass(frozen=True)
class ReadOptions:
    """Choices every reader honours.

    ``unlabelled_as_background``: an image with no label file at all is skipped by default and
    reported, because a forgotten label file and a true background image look the same. An
    *empty* label file is different: it says "nothing here" and is always kept as a background.
    """

    tolerance: float = DEFAULT_TOLERANCE
    unlabelled_as_background: bool = False


DEFAULT_OPTIONS = ReadOptions()


class ImageIndex:
    """All images under a root, looked up by folder and file stem (case-insensitive)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths = sorted(p for p in root.rglob("*") if p.is_file() and is_image(p))
        self._by_dir_stem: dict[tuple[Path, str], Path] = {}
        for path in self.paths:
            self._by_dir_stem.setdefault((path.parent, path.stem.lower()), path)

    def find(self, folder: Path, stem: str) -> Path | None:
        return self._by_dir_stem.get((folder, Path(stem).stem.lower()))

    def find_near(self, label_file: Path, stems: Iterable[str]) -> Path | None:
        """The image for a label file: same folder, or an ``images``/``JPEGImages`` folder of
        the label's folder or of any folder above it up to the root (covers VOC devkit
        layouts and CPLID's ``labels/<class>/x.xml`` -> ``images/x.jpg``)."""
        folder = label_file.parent
        while True:
            for candidate_dir in (folder, folder / "images", folder / "JPEGImages"):
                for stem in stems:
                    found = self.find(candidate_dir, stem)
                    if found is not None:
                        return found
            if folder == self.root or self.root not in folder.parents:
                return None
            folder = folder.parent


def unlabelled_samples(
    index: ImageIndex, used: set[Path], options: ReadOptions, issues: list[Issue]
) -> list[Sample]:
    """Report every image that no label file claimed; keep it as background only if asked."""
    samples: list[Sample] = []
    claimed = {p.resolve() for p in used}
    for path in index.paths:
        if path.resolve() in claimed:
            continue
        if not options.unlabelled_as_background:
            issues.append(Issue(path, IssueKind.IMAGE_WITHOUT_LABEL, "no label file; skipped"))
            continue
        issues.append(
            Issue(path, IssueKind.IMAGE_WITHOUT_LABEL, "no label file; kept as background")
        )
        size = image_size(path, path, issues)
        if size is not None:
            samples.append(Sample(path, size[0], size[1]))
    return samples
