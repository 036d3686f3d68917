"""compose.yaml, checked without Docker (``docker compose config`` is not available here).

The checks are the mistakes a compose file makes silently: an environment variable the service
does not read (pydantic-settings ignores unknown ones), a worker command that is not the real
worker, a URL naming a host that is no service of the stack, a dependency on a health check that
does not exist, the photo store not shared between the service and the worker.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from linepatrol_service import cli
from linepatrol_service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
OURS = ("service", "worker")  # the services that run the LinePatrol image
PREFIX = "LINEPATROL_"
VARIABLE = re.compile(r"\$\{(\w+)(?::?[?-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def interpolate(value: str) -> str:
    """Compose's ``${NAME:?message}`` with a stand-in value, as IT would set it."""
    return VARIABLE.sub(lambda m: f"stand-in-{m.group(1).lower()}", value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment as a mapping"
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def test_the_stack_has_its_four_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"service", "worker", "redis", "postgres"}
    for name in OURS:
        build = compose["services"][name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()


def test_every_variable_is_a_setting_of_the_service(compose: dict[str, Any]) -> None:
    fields = set(ServiceSettings.model_fields)
    for name in OURS:
        env = environment(compose["services"][name])
        assert env, name
        for key in env:
            assert key.startswith(PREFIX), (name, key)
            assert key.removeprefix(PREFIX).lower() in fields, (name, key)
        settings = ServiceSettings.model_validate(
            {k.removeprefix(PREFIX).lower(): v for k, v in env.items()})
        assert settings.queue == "celery"
        db = make_url(settings.database_url or "")
        assert db.drivername == "postgresql+psycopg"
        assert db.host in compose["services"], db.host
        postgres = environment(compose["services"][db.host])
        assert (db.username, db.database) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
        assert db.password == postgres["POSTGRES_PASSWORD"]
        broker = make_url(settings.broker_url)
        assert broker.drivername == "redis" and broker.host in compose["services"]


def test_the_worker_runs_the_real_worker_command(compose: dict[str, Any]) -> None:
    command = compose["services"]["worker"]["command"]
    assert command[0] == "linepatrol"
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(command[1:])
    assert args.handler is cli._worker
    assert args.name, "a fixed --name, so a restarted worker takes back its own photos"
    assert "command" not in compose["services"]["service"]  # the image's: linepatrol serve


def test_the_photo_store_is_shared(compose: dict[str, Any]) -> None:
    mounts = []
    for name in OURS:
        data_dir = environment(compose["services"][name])[f"{PREFIX}DATA_DIR"]
        mount = next(v for v in compose["services"][name]["volumes"]
                     if v.split(":")[1] == data_dir)
        mounts.append(mount.split(":")[0])
    assert mounts[0] == mounts[1] and mounts[0] in compose["volumes"]


def test_ports_and_dependencies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    exposed = re.search(r"^EXPOSE (\d+)", dockerfile, re.MULTILINE)
    assert exposed
    assert [p.split(":")[-1] for p in services["service"]["ports"]] == [exposed.group(1)]
    for name in ("worker", "redis", "postgres"):  # reached inside the stack only
        assert "ports" not in services[name], name
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services and target != name, (name, target)
            if rule["condition"] == "service_healthy":
                check = services[target].get("healthcheck")
                has_check = (check is not None and not check.get("disable")) or (
                    target in OURS and "HEALTHCHECK" in dockerfile and check is None)
                assert has_check, (name, target)
    assert set(services["service"]["depends_on"]) == {"postgres", "redis"}
    assert "service" in services["worker"]["depends_on"]  # the service migrates the database
