"""Source class names -> LinePatrol taxonomy keys.

A mapping file is YAML or JSON::

    dataset: cplid            # optional, for the reader of the file
    classes:                  # source name -> taxonomy key; null drops the class on purpose
      insulator: insulator
      defect: insulator_missing_cap

Instead of a file, ``--map`` may name a dataset the core already knows
(``linepatrol.taxonomy.DATASET_ALIASES``, e.g. ``cplid``). A source name that is already a
taxonomy key needs no entry. Any other name is an error that lists every such name: silently
dropping a class would train a model that never learns it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from linepatrol import taxonomy
from linepatrol_datasets.model import Dataset, Issue, IssueKind


class MappingError(ValueError):
    """A mapping file that cannot be used, or source names that nothing maps."""


@dataclass(frozen=True)
class ClassMap:
    aliases: Mapping[str, str] = field(default_factory=dict)  # source name -> taxonomy key
    dropped: frozenset[str] = frozenset()  # source names mapped to null: removed on purpose
    origin: str = "taxonomy keys only"

    def target_keys(self) -> list[str]:
        """Keys this map can produce, in taxonomy order (the order class ids are given in)."""
        wanted = set(self.aliases.values())
        return [c.key for c in taxonomy.CLASSES if c.key in wanted]


def load_mapping(spec: str | Path | None) -> ClassMap:
    """A mapping from a file path, a known dataset name, or nothing (names must be keys)."""
    if spec is None:
        return ClassMap()
    text = str(spec)
    path = Path(text)
    if not path.exists() and text.lower() in taxonomy.DATASET_ALIASES:
        return ClassMap(dict(taxonomy.DATASET_ALIASES[text.lower()]),
                        origin=f"built-in aliases for {text.lower()!r}")
    if not path.is_file():
        known = ", ".join(sorted(taxonomy.DATASET_ALIASES))
        raise MappingError(f"mapping {text!r} is neither a file nor a known dataset ({known})")
    try:
        content = path.read_text(encoding="utf-8")
        is_json = path.suffix.lower() == ".json"
        data = json.loads(content) if is_json else yaml.safe_load(content)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc}") from None
    return parse_mapping(data, origin=str(path))


def parse_mapping(data: object, origin: str = "mapping") -> ClassMap:
    """Validate a loaded mapping document (``{"classes": {...}}`` or a plain dict)."""
    if isinstance(data, dict) and "classes" in data:
        data = data["classes"]
    if not isinstance(data, dict) or not data:
        raise MappingError(f"{origin}: expected a non-empty 'classes:' table of source: key")
    aliases: dict[str, str] = {}
    dropped: set[str] = set()
    bad: list[str] = []
    for source, key in data.items():
        if key is None:
            dropped.add(str(source))
        elif str(key) in taxonomy.BY_KEY:
            aliases[str(source)] = str(key)
        else:
            bad.append(f"{source!s} -> {key!s}")
    if bad:
        raise MappingError(
            f"{origin}: these targets are not LinePatrol classes: {'; '.join(bad)}. "
            f"Known classes: {', '.join(taxonomy.BY_KEY)}"
        )
    return ClassMap(aliases, frozenset(dropped), origin)


def apply_mapping(dataset: Dataset, cmap: ClassMap, drop_unknown: bool = False) -> Dataset:
    """Rename every box to its taxonomy key; raise on unmapped names unless ``drop_unknown``.

    With ``drop_unknown`` each box of an unmapped class is reported per file as
    ``unknown_class`` and left out, and the conversion goes on.
    """
    names = Counter(b.class_name for s in dataset.samples for b in s.boxes)
    unknown = [n for n in taxonomy.unknown_names(names, cmap.aliases) if n not in cmap.dropped]
    if unknown and not drop_unknown:
        listed = ", ".join(f"{n!r} ({names[n]} boxes)" for n in unknown)
        raise MappingError(
            f"class names with no mapping ({cmap.origin}): {listed}. Add them to a mapping file "
            "('classes: {source_name: taxonomy_key}', or null to drop a class on purpose), "
            "or pass --drop-unknown to skip those boxes."
        )
    issues = list(dataset.issues)
    unknown_set = set(unknown)
    for sample in dataset.samples:
        kept = []
        for box in sample.boxes:
            if box.class_name in cmap.dropped:
                continue
            if box.class_name in unknown_set:
                where = box.source or (sample.label_paths or (sample.image_path,))[0]
                issues.append(Issue(where, IssueKind.UNKNOWN_CLASS,
                                    f"class {box.class_name!r} is not mapped; box dropped"))
                continue
            kept.append(box.renamed(taxonomy.resolve(box.class_name, cmap.aliases)))
        sample.boxes = kept
    dataset.issues = issues
    return dataset
