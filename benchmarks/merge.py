"""One results dict from a run made in parts (``--sections``), e.g. under a device lease too
short for the whole suite.

The parts must come from the same machine, software and model (checked: a merge of runs
that measured different things would print one table of incomparable numbers); each section
must have run in exactly one part. Each part's date, load average and sections are kept under
``parts`` so the report can say the run was split and when.
"""

from __future__ import annotations

from typing import Any

from benchmarks.suite import SECTIONS, headline

NOT_RUN = "not run (--sections)"
SAME_MACHINE = ("host", "cpu", "cpu_count", "gpus", "device", "versions", "git_commit")
SAME_MODEL = ("weights", "imgsz", "trained", "epoch", "names")


def _ran(section: Any) -> bool:
    return not (isinstance(section, dict) and section.get("error") == NOT_RUN)


def merge(parts: list[dict[str, Any]], note: str | None = None) -> dict[str, Any]:
    """Merge part results (in the order given); ``note`` replaces the machine's conditions."""
    if len(parts) < 2:
        raise ValueError("merge needs at least two parts")
    first = parts[0]
    for i, part in enumerate(parts[1:], start=2):
        for key in SAME_MACHINE:
            if part["machine"].get(key) != first["machine"].get(key):
                raise ValueError(f"part {i} differs from part 1 in machine {key!r}")
        for key in SAME_MODEL:
            if part["model"].get(key) != first["model"].get(key):
                raise ValueError(f"part {i} differs from part 1 in model {key!r}")
        if part.get("profile") != first.get("profile"):
            raise ValueError(f"part {i} differs from part 1 in profile")
    machine = dict(first["machine"])
    if note is not None:
        machine["note"] = note
    model = dict(first["model"])
    model["onnx"] = {k: v for p in parts for k, v in p["model"].get("onnx", {}).items()}
    model["notes"] = list(dict.fromkeys(n for p in parts for n in p["model"].get("notes", [])))
    merged: dict[str, Any] = {"machine": machine, "profile": first.get("profile"),
                              "model": model}
    seconds: dict[str, float] = {}
    for name in SECTIONS:
        ran = [p for p in parts if name in p and _ran(p[name])]
        if len(ran) > 1:
            raise ValueError(f"section {name!r} ran in more than one part")
        merged[name] = ran[0][name] if ran else {"error": NOT_RUN}
        if ran and name in ran[0].get("section_seconds", {}):
            seconds[name] = ran[0]["section_seconds"][name]
    merged["section_seconds"] = seconds
    merged["parts"] = [{"date": p["machine"].get("date"),
                        "load_average_at_start": p["machine"].get("load_average_at_start"),
                        "sections": [s for s in SECTIONS if s in p and _ran(p[s])],
                        "total_seconds": p.get("total_seconds")} for p in parts]
    merged["headline"] = headline(merged)
    merged["total_seconds"] = round(sum(p.get("total_seconds") or 0.0 for p in parts), 1)
    return merged
