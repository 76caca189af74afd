"""docker-compose.yml is valid Compose, and agrees with what the code reads; so does the image.

No Docker engine is needed: the file is checked against the Compose
specification's JSON schema (vendored by check-jsonschema) and read as data.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from relumap_service.config import BLAS_THREAD_VARIABLES, DEFAULTS, database_url
from relumap_service.jobs import make_huey
from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
RELUMAP_SERVICES = ("api", "worker")
# Variables read by the processes in the image besides RELUMAP_* settings.
OTHER_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR", "GUNICORN_CMD_ARGS", *BLAS_THREAD_VARIABLES}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def interpolate(value: str) -> str:
    """Resolve ``${NAME:-default}`` as Compose does with nothing set."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_the_file_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_four_services_with_health_checks_and_named_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"api", "worker", "postgres", "redis"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    for name in RELUMAP_SERVICES:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
        assert services[name]["build"] == "."
    volumes = set(compose["volumes"])
    mounted = {
        mount.split(":")[0] for service in services.values() for mount in service.get("volumes", [])
    }
    assert mounted == volumes == {"pgdata", "redisdata"}


def test_api_serves_the_published_port_alone(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    command = api["command"]
    assert command[:2] == ["relumap-service", "serve"] and "--no-embedded-worker" in command
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    [published] = api["ports"]
    assert interpolate(published) == f"8000:{port}"
    assert f"127.0.0.1:{port}/readyz" in " ".join(api["healthcheck"]["test"])


def test_workers_can_be_scaled(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["command"] == ["relumap-service", "worker"]
    # A published port or a fixed name would stop a second replica from starting.
    assert "ports" not in worker and "container_name" not in worker
    assert worker["expose"] == [str(DEFAULTS["WORKER_METRICS_PORT"])]
    assert "/metrics" in " ".join(worker["healthcheck"]["test"])
    assert str(DEFAULTS["WORKER_METRICS_PORT"]) in " ".join(worker["healthcheck"]["test"])


def test_environment_names_are_settings_the_code_reads(compose: dict[str, Any]) -> None:
    for name in RELUMAP_SERVICES:
        environment = compose["services"][name]["environment"]
        for variable in environment:
            if variable.startswith("RELUMAP_"):
                assert variable.removeprefix("RELUMAP_") in DEFAULTS, (name, variable)
            else:
                assert variable in OTHER_VARIABLES, (name, variable)
    api = compose["services"]["api"]["environment"]
    assert {"RELUMAP_API_KEY", "RELUMAP_CORS_ORIGINS"} <= set(api)
    assert "RELUMAP_FIT_WORKERS" in compose["services"]["worker"]["environment"]


def test_the_database_and_queue_urls_name_the_compose_services(compose: dict[str, Any]) -> None:
    for name in RELUMAP_SERVICES:
        environment = compose["services"][name]["environment"]
        database = make_url(database_url(interpolate(environment["RELUMAP_DATABASE_URL"])))
        assert database.drivername == "postgresql+psycopg"
        postgres = compose["services"]["postgres"]["environment"]
        assert database.host == "postgres" and database.port == 5432
        assert database.username == interpolate(postgres["POSTGRES_USER"])
        assert database.password == interpolate(postgres["POSTGRES_PASSWORD"])
        assert database.database == interpolate(postgres["POSTGRES_DB"])
        queue_url = interpolate(environment["RELUMAP_QUEUE_URL"])
        assert queue_url.startswith("redis://redis:6379/")
        assert type(make_huey(queue_url, "relumap")).__name__ == "RedisHuey"


def test_env_example_documents_every_variable_compose_reads(compose: dict[str, Any]) -> None:
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    passed_through = {
        variable
        for name in RELUMAP_SERVICES
        for variable, value in compose["services"][name]["environment"].items()
        if value is None
    }
    assert interpolated | passed_through <= documented
    for variable in documented:
        if variable.startswith("RELUMAP_"):
            assert variable.removeprefix("RELUMAP_") in DEFAULTS, variable


def test_env_example_shows_the_codes_defaults() -> None:
    shown = dict(re.findall(r"^# (RELUMAP_[A-Z0-9_]+)=(.*)$", ENV_EXAMPLE.read_text(), re.M))
    assert shown
    for variable, value in shown.items():
        default = DEFAULTS[variable.removeprefix("RELUMAP_")]
        if isinstance(default, bool):
            assert value == str(default).lower(), variable
        else:
            assert value == str(default), variable


def test_the_image_is_slim_unprivileged_and_installs_the_service_extra() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(stages) == 2 and all(s.startswith("python:") and s.endswith("-slim") for s in stages)
    runtime = text[text.rindex("\nFROM ") :]
    assert 'pip install ".[service]"' in text
    # The runtime stage copies the built environment and installs nothing itself.
    assert "COPY --from=build /opt/relumap /opt/relumap" in runtime
    assert "pip install" not in runtime and "apt-get" not in runtime
    [user] = re.findall(r"^USER (\S+)", runtime, re.M)
    assert not user.startswith(("root", "0"))
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        assert f"{variable}=1" in runtime
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "tests"} <= set(ignored)
