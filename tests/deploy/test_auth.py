"""The optional API key guards /v1 only; CORS is off unless origins are configured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.conftest import close_app, make_app

KEY = "s3cret-key-0123456789"
PROBLEM = "application/problem+json"


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[FlaskClient]:
    app = make_app(tmp_path, API_KEY=KEY, EMBEDDED_WORKER=False)
    yield app.test_client()
    close_app(app)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("path", ["/v1", "/v1/datasets", "/v1/models"])
def test_v1_without_the_key_is_a_401_problem(keyed: FlaskClient, path: str) -> None:
    response = keyed.get(path)
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert body["status"] == 401 and "Authorization: Bearer" in body["detail"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="relumap"'


@pytest.mark.parametrize(
    "header", ["Bearer wrong", f"Bearer {KEY}x", f"Basic {KEY}", KEY, f"Bearer {KEY[:-1]}"]
)
def test_a_wrong_key_or_scheme_is_refused(keyed: FlaskClient, header: str) -> None:
    response = keyed.get("/v1/datasets", headers={"Authorization": header})
    assert response.status_code == 401 and response.content_type == PROBLEM


def test_the_right_key_is_accepted_for_reads_and_writes(keyed: FlaskClient) -> None:
    assert keyed.get("/v1/datasets", headers=bearer(KEY)).status_code == 200
    assert keyed.get("/v1/datasets", headers={"Authorization": f"bearer {KEY}"}).status_code == 200
    created = keyed.post(
        "/v1/datasets/generate", json={"kind": "abs", "n_samples": 20}, headers=bearer(KEY)
    )
    assert created.status_code == 201
    invalid = keyed.post("/v1/datasets/generate", json={"kind": "abs"}, headers=bearer("no"))
    assert 'error="invalid_token"' in invalid.headers["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/openapi.json", "/docs", "/metrics"])
def test_health_docs_and_metrics_stay_open(keyed: FlaskClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_the_openapi_document_declares_the_bearer_scheme(keyed: FlaskClient) -> None:
    spec = keyed.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert spec["security"] == [{"apiKey": []}]


def test_without_a_key_nothing_is_required_or_declared(client: FlaskClient) -> None:
    assert client.get("/v1/datasets").status_code == 200
    spec = client.get("/openapi.json").get_json()
    # One empty requirement: no credentials, said explicitly for OpenAPI linters.
    assert spec["security"] == [{}]
    assert "securitySchemes" not in spec.get("components", {})


def test_cors_is_off_by_default(client: FlaskClient) -> None:
    response = client.get("/v1", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_the_configured_origins_only(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        API_KEY=KEY,
        CORS_ORIGINS="https://app.example, https://other.example",
        EMBEDDED_WORKER=False,
    )
    client = app.test_client()
    try:
        # A preflight carries no credentials, and must not need them.
        preflight = client.options(
            "/v1/models",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
        allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        actual = client.get(
            "/v1/datasets", headers={"Origin": "https://other.example", **bearer(KEY)}
        )
        assert actual.headers["Access-Control-Allow-Origin"] == "https://other.example"
        assert "X-Pagination" in actual.headers["Access-Control-Expose-Headers"]
        stranger = client.get("/v1/datasets", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in stranger.headers
    finally:
        close_app(app)
