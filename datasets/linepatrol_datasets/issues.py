"""Reporting bad labels: one line per file and problem, and a count per kind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from linepatrol_datasets.model import Issue, IssueKind


def summary_lines(issues: Sequence[Issue], limit: int = 50) -> list[str]:
    """Up to ``limit`` issue lines (errors first), then the count of each kind."""
    if not issues:
        return ["labels: no problems found"]
    ordered = sorted(issues, key=lambda i: (not i.kind.is_error, str(i.file), i.kind.value))
    lines = [str(i) for i in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more (all are in the JSON report)")
    counts = Counter(i.kind for i in issues)
    files = {kind: len({str(i.file) for i in issues if i.kind is kind}) for kind in counts}
    lines.append("label problems: " + "; ".join(
        f"{kind.value} {n} ({files[kind]} files){'' if kind.is_error else ', notice'}"
        for kind, n in sorted(counts.items(), key=lambda kv: kv[0].value)
    ))
    return lines


def as_json(issues: Sequence[Issue]) -> dict[str, Any]:
    counts = Counter(i.kind.value for i in issues)
    return {
        "counts": dict(sorted(counts.items())),
        "by_file": [{"file": str(i.file), "kind": i.kind.value, "detail": i.detail}
                    for i in issues],
    }


def error_count(issues: Sequence[Issue]) -> int:
    return sum(1 for i in issues if i.kind.is_error)


__all__ = ["Issue", "IssueKind", "as_json", "error_count", "summary_lines"]
