"""Pascal VOC XML: one file per image, or several per image (CPLID: one file per class).

Every XML file is matched to its image (see :meth:`ImageIndex.find_near`); files that point at
the same image are merged, so CPLID's ``labels/insulator/000.xml`` and ``labels/defect/000.xml``
become one sample with both classes. XML is parsed with defusedxml: label files come from
outside and must not be able to expand entities or reach the network.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from linepatrol_datasets.model import Dataset, Issue, IssueKind, Sample
from linepatrol_datasets.readers.common import (
    DEFAULT_OPTIONS,
    ImageIndex,
    ReadOptions,
    unlabelled_samples,
)
from linepatrol_datasets.validate import RawBox, check_declared_size, clean_boxes, image_size


class _BadLabel(ValueError):
    pass


def _number(obj: Element, tag: str) -> float:
    text = obj.findtext(tag)
    if text is None or not text.strip():
        raise _BadLabel(f"<{tag}> missing")
    try:
        return float(text)
    except ValueError:
        raise _BadLabel(f"<{tag}> is not a number: {text!r}") from None


def _parse(path: Path) -> tuple[str | None, tuple[int, int] | None, list[RawBox]]:
    """Filename tag, declared size and raw boxes of one VOC file."""
    try:
        root = DET.parse(path).getroot()
    except (DET.ParseError, DefusedXmlException, OSError) as exc:
        raise _BadLabel(str(exc)) from None
    if root.tag != "annotation":
        raise _BadLabel(f"root element is <{root.tag}>, not <annotation>")
    size_el = root.find("size")
    declared = None
    if size_el is not None:
        try:
            declared = (int(_number(size_el, "width")), int(_number(size_el, "height")))
        except _BadLabel:
            declared = None
    boxes: list[RawBox] = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        bnd = obj.find("bndbox")
        if not name or bnd is None:
            raise _BadLabel("<object> without <name> or <bndbox>")
        x1, y1, x2, y2 = (_number(bnd, t) for t in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append((name, x1, y1, x2, y2))
    return root.findtext("filename"), declared, boxes


def read_voc(root: Path, options: ReadOptions = DEFAULT_OPTIONS) -> Dataset:
    """Read every ``*.xml`` under ``root`` and the images they belong to."""
    index = ImageIndex(root)
    issues: list[Issue] = []
    # image -> [(label file, declared size, boxes)], in file order so merging is deterministic
    by_image: dict[Path, list[tuple[Path, tuple[int, int] | None, list[RawBox]]]] = {}
    # Images whose label file exists but is broken: skipped, and never mistaken for background.
    claimed: set[Path] = set()
    for xml in sorted(root.rglob("*.xml")):
        try:
            filename, declared, raw = _parse(xml)
        except _BadLabel as exc:
            issues.append(Issue(xml, IssueKind.UNREADABLE_LABEL, f"{exc}; its image is skipped"))
            image = index.find_near(xml, [xml.stem])
            if image is not None:
                claimed.add(image)
            continue
        stems = [xml.stem] + ([Path(filename).name] if filename else [])
        image = index.find_near(xml, stems)
        if image is None:
            issues.append(Issue(xml, IssueKind.LABEL_WITHOUT_IMAGE,
                                f"no image named {xml.stem}.* (or {filename!r}) found"))
            continue
        by_image.setdefault(image, []).append((xml, declared, raw))

    samples: list[Sample] = []
    for image, parts in by_image.items():
        size = image_size(image, parts[0][0], issues)
        if size is None:
            continue
        boxes = []
        for xml, declared, raw in parts:
            check_declared_size(declared, size, xml, issues)
            boxes += clean_boxes(raw, size[0], size[1], xml, issues, options.tolerance)
        samples.append(Sample(image, size[0], size[1], boxes, tuple(p[0] for p in parts)))
    samples += unlabelled_samples(index, set(by_image) | claimed, options, issues)
    samples.sort(key=lambda s: s.image_path)
    return Dataset(samples, issues, root)
