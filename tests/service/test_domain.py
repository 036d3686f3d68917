"""The lifecycles: one transition table, used by the API, the workers and the pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linepatrol_service.domain import (
    TRANSITIONS,
    DefectStatus,
    FlightStatus,
    PhotoStatus,
    TransitionError,
    Worker,
    allowed_from,
    check,
    may,
)
from linepatrol_service.roles import Permission

from .photos import jpeg

SERVICE = Path(__file__).parents[2] / "service" / "linepatrol_service"


def test_who_may_move_flights():
    assert may(FlightStatus.DRAFT, FlightStatus.QUEUED, Permission.FLIGHTS_WRITE)
    assert not may(FlightStatus.DRAFT, FlightStatus.QUEUED, Worker.WORKER)
    assert may(FlightStatus.PROCESSING, FlightStatus.DONE, Worker.WORKER)
    assert not may(FlightStatus.PROCESSING, FlightStatus.DONE, Permission.FLIGHTS_WRITE)
    assert not may(FlightStatus.DONE, FlightStatus.CANCELLED, Permission.FLIGHTS_WRITE)
    assert allowed_from(FlightStatus.QUEUED, Permission.FLIGHTS_WRITE) == {
        FlightStatus.DRAFT, FlightStatus.FAILED, FlightStatus.CANCELLED}
    with pytest.raises(TransitionError, match="from done to queued"):
        check(FlightStatus.DONE, FlightStatus.QUEUED, Permission.FLIGHTS_WRITE)


def test_reviewers_never_make_a_defect_new_again():
    # "ended" is the worker's (a camera's hazard no longer seen), never a reviewer's verdict
    reviewed = set(DefectStatus) - {DefectStatus.NEW, DefectStatus.ENDED}
    for a in DefectStatus:
        assert not may(a, DefectStatus.NEW, Permission.DEFECTS_WRITE)
        for b in reviewed - {a}:
            assert may(a, b, Permission.DEFECTS_WRITE), (a, b)


def test_every_status_is_reachable_or_initial():
    initial = {FlightStatus.DRAFT, PhotoStatus.PENDING, DefectStatus.NEW}
    targets = {b for (_, b) in TRANSITIONS}
    for enum in (FlightStatus, PhotoStatus, DefectStatus):
        for s in enum:
            assert s in targets or s in initial, s


def test_no_status_compared_with_a_bare_string():
    """Statuses are the domain's enums wherever the service reads or writes one."""
    pattern = re.compile(r"""(status|state)\s*(==|!=)\s*["'][a-z]+["']|status=["'][a-z]+["']""")
    found = [f"{p.name}: {line.strip()}" for p in SERVICE.rglob("*.py")
             if "migrations" not in p.parts
             for line in p.read_text(encoding="utf-8").splitlines() if pattern.search(line)]
    assert found == []


def test_api_refuses_moves_the_table_forbids(api):
    flight = api.new_flight()
    api.upload(flight["id"], [("a.jpg", jpeg(seed=1))])
    assert api.post(f"/flights/{flight['id']}/submit", "uploader").status_code == 200
    assert api.wait(flight["id"])["status"] == "done"
    r = api.post(f"/flights/{flight['id']}/cancel", "uploader")
    assert r.status_code == 409 and "is done" in r.json()["detail"]
    defect = api.get(f"/defects?flight={flight['id']}", "reviewer").json()["items"][0]
    r = api.patch(f"/defects/{defect['id']}", "reviewer", json={"status": "confirmed"})
    assert r.status_code == 200
    r = api.patch(f"/defects/{defect['id']}", "reviewer", json={"status": "new"})
    assert r.status_code == 409 and "from confirmed to new" in r.json()["detail"]
    # the same status again is no move, and no error
    assert api.patch(f"/defects/{defect['id']}", "reviewer",
                     json={"status": "confirmed"}).status_code == 200
