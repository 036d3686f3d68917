"""Property-based tests of the API against its own OpenAPI schema (schemathesis), on SQLite
and on PostgreSQL.

Schema-valid requests must get answers the schema describes; invalid ones (negative data:
wrong types, out-of-range numbers, NUL bytes, surrogates...) must never get a 5xx. A small
example count per operation keeps each run well under a minute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from linepatrol_service.app import create_app
from linepatrol_service.auth import create_token
from linepatrol_service.roles import Role
from linepatrol_service.services import Services

from .conftest import make_settings, reset_database
from .photos import jpeg


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         tiny_model: Path) -> Any:
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_url")
        reset_database(database_url)
    cfg = make_settings(tmp_path_factory.mktemp("schema") / "data", tiny_model,
                        database_url=database_url)
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
    """A ledger is CSV or GeoJSON text whose rows the schema cannot describe, a registered
    model an ONNX file and a camera's photo a JPEG whose bytes it cannot describe, so a
    schema-valid body may rightly be refused with 422."""
    if (label.startswith("PUT /api/v1/lines/") or label == "POST /api/v1/models"
            or label == "POST /api/v1/cameras/{camera_id}/images"):
        return [schemathesis.checks.positive_data_acceptance]
    return []


def _checker(op: Any, headers: dict[str, str], mode: GenerationMode) -> Any:
    excluded = excluded_for(op.label)

    @given(case=op.as_strategy(mode))
    @settings(max_examples=6, deadline=None,
              derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            case.call_and_validate(headers=headers, excluded_checks=excluded)
        else:  # invalid input may be refused in many ways, but never with a server error
            case.call_and_validate(headers=headers,
                                   checks=[schemathesis.checks.not_a_server_error])

    return check


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api_schema: Any, live: Any, mode: GenerationMode) -> None:
    """Each operation in turn (schemathesis' pytest plugin cannot take the app from a fixture
    with this pytest, so the operations are driven through Hypothesis directly)."""
    _, headers = live
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for op in operations:
        check = _checker(op, headers, mode)
        try:
            check()
        except Unsatisfiable:  # nothing to make invalid: an operation without parameters
            assert mode is GenerationMode.NEGATIVE, op.label
        except Exception as exc:  # collect all operations' failures, then report them together
            failures[op.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_stateful_sequences_get_no_server_error(api_schema: Any, live: Any) -> None:
    """Sequences of calls that feed one answer's ids into the next call (links schemathesis
    infers from the schema): create a flight, upload to it, read it, submit it..."""
    _, headers = live
    machine = api_schema.as_state_machine()
    assert machine.bundles, "schemathesis inferred no links between operations"

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            assert response.status_code < 500, (case.method, case.formatted_path,
                                                response.status_code, response.text[:500])

    Sequences.run(settings=settings(max_examples=8, stateful_step_count=6, deadline=None,
                                    derandomize=True, database=None,
                                    suppress_health_check=list(HealthCheck)))
