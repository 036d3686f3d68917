"""Property-based tests of the API against its own OpenAPI schema (schemathesis).

A small example count per operation keeps this well under a minute; the point is that no
generated request, valid or not, gets a 5xx or an answer the schema does not describe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from linepatrol_service.app import create_app
from linepatrol_service.auth import create_token
from linepatrol_service.roles import Role
from linepatrol_service.services import Services

from .conftest import make_settings
from .photos import jpeg


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Any:
    cfg = make_settings(tmp_path_factory.mktemp("schema") / "data", tiny_model)
    services = Services(cfg)
    app = create_app(cfg, services)
    with TestClient(app) as client:
        with services.sessions.begin() as s:
            _, secret = create_token(s, Role.ADMIN, "schemathesis")
        headers = {"Authorization": f"Bearer {secret}"}
        # Some data for the generated ids to hit.
        flight = client.post("/api/v1/flights", headers=headers,
                             json={"line": "L", "date": "2026-01-01"}).json()
        client.post(f"/api/v1/flights/{flight['id']}/images", headers=headers,
                    files=[("files", ("a.jpg", jpeg(seed=1), "image/jpeg"))])
        client.post(f"/api/v1/flights/{flight['id']}/submit", headers=headers)
        yield app, headers


@pytest.fixture(scope="module")
def api_schema(live: Any) -> Any:
    app, _ = live
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def excluded_for(label: str) -> list[Any]:
    """A ledger is CSV or GeoJSON text whose rows the schema cannot describe, so a
    schema-valid body may rightly be refused with 422."""
    if label.startswith("PUT /api/v1/lines/"):
        return [schemathesis.checks.positive_data_acceptance]
    return []


def _checker(op: Any, headers: dict[str, str]) -> Any:
    excluded = excluded_for(op.label)

    @given(case=op.as_strategy())
    @settings(max_examples=6, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    return check


def test_api_conforms_to_its_schema(api_schema: Any, live: Any) -> None:
    """Each operation in turn (schemathesis' pytest plugin cannot take the app from a fixture
    with this pytest, so the operations are driven through Hypothesis directly)."""
    _, headers = live
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for op in operations:
        check = _checker(op, headers)
        try:
            check()
        except Exception as exc:  # collect all operations' failures, then report them together
            failures[op.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
