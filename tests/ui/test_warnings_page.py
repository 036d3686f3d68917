"""The warnings page without a browser: open warnings with their photo link and the moves the
viewer's role may make; the admin's webhook log; the line page's execution rate."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi.testclient import TestClient

from linepatrol_service.models import Defect, Flight
from linepatrol_service.warnings import raise_warnings

from .test_pages import UiApp, client, sign_in  # noqa: F401  (the client fixture)

LINE = "500kV 江城线"


def _warning(ui_app: UiApp) -> tuple[int, int]:
    services = ui_app[1]
    with services.sessions.begin() as s:
        flight = Flight(line=LINE, date=dt.date(2026, 11, 20), status="done")
        s.add(flight)
        s.flush()
        item = Defect(flight_id=flight.id, class_key="truck_crane", detected_class="truck_crane",
                      category="hazard", confidence=0.9, line=LINE, tower="N7",
                      distance_to_line_m=12.0, evidence=[], lat=30.5123, lon=114.3121)
        s.add(item)
        s.flush()
        (w,) = raise_warnings(s, services.settings, [item])
        return w.id, item.id


def test_the_warnings_page_lists_them_with_the_moves_of_the_role(
        ui_app: UiApp, client: TestClient) -> None:  # noqa: F811
    warning_id, item_id = _warning(ui_app)
    sign_in(client, ui_app[2]["reviewer"])
    page = client.get("/ui/warnings")
    assert page.status_code == 200
    assert f'data-warning="{warning_id}" data-status="issued"' in page.text
    assert 'data-to="acknowledged"' in page.text and 'data-to="closed"' not in page.text
    assert f"/api/v1/defects/{item_id}/crop" in page.text
    assert 'href="/ui/warnings"' in page.text  # in the navigation
    assert 'id="deliveries"' not in page.text and "Webhook deliveries" not in page.text
    one = client.get(f"/ui/warnings/{warning_id}")
    assert one.status_code == 200 and 'id="warning-events"' in one.text
    line = client.get(f"/ui/lines/{quote(LINE)}").text
    assert 'id="warning-rate"' in line and "0/1 closed in time" in line

    sign_in(client, ui_app[2]["admin"])
    assert "Webhook deliveries" in client.get("/ui/warnings").text
    sign_in(client, ui_app[2]["uploader"])
    assert client.get("/ui/warnings").status_code == 403


def test_the_warnings_page_maps_the_listed_warnings(ui_app: UiApp,
                                                    client: TestClient) -> None:  # noqa: F811
    """The map's data (no inline script: maps.js reads it from data-source): each listed
    warning a point with its class, status, distance and link; the page's filter applies."""
    warning_id, _ = _warning(ui_app)
    sign_in(client, ui_app[2]["reviewer"])
    page = client.get("/ui/warnings").text
    source = "/ui/data/warnings.geojson?line=&amp;offset=0"
    assert f'id="map" class="map" data-source="{source}"' in page
    assert "/static/js/maps.js" in page and 'id="map-config"' in page
    assert 'class="sev wst wst-issued"' in page  # the legend

    data = client.get(source.replace("&amp;", "&")).json()
    (feature,) = [f for f in data["features"] if f["properties"]["kind"] == "warning"]
    assert feature["geometry"]["coordinates"] == [114.3121, 30.5123]
    p = feature["properties"]
    assert p["id"] == warning_id and p["class"] == "truck_crane" and p["status"] == "issued"
    assert p["distance_m"] == 12.0 and p["warning_distance_m"] > 12.0
    assert p["url"] == f"/ui/warnings/{warning_id}" and p["tower"] == "N7"
    assert p["status_en"] == "Issued" and p["en"] and p["zh"]
    other = client.get("/ui/data/warnings.geojson", params={"line": "other line"}).json()
    assert not [f for f in other["features"] if f["properties"]["kind"] == "warning"]
    assert not [f for f in client.get("/ui/data/warnings.geojson?offset=50").json()["features"]
                if f["properties"]["kind"] == "warning"]  # the next page of the list

    one = client.get(f"/ui/warnings/{warning_id}").text
    assert f'data-source="/ui/data/warnings.geojson?warning={warning_id}"' in one
    (mine,) = client.get(f"/ui/data/warnings.geojson?warning={warning_id}").json()["features"]
    assert mine["properties"]["id"] == warning_id
    assert client.get("/ui/data/warnings.geojson?warning=999").status_code == 404
    sign_in(client, ui_app[2]["uploader"])
    assert client.get("/ui/data/warnings.geojson").status_code == 403
