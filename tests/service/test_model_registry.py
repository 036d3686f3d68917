"""The model registry (#17): register with a card, shadow runs recorded beside the active model
and never queued, the comparison against the reviews, promote with an audit, the version on
every photo and item, the CLI, and ``linepatrol info`` / health naming the active version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from linepatrol.verdicts import Tally, Verdict, tally_photo
from support.tiny_onnx import make_yolo_onnx

from .conftest import BOXES, NAMES, Api
from .test_review_export import _fly, _review

# the candidate: the active model's boxes without its bird nest (the false positive the
# reviewers rejected) and with the missing cap and the insulator where they were
CANDIDATE_BOXES = [b for b in BOXES if NAMES[b[4]] != "bird_nest"]


@pytest.fixture(scope="module")
def candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("candidate") / "nest-free.onnx"
    make_yolo_onnx(path, NAMES, CANDIDATE_BOXES, imgsz=64)
    path.with_suffix(".md").write_text("# nest-free\nFine-tuned on rejected nests.\n")
    return path


def _register(api: Api, path: Path, name: str | None = None, role: str = "admin") -> Any:
    data = {"card": path.with_suffix(".md").read_text()} if path.with_suffix(".md").is_file() \
        else {}
    if name:
        data["name"] = name
    return api.post("/models", role, files={"file": (path.name, path.read_bytes())}, data=data)


def _move(api: Api, model_id: int, state: str, role: str = "admin", **kw: Any) -> Any:
    return api.patch(f"/models/{model_id}", role, json={"state": state, **kw})


# ------------------------------------------------------------------------------ pure scoring

def test_a_tally_counts_kept_objects_found_and_rejected_ones_repeated() -> None:
    boxes = [{"class": "insulator", "confidence": 0.9, "xyxy": [0.0, 0.0, 10.0, 10.0]},
             {"class": "bird_nest", "confidence": 0.8, "xyxy": [50.0, 50.0, 60.0, 60.0]}]
    verdicts = [Verdict("insulator", (1.0, 1.0, 10.0, 10.0), True),
                Verdict("insulator", (100.0, 100.0, 110.0, 110.0), True),  # missed
                Verdict("bird_nest", (50.0, 50.0, 60.0, 61.0), False)]  # repeated
    t = tally_photo(boxes, verdicts)  # type: ignore[arg-type]
    assert (t.positives, t.found, t.rejected, t.repeated) == (2, 1, 1, 1)
    assert t.recall == 0.5
    assert (t + t).found == 2 and Tally().recall is None


def test_one_box_finds_one_object_and_a_wrong_class_finds_none() -> None:
    boxes = [{"class": "insulator", "confidence": 0.9, "xyxy": [0.0, 0.0, 10.0, 10.0]}]
    twins = [Verdict("insulator", (0.0, 0.0, 10.0, 10.0), True)] * 2
    assert tally_photo(boxes, twins).found == 1  # type: ignore[arg-type]
    other = [Verdict("bird_nest", (0.0, 0.0, 10.0, 10.0), True)]
    assert tally_photo(boxes, other).found == 0  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- registry flow

def test_register_shadow_compare_promote(api: Api, candidate: Path) -> None:
    r = _register(api, candidate)
    assert r.status_code == 201, r.text
    version = r.json()
    assert version["name"] == "nest-free" and version["state"] == "registered"
    assert version["classes"] == NAMES and "Fine-tuned" in version["card"]
    assert _register(api, candidate).status_code == 409  # the name is taken
    assert _register(api, candidate, role="reviewer").status_code == 403
    assert api.get("/health").json()["model"]["version"] == "default"

    # a flight before the shadow: the configured model made its boxes and items
    first = _fly(api, "500kV 江城线", "2026-11-20", photos=2)
    item = api.get(f"/defects/{first['items']['bird_nest']}").json()
    assert item["model_version"] == "default"

    assert _move(api, version["id"], "shadow", note="try it").status_code == 200
    health = api.get("/health").json()["model"]
    assert (health["version"], health["shadow"]) == ("default", "nest-free")

    # the shadow runs on the next flight: its boxes are recorded, never queued
    second = _fly(api, "500kV 江城线", "2026-11-21", photos=3, seed=10)
    with api.services.sessions() as s:
        from linepatrol_service.models import Image

        rows = [s.get(Image, i) for i in second["images"]]
        assert all(im is not None and im.shadow_model_id == version["id"] for im in rows)
        assert all(im is not None and im.model_version == "default" for im in rows)
        shadow_classes = {b["class"] for im in rows if im for b in im.shadow_detections or []}
    assert shadow_classes == {"insulator_missing_cap", "insulator"}
    assert "bird_nest" in second["items"]  # the active model's items only

    # the reviewers decide: the nest is false, the missing cap is real
    _review(api, second["items"]["bird_nest"], status="rejected", note="a shadow")
    _review(api, second["items"]["insulator_missing_cap"], status="confirmed")
    detail = api.get(f"/models/{version['id']}").json()
    cmp_ = detail["comparison"]
    assert cmp_["version"]["photos"] == cmp_["active"]["photos"] == 3
    assert cmp_["active"]["rejected"] == cmp_["version"]["rejected"] > 0
    assert cmp_["active"]["repeated"] == cmp_["active"]["rejected"]  # the active repeats them
    assert cmp_["version"]["repeated"] == 0  # the candidate does not
    assert cmp_["version"]["recall"] == cmp_["active"]["recall"] == 1.0  # at equal recall
    # the classes nobody reviews: both still box the insulator on every photo
    assert cmp_["unreviewed"] == [{"class_key": "insulator", "active": 3, "version": 3}]

    # promote: audited, the version named by health, new items record it
    assert _move(api, version["id"], "active", role="reviewer").status_code == 403
    r = _move(api, version["id"], "active", note="fewer false nests")
    assert r.status_code == 200 and r.json()["state"] == "active"
    events = [(e["from_state"], e["to_state"]) for e in r.json()["events"]]
    assert events == [(None, "registered"), ("registered", "shadow"), ("shadow", "active")]
    assert r.json()["events"][-1]["actor"] == "test-admin"
    health = api.get("/health").json()["model"]
    assert (health["version"], health["shadow"]) == ("nest-free", None)
    assert api.get("/models/deployment").json()["active"] == "nest-free"
    third = _fly(api, "500kV 北线", "2026-11-22", photos=1, seed=20)
    assert "bird_nest" not in third["items"]
    cap = api.get(f"/defects/{third['items']['insulator_missing_cap']}").json()
    assert cap["model_version"] == "nest-free"

    # a move the table forbids is a 409; retiring hands back to the configured model
    assert _move(api, version["id"], "shadow").status_code == 409
    assert _move(api, version["id"], "retired").status_code == 200
    assert api.get("/health").json()["model"]["version"] == "default"


def test_promoting_a_second_version_retires_the_first(api: Api, candidate: Path,
                                                      tmp_path: Path) -> None:
    a = _register(api, candidate, name="a").json()
    b = _register(api, candidate, name="b").json()  # same file, stored once
    assert a["sha256"] == b["sha256"]
    assert _move(api, a["id"], "active").status_code == 200
    assert _move(api, b["id"], "active").status_code == 200
    assert api.get(f"/models/{a['id']}").json()["state"] == "retired"
    assert [m["state"] for m in api.get("/models").json()] == ["retired", "active"]
    stored = list(api.services.settings.model_dir.glob("*.onnx"))
    assert len(stored) == 1


def test_a_file_that_is_not_a_model_is_refused(api: Api, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.onnx"
    bogus.write_bytes(b"not a protobuf at all")
    r = api.post("/models", files={"file": (bogus.name, bogus.read_bytes())})
    assert r.status_code == 422 and "ONNX" in r.json()["detail"]
    assert api.get("/models").json() == []


def test_a_failing_shadow_never_fails_the_flight(api: Api, candidate: Path) -> None:
    version = _register(api, candidate).json()
    _move(api, version["id"], "shadow")
    for stored in api.services.settings.model_dir.glob("*.onnx"):
        stored.write_bytes(b"corrupted after registration")
    flight = _fly(api, "500kV 江城线", "2026-11-20", photos=1)
    assert flight["items"]  # the active model's items all the same
    with api.services.sessions() as s:
        from linepatrol_service.models import Image

        image = s.get(Image, flight["images"][0])
        assert image is not None and image.shadow_model_id is None


# ---------------------------------------------------------------------------------- the CLI

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linepatrol", *args], capture_output=True,
                          text=True, timeout=120, env=_env())


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("LINEPATROL_DATA_DIR", None)
    env["LINEPATROL_PROVIDERS"] = "cpu"
    return env


def test_the_cli_registers_promotes_and_info_names_the_version(tmp_path: Path,
                                                               candidate: Path) -> None:
    data = tmp_path / "lp"
    r = _cli("models", "register", str(candidate), "--data", str(data))
    assert r.returncode == 0, r.stderr
    assert "registered nest-free" in r.stdout
    r = _cli("models", "promote", "nest-free", "--note", "reviewed", "--data", str(data))
    assert r.returncode == 0, r.stderr
    r = _cli("models", "list", "--data", str(data))
    assert "active: nest-free" in r.stdout
    r = _cli("models", "show", "nest-free", "--json", "--data", str(data))
    shown = json.loads(r.stdout)
    assert [e["to_state"] for e in shown["events"]] == ["registered", "active"]
    assert shown["events"][-1]["actor"].startswith("cli:")
    r = _cli("models", "shadow", "nest-free", "--data", str(data))
    assert r.returncode != 0 and "cannot move from active to shadow" in r.stderr
    r = _cli("info", "--json", "--data", str(data))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["model_version"] == "nest-free"
    assert info["model"]["classes"] == NAMES
