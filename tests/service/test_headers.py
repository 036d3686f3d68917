"""Security headers on every HTML answer, and API docs that need nothing from the internet."""

from __future__ import annotations

import re

from linepatrol_service.headers import HTML_POLICY

from .photos import jpeg


def test_html_report_has_security_headers(api):
    flight = api.new_flight()
    api.upload(flight["id"], [("a.jpg", jpeg(seed=600))])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    api.wait(flight["id"])
    r = api.get(f"/flights/{flight['id']}/report?format=html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"] == HTML_POLICY
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert api.get("/flights").headers["X-Content-Type-Options"] == "nosniff"


def test_docs_are_served_by_the_service_itself(api):
    r = api.client.get("/api/v1/docs")
    assert r.status_code == 200
    policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    urls = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert len(urls) == 3 and all(u.startswith("/api/v1/docs/") for u in urls), urls
    assert "<script>" not in r.text  # nothing inline: the policy allows none
    for url in urls:
        asset = api.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 50, url
    assert "SwaggerUIBundle" in api.client.get(urls[1]).text
