"""Fixtures shared by the whole suite: an app on a temporary data dir, and its client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from relumap_service.app import create_app

REPO = Path(__file__).resolve().parents[1]
SEED_NETWORKS = REPO.parent / "shared" / "examples" / "seed_networks.json"


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """An app with its own SQLite database and queue under ``tmp_path``."""
    return create_app({"DATA_DIR": str(tmp_path / "var"), **overrides})


def close_app(app: Flask) -> None:
    services = app.extensions["relumap"]
    services.queue.stop()
    services.store.dispose()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path)
    yield app
    close_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def wait_for_model(client: FlaskClient, model_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a model until its fit has finished."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/models/{model_id}").get_json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
