"""The service's first impressions: a favicon, and OpenAPI operation ids a client reads."""

from __future__ import annotations

from typing import Any


def test_favicon_is_served(api: Any) -> None:
    r = api.client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/vnd.microsoft.icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_operation_ids_are_the_endpoints_names(api: Any) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"create_flight", "upload_images", "submit_flight", "flight_report",
            "list_defects", "update_defect"} <= set(ids)
    assert not [i for i in ids if "api_v1" in i]
