from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from relumap_service.store import Store
from tests.conftest import close_app, make_app


def test_service_info_reports_the_limits_in_force(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(MAX_HIDDEN_UNITS=64, EMBEDDED_WORKER=False)
    body = app.test_client().get("/v1").get_json()
    assert body["name"] == "relumap"
    assert body["limits"]["hidden_units"] == 64
    assert {"square", "xor", "flower", "bump"} <= set(body["dataset_kinds"])


def test_health_endpoints(client: FlaskClient) -> None:
    assert client.get("/livez").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}


def test_readiness_fails_with_503_when_the_database_is_gone(tmp_path: Path) -> None:
    app = make_app(tmp_path, EMBEDDED_WORKER=False)
    services = app.extensions["relumap"]
    services.store.dispose()
    services.store = Store(f"sqlite:///{tmp_path / 'no-such-dir' / 'relumap.db'}")
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.content_type == "application/problem+json"
        assert "database unreachable" in response.get_json()["detail"]
        assert response.headers["Retry-After"] == "5"
    finally:
        close_app(app)


def test_openapi_document_is_3_1_and_documents_problems(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert {"/v1/datasets", "/v1/models", "/v1/models/{model_id}/predict"} <= set(spec["paths"])
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == ["application/problem+json"]


def test_docs_page_loads_only_assets_shipped_with_the_package(client: FlaskClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not re.search(r"(src|href)=\"https?://", html)
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html)
    assert len(assets) == 3
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 10_000
        response.close()
