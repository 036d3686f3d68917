"""The edge's spool: every photo recorded, nothing lost across a crash, nothing sent twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from linepatrol.edge.device import EdgePolicy, FolderPoll, decide
from linepatrol.edge.spool import (
    EdgeVerdict,
    Spool,
    SpooledPhoto,
    SpoolError,
    SpoolState,
    backoff_s,
)

T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def photo(sha: str, state: SpoolState = SpoolState.PENDING, minute: int = 0) -> SpooledPhoto:
    verdict = EdgeVerdict.UPLOAD if state is SpoolState.PENDING else EdgeVerdict.SKIP
    return SpooledPhoto(target="flight:1", sha256=sha, path=Path(f"/card/{sha}.jpg"),
                        name=f"{sha}.jpg", verdict=verdict, reason="finding", state=state,
                        detections=[{"class": "bird_nest", "confidence": 0.9,
                                     "xyxy": [1.0, 2.0, 3.0, 4.0]}],
                        model="tiny", captured_at=T0 + dt.timedelta(minutes=minute))


def test_a_reopened_spool_resends_pending_and_never_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.add(photo("a")) and spool.add(photo("b")) and spool.add(photo("c", SpoolState.SKIPPED))
    assert not spool.add(photo("a"))  # seen once, judged once
    first = spool.due("flight:1")
    assert [p.sha256 for p in first] == ["a", "b"]
    spool.mark_uploaded(first[0], image_id=7)
    # a crash while "b" was on the wire: nothing marks it
    spool._db.close()  # no close() bookkeeping: as a killed process leaves it

    again = Spool(tmp_path)
    due = again.due("flight:1")
    assert [p.sha256 for p in due] == ["b"]  # re-sent; "a" never again
    assert due[0].detections == photo("b").detections and due[0].captured_at == T0
    with pytest.raises(SpoolError):
        again.mark_uploaded(again.get("flight:1", "a"), 8)  # type: ignore[arg-type]
    counts = again.counts("flight:1")
    assert (counts.seen, counts.uploaded, counts.skipped, counts.pending) == (3, 1, 1, 1)
    assert again.get("flight:1", "a").image_id == 7  # type: ignore[union-attr]
    again.close()


def test_failures_back_off_and_a_restart_tries_at_once(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        spool.add(photo("a"))
        p = spool.due("flight:1", now=100.0)[0]
        assert spool.mark_failed(p, "down", now=100.0) == backoff_s(1) == 2.0
        assert spool.due("flight:1", now=101.0) == []
        p = spool.due("flight:1", now=102.0)[0]
        assert p.attempts == 1 and p.last_error == "down"
        assert spool.mark_failed(p, "busy", retry_after_s=30, now=102.0) == 30
        assert spool.next_try("flight:1") == 132.0
        spool.retry_now("flight:1")
        assert len(spool.due("flight:1", now=0.0)) == 1
        spool.mark_refused(spool.due("flight:1")[0], "not a photo")
        assert spool.counts("flight:1").refused == 1 and spool.next_try("flight:1") is None
    assert backoff_s(20) == 300.0


def test_the_edge_decides_by_findings_and_proof_of_coverage() -> None:
    cap = [{"class": "insulator_missing_cap", "confidence": 0.5, "xyxy": [0.0, 0, 9, 9]}]
    component = [{"class": "insulator", "confidence": 0.9, "xyxy": [0.0, 0, 9, 9]}]
    none = EdgePolicy()
    assert decide(cap, T0, None, none) == (EdgeVerdict.UPLOAD, "finding")  # type: ignore[arg-type]
    assert decide(component, T0, None, none)[0] is EdgeVerdict.SKIP  # type: ignore[arg-type]
    proof = EdgePolicy(dt.timedelta(minutes=10))
    assert decide([], T0, None, proof) == (EdgeVerdict.UPLOAD, "proof of coverage")
    assert decide([], T0, T0 - dt.timedelta(minutes=9), proof)[0] is EdgeVerdict.SKIP
    assert decide([], T0, T0 - dt.timedelta(minutes=10), proof)[0] is EdgeVerdict.UPLOAD


def test_a_watched_photo_is_taken_once_its_size_held_for_two_polls(tmp_path: Path) -> None:
    card = tmp_path / "card"
    (card / "DCIM").mkdir(parents=True)
    with Spool(tmp_path / "spool") as spool:
        poll = FolderPoll(card, spool)
        f = card / "DCIM" / "DJI_0001.JPG"
        f.write_bytes(b"\xff\xd8half")
        (card / "notes.txt").write_text("x")
        assert poll.poll() == []  # first sight
        with f.open("ab") as out:
            out.write(b"more\xff\xd9")  # still being written
        assert poll.poll() == []
        ready = poll.poll()
        assert ready == [f]
        poll.taken(ready)
        assert poll.poll() == []
        # a restart: the spool remembers the file
        again = FolderPoll(card, spool)
        again.poll()
        assert again.poll() == []
