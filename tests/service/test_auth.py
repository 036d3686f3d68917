"""Every data endpoint x every caller: 401 without a valid token, 403 for the wrong role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Api, make_settings, open_api
from .photos import jpeg

ALL = ("uploader", "reviewer", "admin")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[dict[str, Any]]:
    settings = make_settings(tmp_path_factory.mktemp("auth") / "data", tiny_model)
    for api in open_api(settings):
        flight = api.new_flight("uploader")
        body = api.upload(flight["id"], [("a.jpg", jpeg(seed=1))]).json()
        api.post(f"/flights/{flight['id']}/submit", "uploader")
        api.wait(flight["id"])
        defect = api.get("/defects", "admin").json()["items"][0]
        spare = api.post("/tokens", json={"role": "uploader", "name": "spare"}).json()
        yield {"api": api, "flight": flight["id"], "image": body["files"][0]["image_id"],
               "defect": defect["id"], "spare_token": spare["id"]}


# (method, path template, request kwargs, roles allowed)
ENDPOINTS: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    ("POST", "/flights", {"json": {"line": "L", "date": "2026-01-01"}}, ("uploader", "admin")),
    ("GET", "/flights", {}, ALL),
    ("GET", "/flights/{flight}", {}, ALL),
    ("GET", "/flights/{flight}/images", {}, ALL),
    ("POST", "/flights/{flight}/images",
     {"files": [("files", ("b.jpg", b"x", "image/jpeg"))]}, ("uploader", "admin")),
    ("POST", "/flights/{flight}/submit", {}, ("uploader", "admin")),
    ("POST", "/flights/{flight}/cancel", {}, ("uploader", "admin")),
    ("GET", "/flights/{flight}/report", {}, ALL),
    ("GET", "/images/{image}", {}, ALL),
    ("GET", "/images/{image}/meta", {}, ALL),
    ("GET", "/defects", {}, ("reviewer", "admin")),
    ("GET", "/defects/{defect}", {}, ("reviewer", "admin")),
    ("PATCH", "/defects/{defect}", {"json": {"note": "x"}}, ("reviewer", "admin")),
    ("GET", "/defects/{defect}/history", {}, ("reviewer", "admin")),
    ("GET", "/defects/{defect}/crop", {}, ALL),
    ("PUT", "/lines/L/ledger", {"content": b"line,tower,lat,lon\nL,1,30,114\n",
                                "headers": {"Content-Type": "text/csv"}}, ("admin",)),
    ("GET", "/lines/L/ledger", {}, ("reviewer", "admin")),
    ("GET", "/tokens", {}, ("admin",)),
    ("POST", "/tokens", {"json": {"role": "reviewer", "name": "n"}}, ("admin",)),
    ("DELETE", "/tokens/{spare_token}", {}, ("admin",)),
    ("GET", "/me", {}, ALL),
]
IDS = [f"{m} {p}" for m, p, _, _ in ENDPOINTS]


def _request(world: dict[str, Any], method: str, path: str, kw: dict[str, Any],
             auth: str | None) -> Any:
    api: Api = world["api"]
    url = "/api/v1" + path.format(**world)
    headers = dict(kw.get("headers", {}))
    if auth is not None:
        headers["Authorization"] = auth
    rest = {k: v for k, v in kw.items() if k != "headers"}
    return api.client.request(method, url, headers=headers, **rest)


@pytest.mark.parametrize(("method", "path", "kw", "allowed"), ENDPOINTS, ids=IDS)
@pytest.mark.parametrize("auth", [None, "Bearer lp_not-a-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_without_valid_token_401(world, method, path, kw, allowed, auth):
    r = _request(world, method, path, kw, auth)
    assert r.status_code == 401, r.text
    assert r.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize(("method", "path", "kw", "allowed"), ENDPOINTS, ids=IDS)
@pytest.mark.parametrize("role", ALL)
def test_role_matrix(world, method, path, kw, allowed, role):
    r = _request(world, method, path, kw, f"Bearer {world['api'].tokens[role]}")
    if role in allowed:
        assert r.status_code not in (401, 403), (role, r.status_code, r.text)
    else:
        assert r.status_code == 403, (role, r.status_code, r.text)


def test_revoked_token_is_401(world):
    api: Api = world["api"]
    created = api.post("/tokens", json={"role": "reviewer", "name": "leaver"}).json()
    hdr = {"Authorization": f"Bearer {created['token']}"}
    assert api.client.get("/api/v1/defects", headers=hdr).status_code == 200
    api.call("DELETE", f"/tokens/{created['id']}")
    assert api.client.get("/api/v1/defects", headers=hdr).status_code == 401


def test_health_and_metrics_need_no_token(world):
    api: Api = world["api"]
    assert api.client.get("/api/v1/health").status_code == 200
    assert api.client.get("/api/v1/metrics").status_code == 200


def test_me(world):
    api: Api = world["api"]
    me = api.get("/me", "reviewer").json()
    assert me["role"] == "reviewer" and me["name"] == "test-reviewer"
    assert "defects:write" in me["permissions"] and "admin" not in me["permissions"]
