"""Settings of the scale-out configuration, and the command line that sets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from relumap_service.config import database_url, load_config

SCRIPT = Path(sys.executable).with_name("relumap-service")


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db:5432/relumap", "postgresql+psycopg://u:p@db:5432/relumap"),
        ("postgresql://u@db/relumap", "postgresql+psycopg://u@db/relumap"),
        ("postgresql+psycopg://u@db/relumap", "postgresql+psycopg://u@db/relumap"),
        ("sqlite:////var/lib/relumap/relumap.db", "sqlite:////var/lib/relumap/relumap.db"),
    ],
)
def test_postgres_urls_use_psycopg_3(given: str, used: str) -> None:
    assert database_url(given) == used
    assert load_config(environ={"RELUMAP_DATABASE_URL": given})["DATABASE_URL"] == used


def test_scale_out_settings_come_from_the_environment() -> None:
    config = load_config(
        environ={
            "RELUMAP_QUEUE_URL": "redis://redis:6379/0",
            "RELUMAP_FIT_LEASE_SECONDS": "2.5",
            "RELUMAP_FIT_MAX_ATTEMPTS": "3",
            "RELUMAP_API_KEY": "k",
            "RELUMAP_CORS_ORIGINS": "https://a.example",
            "RELUMAP_MIGRATE_ON_START": "false",
        }
    )
    assert config["QUEUE_URL"] == "redis://redis:6379/0"
    assert config["FIT_LEASE_SECONDS"] == 2.5 and config["FIT_MAX_ATTEMPTS"] == 3
    assert config["API_KEY"] == "k" and config["CORS_ORIGINS"] == "https://a.example"
    assert config["MIGRATE_ON_START"] is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RELUMAP_LOG_FORMAT", "xml"),
        ("RELUMAP_FIT_LEASE_SECONDS", "0"),
        ("RELUMAP_FIT_LEASE_SECONDS", "soon"),
        ("RELUMAP_FIT_MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_scale_out_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load_config(environ={name: value})


def test_the_command_line_offers_serve_worker_and_migrate() -> None:
    result = subprocess.run(
        [str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "{serve,worker,migrate}" in result.stdout
    worker = subprocess.run(
        [str(SCRIPT), "worker", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "--workers" in worker.stdout and "--shutdown-timeout" in worker.stdout
    serve = subprocess.run(
        [str(SCRIPT), "--bogus"], capture_output=True, text=True, timeout=60, check=False
    )
    assert serve.returncode == 2 and "serve" in serve.stderr
