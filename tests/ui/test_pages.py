"""The web interface without a browser: sign-in cookie, CSRF, permissions, pages, map data."""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linepatrol_service.services import Services
from linepatrol_service.ui.session import SESSION_COOKIE, csrf_token
from ui import support

UiApp = tuple[FastAPI, Services, dict[str, str]]


def sign_in(client: TestClient, token: str, next_url: str = "/ui/flights") -> Any:
    client.get("/ui/login")
    nonce = client.cookies.get("lp_login_csrf")
    return client.post("/ui/login", data={"token": token, "csrf": nonce, "next": next_url},
                       follow_redirects=False)


@pytest.fixture
def client(ui_app: UiApp) -> Iterator[TestClient]:
    app, _, _ = ui_app
    with TestClient(app) as c:
        yield c


@pytest.fixture
def processed(ui_app: UiApp, client: TestClient) -> dict[str, Any]:
    """A processed flight of three DJI photos over the test ledger (admin via bearer)."""
    return process_flight(client, ui_app[2], "admin")


def process_flight(client: TestClient, tokens: dict[str, str], owner: str,
                   expect_defects: bool = True) -> dict[str, Any]:
    """Three DJI photos over the test ledger, uploaded and submitted with ``owner``'s token
    (the ledger with the admin's), processed."""
    r = client.put(f"/api/v1/lines/{support.LINE}/ledger", content=support.ledger_csv(),
                   headers={"Authorization": f"Bearer {tokens['admin']}",
                            "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {tokens[owner]}"}
    flight = client.post("/api/v1/flights", json={"line": support.LINE, "date": "2026-11-20"},
                         headers=h).json()
    files = [("files", (f"p{i}.jpg", support.dji_photo(i, lat, lon), "image/jpeg"))
             for i, (_, lat, lon) in enumerate(support.TOWERS)]
    assert client.post(f"/api/v1/flights/{flight['id']}/images", files=files,
                       headers=h).status_code == 200
    assert client.post(f"/api/v1/flights/{flight['id']}/submit", headers=h).status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        flight = client.get(f"/api/v1/flights/{flight['id']}", headers=h).json()
        if flight["status"] not in ("queued", "processing"):
            break
        time.sleep(0.05)
    assert flight["status"] == "done" and (flight["defects"] > 0) == expect_defects, flight
    return dict(flight)


# --- sign-in and the cookie ----------------------------------------------------------------


def test_sign_in_sets_an_httponly_strict_cookie(ui_app: UiApp, client: TestClient) -> None:
    r = sign_in(client, ui_app[2]["reviewer"], "/ui/defects?severity=critical")
    assert r.status_code == 303 and r.headers["location"] == "/ui/defects?severity=critical"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # served over http: a Secure cookie would never come back


def test_cookie_is_secure_over_https(ui_app: UiApp) -> None:
    with TestClient(ui_app[0], base_url="https://testserver") as c:
        r = sign_in(c, ui_app[2]["reviewer"])
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "Secure" in cookie


def test_wrong_token_and_stale_form_are_refused(ui_app: UiApp, client: TestClient) -> None:
    r = sign_in(client, "lp_not-a-token")
    assert r.status_code == 401 and "Unknown or revoked token" in r.text
    assert SESSION_COOKIE not in client.cookies
    # No nonce cookie/field pair (a cross-site form post): refused even with a good token.
    fresh = TestClient(ui_app[0])
    r = fresh.post("/ui/login", data={"token": ui_app[2]["admin"], "csrf": "x"},
                   follow_redirects=False)
    assert r.status_code == 401 and "expired" in r.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/api/v1/x"])
def test_sign_in_never_redirects_off_the_ui(ui_app: UiApp, client: TestClient,
                                            target: str) -> None:
    r = sign_in(client, ui_app[2]["admin"], target)
    assert r.headers["location"] == "/ui/"


def test_pages_need_sign_in(client: TestClient) -> None:
    for url in ("/ui/", "/ui/flights", "/ui/defects", "/ui/map", "/ui/defects/1"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/ui/login?next=")


def test_revoked_token_ends_the_session(ui_app: UiApp, client: TestClient) -> None:
    from linepatrol_service.models import Token, utcnow

    sign_in(client, ui_app[2]["reviewer"])
    assert client.get("/ui/defects").status_code == 200
    with ui_app[1].sessions.begin() as s:
        for row in s.query(Token).filter(Token.name == "ui-reviewer"):
            row.revoked_at = utcnow()
    assert client.get("/ui/defects", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/defects").status_code == 401


def test_logout_needs_csrf_and_clears_the_cookie(ui_app: UiApp, client: TestClient) -> None:
    sign_in(client, ui_app[2]["reviewer"])
    assert client.post("/ui/logout", data={"csrf": "wrong"}).status_code == 403
    r = client.post("/ui/logout", data={"csrf": csrf_token(ui_app[2]["reviewer"])},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/ui/defects", follow_redirects=False).status_code == 303


# --- the cookie as an API credential, with CSRF ----------------------------------------------


def test_api_changes_with_the_cookie_need_the_csrf_header(ui_app: UiApp,
                                                          client: TestClient) -> None:
    token = ui_app[2]["uploader"]
    sign_in(client, token)
    body = {"line": support.LINE, "date": "2026-11-20"}
    r = client.post("/api/v1/flights", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/api/v1/flights", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403
    r = client.post("/api/v1/flights", json=body, headers={"X-CSRF-Token": csrf_token(token)})
    assert r.status_code == 201
    assert client.get("/api/v1/flights").json()["total"] == 1  # reads need no CSRF token


def test_csrf_token_of_one_session_fails_another(ui_app: UiApp, client: TestClient) -> None:
    sign_in(client, ui_app[2]["uploader"])
    other = csrf_token(ui_app[2]["admin"])
    r = client.post("/api/v1/flights", json={"line": "L", "date": "2026-11-20"},
                    headers={"X-CSRF-Token": other})
    assert r.status_code == 403


def test_an_authorization_header_wins_over_the_cookie(ui_app: UiApp,
                                                      client: TestClient) -> None:
    sign_in(client, ui_app[2]["admin"])
    r = client.get("/api/v1/tokens", headers={"Authorization": "Bearer lp_bogus"})
    assert r.status_code == 401


# --- permissions: the API's grants decide, the pages follow ---------------------------------


def test_uploader_sees_flights_not_the_queue(ui_app: UiApp, client: TestClient) -> None:
    sign_in(client, ui_app[2]["uploader"])
    home = client.get("/ui/", follow_redirects=False)
    assert home.headers["location"] == "/ui/flights"
    page = client.get("/ui/flights").text
    assert "/ui/flights/new" in page and "/ui/defects" not in page
    r = client.get("/ui/defects")
    assert r.status_code == 403 and "defects:read" in r.text
    assert client.get("/ui/data/map.geojson").status_code == 403


def test_uploader_sees_its_flight_and_what_it_found(ui_app: UiApp, client: TestClient,
                                                    processed: dict[str, Any]) -> None:
    """A patrol team sees its own flight listed, with the map and the defect list (read-only:
    no links into the review pages); another token's flight stays hidden, page and map data."""
    own = process_flight(client, ui_app[2], "uploader")
    sign_in(client, ui_app[2]["uploader"])
    listing = client.get("/ui/flights").text
    assert f'data-flight="{own["id"]}"' in listing and "No flights yet" not in listing
    assert f'data-flight="{processed["id"]}"' not in listing
    page = client.get(f"/ui/flights/{own['id']}").text
    assert 'id="map"' in page and 'id="flight-defects"' in page
    table = page[page.index('id="flight-defects"'):page.index("</table>")]
    assert table.count("<tr class=\"row-") == own["defects"]
    assert "/ui/defects/" not in page
    data = client.get(f"/ui/data/map.geojson?flight={own['id']}")
    assert data.status_code == 200
    points = [f for f in data.json()["features"] if f["properties"]["kind"] == "defect"]
    assert points and all("url" not in f["properties"] for f in points)
    assert client.get(f"/ui/flights/{processed['id']}").status_code == 404
    assert client.get(f"/ui/data/map.geojson?flight={processed['id']}").status_code == 404
    assert client.get(f"/ui/data/map.geojson?defect={points[0]['properties']['id']}"
                      ).status_code == 403


def test_reviewer_cannot_open_the_upload_page(ui_app: UiApp, client: TestClient) -> None:
    sign_in(client, ui_app[2]["reviewer"])
    assert client.get("/ui/flights/new").status_code == 403
    assert "/ui/flights/new" not in client.get("/ui/flights").text


# --- pages over a processed flight ---------------------------------------------------------


def test_flight_page_shows_progress_reports_and_defects(ui_app: UiApp, client: TestClient,
                                                        processed: dict[str, Any]) -> None:
    sign_in(client, ui_app[2]["reviewer"])
    page = client.get(f"/ui/flights/{processed['id']}").text
    assert 'data-status="done"' in page
    for fmt in ("html", "geojson", "kml", "csv"):
        assert f"/api/v1/flights/{processed['id']}/report?format={fmt}" in page
    assert len(re.findall(r'href="/ui/defects/\d+"', page)) >= processed["defects"]
    assert "绝缘子自爆/缺片" in page and "Insulator self-explosion" in page  # zh and en


def test_flight_page_offers_pdf_only_where_it_can_be_written(
        ui_app: UiApp, client: TestClient, processed: dict[str, Any], monkeypatch) -> None:
    sign_in(client, ui_app[2]["reviewer"])
    link = f"/api/v1/flights/{processed['id']}/report?format=pdf"
    if importlib.util.find_spec("reportlab") is not None:
        assert link in client.get(f"/ui/flights/{processed['id']}").text
    monkeypatch.setitem(sys.modules, "reportlab", None)  # no pdf extra: no dead link
    assert link not in client.get(f"/ui/flights/{processed['id']}").text


def test_flight_page_keeps_the_upload_verdicts(ui_app: UiApp, client: TestClient) -> None:
    """The upload page shows each file's verdict only until it moves on; the flight page keeps
    the refused files and their reasons, and the photos without a position."""
    h = {"Authorization": f"Bearer {ui_app[2]['uploader']}"}
    flight = client.post("/api/v1/flights", json={"line": support.LINE, "date": "2026-11-20"},
                         headers=h).json()
    files = [("files", ("good.jpg", support.dji_photo(0, *support.TOWERS[0][1:]), "image/jpeg")),
             ("files", ("<b>broken</b>.jpg", b"\xff\xd8\xff\xe0 not a JPEG", "image/jpeg")),
             ("files", ("notes.txt", b"hello", "text/plain"))]
    body = client.post(f"/api/v1/flights/{flight['id']}/images", files=files, headers=h).json()
    assert body["rejected"] == 2
    sign_in(client, ui_app[2]["uploader"])
    page = client.get(f"/ui/flights/{flight['id']}").text
    refused = page[page.index('id="refused"'):]
    refused = refused[:refused.index("</ul>")]
    reasons = {i["filename"]: i["reason"] for i in body["files"] if i["status"] == "rejected"}
    assert "&lt;b&gt;broken&lt;/b&gt;.jpg" in refused and "notes.txt" in refused
    for reason in reasons.values():
        assert reason.replace("'", "&#39;") in refused
    assert "good.jpg" not in refused


def test_queue_defaults_to_new_and_filters(ui_app: UiApp, client: TestClient,
                                           processed: dict[str, Any]) -> None:
    token = ui_app[2]["reviewer"]
    sign_in(client, token)
    rows = re.findall(r'data-defect="(\d+)"', client.get("/ui/defects").text)
    assert len(rows) == processed["defects"]
    r = client.patch(f"/api/v1/defects/{rows[0]}", json={"status": "confirmed"},
                     headers={"X-CSRF-Token": csrf_token(token)})
    assert r.status_code == 200
    after = re.findall(r'data-defect="(\d+)"', client.get("/ui/defects").text)
    assert rows[0] not in after and len(after) == len(rows) - 1
    confirmed = client.get("/ui/defects?status=confirmed").text
    assert re.findall(r'data-defect="(\d+)"', confirmed) == [rows[0]]
    due = client.get(f"/api/v1/defects/{rows[0]}").json()["due_at"]
    assert due and due[:10] in confirmed  # the deadline its confirmation started
    assert 'data-defect="' not in client.get("/ui/defects?overdue=1").text  # none is late yet
    assert 'name="overdue" value="1" checked' in client.get("/ui/defects?overdue=1").text
    nests = client.get("/ui/defects?status=new&class=bird_nest").text
    assert "鸟巢" in nests and "绝缘子自爆" not in nests.split("<tbody>")[1]
    none = client.get("/ui/defects?status=new&severity=critical").text
    assert 'data-defect="' not in none and "Nothing matches" in none
    assert 'data-defect="' not in client.get("/ui/defects?status=new&category=hazard").text
    line_defects = client.get("/ui/defects?status=new&category=line_defect").text
    assert len(re.findall(r'data-defect="(\d+)"', line_defects)) == len(after)
    tower = client.get(f"/ui/defects?status=new&tower={support.TOWERS[1][0]}").text
    assert 0 < len(re.findall(r'data-defect="(\d+)"', tower)) < len(after)


def test_defect_page_has_photo_crop_map_history(ui_app: UiApp, client: TestClient,
                                                processed: dict[str, Any]) -> None:
    token = ui_app[2]["reviewer"]
    sign_in(client, token)
    defect = client.get("/api/v1/defects").json()["items"][0]
    client.patch(f"/api/v1/defects/{defect['id']}",
                 json={"severity": "critical", "note": "cap gone, 3rd from top"},
                 headers={"X-CSRF-Token": csrf_token(token)})
    page = client.get(f"/ui/defects/{defect['id']}").text
    assert f"/api/v1/defects/{defect['id']}/crop" in page
    assert 'id="photo-data"' in page and f'"imageId": {defect["image_id"]}' in page
    assert "cap gone, 3rd from top" in page and "severity:" in page
    assert f"/ui/data/map.geojson?defect={defect['id']}" in page
    assert client.get(f"/api/v1/defects/{defect['id']}/crop").headers["content-type"] == \
        "image/jpeg"
    assert client.get(f"/api/v1/images/{defect['image_id']}").status_code == 200
    # a view the detector named otherwise (a machine's views vote on its class) says so
    assert "seen as" not in page
    from linepatrol_service.models import Defect

    with ui_app[1].sessions.begin() as s:
        row = s.get(Defect, defect["id"])
        assert row is not None
        views = [dict(e) for e in row.evidence]
        views[0]["detected_class"] = "bird_nest"
        row.evidence = views
    page = client.get(f"/ui/defects/{defect['id']}").text
    seen = page[page.find("seen as"):]
    assert "seen as" in page and 0 <= seen.find('<span lang="zh">鸟巢</span>') < 60


def test_photo_page_is_the_review_sides(ui_app: UiApp, client: TestClient,
                                       processed: dict[str, Any]) -> None:
    """A photo's page (every item's box on it, the tools to edit them) is for reviewers and
    admins: an uploader gets the 403 page, even for its own flight's photo; the flight page and
    the defect page link to it."""
    own = process_flight(client, ui_app[2], "uploader")
    sign_in(client, ui_app[2]["reviewer"])
    images = client.get(f"/api/v1/flights/{processed['id']}/images").json()["items"]
    defects = [client.get(f"/api/v1/defects/{d['id']}").json() for d in client.get(
        "/api/v1/defects", params={"flight": processed["id"]}).json()["items"]]
    image_id = defects[0]["image_id"]
    page = client.get(f"/ui/images/{image_id}")
    assert page.status_code == 200 and "photo_page.js" in page.text and "photo.js" in page.text
    assert 'id="draw-start"' in page.text and 'id="sel-box-form"' in page.text  # may write
    boxes = client.get(f"/ui/images/{image_id}/boxes.json").json()
    on_photo = {d["id"] for d in defects if any(e["image_id"] == image_id
                                                   for e in d["evidence"])}
    assert {b["id"] for b in boxes} == on_photo and defects[0]["id"] in on_photo
    first = next(b for b in boxes if b["id"] == defects[0]["id"])
    assert first["correctable"] and first["xyxy"] == defects[0]["xyxy"]
    assert first["zh"] and first["status"] == "new" and first["origin"] == "detected"
    flight_page = client.get(f"/ui/flights/{processed['id']}").text
    for im in images:
        if im["status"] == "done":
            assert f'href="/ui/images/{im["id"]}"' in flight_page
            assert f'href="/api/v1/images/{im["id"]}?variant=annotated"' in flight_page
    defect_page = client.get(f"/ui/defects/{defects[0]['id']}").text
    assert f'href="/ui/images/{image_id}"' in defect_page
    assert client.get("/ui/images/999999").status_code == 404
    # an uploader: the 403 page, for another's photo and its own; its flight page keeps the
    # annotated JPEG as the photo's link
    sign_in(client, ui_app[2]["uploader"])
    own_image = client.get(f"/api/v1/flights/{own['id']}/images").json()["items"][0]["id"]
    for target in (image_id, own_image):
        r = client.get(f"/ui/images/{target}")
        assert r.status_code == 403 and "defects:read" in r.text
        assert client.get(f"/ui/images/{target}/boxes.json").status_code == 403
    own_page = client.get(f"/ui/flights/{own['id']}").text
    assert "/ui/images/" not in own_page
    assert f'href="/api/v1/images/{own_image}?variant=annotated"' in own_page


def test_map_data_draws_ledger_and_open_defects(ui_app: UiApp, client: TestClient,
                                                processed: dict[str, Any]) -> None:
    sign_in(client, ui_app[2]["reviewer"])
    data = client.get("/ui/data/map.geojson").json()
    kinds = [f["properties"]["kind"] for f in data["features"]]
    assert kinds.count("tower") == len(support.TOWERS) and kinds.count("line") == 1
    assert kinds.count("defect") == processed["defects"]
    line = next(f for f in data["features"] if f["properties"]["kind"] == "line")
    assert line["geometry"]["coordinates"][0] == [support.TOWERS[0][2], support.TOWERS[0][1]]
    for f in data["features"]:
        if f["properties"]["kind"] == "defect":
            assert f["properties"]["severity"] in ("critical", "serious", "general")
            assert f["properties"]["tower"] in {t for t, _, _ in support.TOWERS}
    one = data["features"][-1]["properties"]["id"]
    single = client.get(f"/ui/data/map.geojson?defect={one}").json()
    assert [f["properties"]["id"] for f in single["features"]
            if f["properties"]["kind"] == "defect"] == [one]
    assert client.get("/ui/data/map.geojson?line=other").json()["features"] == []
    assert "photo" not in kinds  # the all-lines map shows findings, not camera positions
    flight = client.get(f"/ui/data/map.geojson?flight={processed['id']}").json()
    cameras = [f for f in flight["features"] if f["properties"]["kind"] == "photo"]
    assert sorted(f["properties"]["filename"] for f in cameras) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    lon, lat = cameras[0]["geometry"]["coordinates"]
    assert (round(lat, 5), round(lon, 5)) in {(round(la, 5), round(lo, 5))
                                              for _, la, lo in support.TOWERS}
    seen_by = {e["image_id"] for e in client.get(f"/api/v1/defects/{one}").json()["evidence"]}
    assert {f["properties"]["id"] for f in single["features"]
            if f["properties"]["kind"] == "photo"} == seen_by


def test_static_files_and_no_cdn(client: TestClient) -> None:
    from linepatrol_service.ui.pages import HERE

    assert client.get("/ui/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/ui/static/js/common.js").status_code == 200
    for path in [*HERE.glob("templates/*.html"), *HERE.glob("static/js/*.js"),
                 *HERE.glob("static/css/*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"https?://", text), path
        assert "unpkg" not in text and "cdn" not in text.lower(), path


def test_pages_carry_a_strict_content_security_policy(client: TestClient) -> None:
    from linepatrol_service.ui.pages import security_headers

    csp = client.get("/ui/login").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    tiles = security_headers("https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://*.tiles.example.org;" in \
        tiles["Content-Security-Policy"]
    local = security_headers("http://10.0.0.5:8080/{z}/{x}/{y}.png")["Content-Security-Policy"]
    assert "http://10.0.0.5:8080" in local


def test_queue_orders_as_asked(ui_app: UiApp, client: TestClient,
                               processed: dict[str, Any]) -> None:
    sign_in(client, ui_app[2]["reviewer"])
    api = client.get("/api/v1/defects", params={"status": "new", "sort": "tower",
                                                "limit": 100}).json()["items"]
    page = client.get("/ui/defects?status=new&sort=tower").text
    assert re.findall(r'data-defect="(\d+)"', page) == [str(d["id"]) for d in api]
    assert '<option value="tower" selected>' in page
    fallback = client.get("/ui/defects?status=new&sort=drop+table").text
    assert '<option value="severity" selected>' in fallback


def test_map_tiles_are_off_unless_configured(tmp_path: Any, tiny_model: Any) -> None:
    import json as _json

    from linepatrol_service.app import create_app
    from linepatrol_service.auth import create_token
    from linepatrol_service.roles import Role
    from linepatrol_service.ui import mount_ui
    from linepatrol_service.ui.config import UISettings
    from ui.conftest import make_settings

    def map_config(ui_settings: UISettings | None) -> tuple[dict[str, Any], str]:
        settings = make_settings(tmp_path / f"d{id(ui_settings)}", tiny_model)
        services = Services(settings)
        app = create_app(settings, services)  # without the UI: mount it with these settings
        mount_ui(app, ui_settings)
        with services.sessions.begin() as s:
            _, token = create_token(s, Role.REVIEWER, "r")
        with TestClient(app) as c:
            sign_in(c, token)
            r = c.get("/ui/map")
        raw = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', r.text)
        assert raw
        return _json.loads(raw.group(1)), r.headers["content-security-policy"]

    offline, _ = map_config(None)
    assert offline["tileUrl"] == ""
    tiles, csp = map_config(UISettings(tile_url="http://tiles.lan/{z}/{x}/{y}.png",
                                       tile_attribution="Local tiles"))
    assert tiles["tileUrl"] == "http://tiles.lan/{z}/{x}/{y}.png"
    assert "http://tiles.lan" in csp


def test_line_dashboard_pages_show_the_summary_figures(ui_app: UiApp, client: TestClient,
                                                       processed: dict[str, Any]) -> None:
    token = ui_app[2]["reviewer"]
    sign_in(client, token)
    summary = client.get(f"/api/v1/lines/{support.LINE}/summary").json()
    overview = client.get("/ui/lines").text
    assert f'data-line="{support.LINE}"' in overview
    assert f'/ui/lines/{quote(support.LINE)}' in overview
    page = client.get(f"/ui/lines/{quote(support.LINE)}")
    assert page.status_code == 200
    open_total = sum(summary["open_by_grade"].values())
    assert open_total == processed["defects"]
    for grade, n in summary["open_by_grade"].items():
        assert f"{n}</a>" in page.text and f"severity={grade}" in page.text
    assert f'data-source="/ui/data/map.geojson?line={quote(support.LINE)}"' in page.text
    assert f'/ui/flights/{processed["id"]}' in page.text
    sign_in(client, ui_app[2]["uploader"])
    assert client.get("/ui/lines").status_code == 403
