"""The OpenAPI document: operation ids, descriptions, media types, problem type pages, lint.

``redocly lint`` and ``spectral lint`` run when the CLIs are installed: ``make
test`` installs Redocly (pinned in ``tools/redocly``) and ``make test-all``
Spectral too (``tools/spectral``), with ``npm ci``, and point
``RELUMAP_NODE_BIN`` (directories, ``:``-separated) at them; elsewhere the CLIs
are looked for on ``PATH``. Where they are missing the tests are skipped with the
reason. Spectral's tests are slow (a 70 MB install, half a minute a run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
PROBLEM = "application/problem+json"


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_a_unique_camel_case_id_and_a_description(
    spec: dict[str, Any],
) -> None:
    operations = _operations(spec)
    assert len(operations) > 25
    ids = [operation.get("operationId") for _, _, operation in operations]
    missing = [f"{m.upper()} {p}" for (p, m, _), i in zip(operations, ids, strict=True) if not i]
    assert not missing, f"operations without operationId: {missing}"
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z]+[A-Z][A-Za-z0-9]*", str(i)) for i in ids), ids
    undescribed = [f"{m.upper()} {p}" for p, m, op in operations if not op.get("description")]
    assert not undescribed, f"operations without description: {undescribed}"
    # Derived from the method and the view, so they stay put from release to release.
    by_route = {(p, m): op["operationId"] for p, m, op in operations}
    assert by_route[("/v1/models/{model_id}/predict", "post")] == "postPredict"
    assert by_route[("/v1/models", "get")] == "getModels"


def test_every_media_type_the_service_speaks_is_documented(spec: dict[str, Any]) -> None:
    documented: set[str] = set()
    for _, _, operation in _operations(spec):
        documented |= set(operation.get("requestBody", {}).get("content", {}))
        for response in operation["responses"].values():
            documented |= set(response.get("content", {}))
    for response in spec["components"]["responses"].values():
        documented |= set(response.get("content", {}))
    expected = {
        "application/json",
        "application/problem+json",
        "application/geo+json",
        "image/png",
        "image/svg+xml",
        "text/csv",
        "application/onnx",
        "multipart/form-data",
        "text/html",
    }
    assert expected <= documented, expected - documented


_PROBLEM_URI = re.compile(r"https?://[^\s\"'<>]+/problems/[a-z-]+")


def _problem_types_in_spec(spec: dict[str, Any]) -> set[str]:
    return set(_PROBLEM_URI.findall(json.dumps(spec)))


def test_problem_types_in_the_spec_resolve(client: FlaskClient, spec: dict[str, Any]) -> None:
    types = _problem_types_in_spec(spec)
    # The schema's example, and one per error response the document uses (422 at least).
    assert {urlsplit(t).path for t in types} >= {
        "/problems/not-found",
        "/problems/unprocessable-entity",
    }
    for uri in types:
        path = urlsplit(uri).path
        page = client.get(path)
        assert page.status_code == 200 and page.mimetype == "text/html", uri
        described = client.get(path, headers={"Accept": "application/json"}).get_json()
        assert described["type"].endswith(path) and described["description"]


def _error_answers(client: FlaskClient) -> dict[int, Any]:
    model = client.post("/v1/networks", json={"coefs": [[[1.0]]], "intercepts": [[0.0]]})
    assert model.status_code == 201, model.get_json()
    return {
        404: client.get(f"/v1/models/{'0' * 32}"),
        405: client.put("/v1/models"),
        415: client.post("/v1/models", data="x", content_type="text/plain"),
        422: client.post("/v1/models", json={"dataset_id": 3}),
        400: client.post("/v1/models", data="{", content_type="application/json"),
    }


def test_problem_documents_name_pages_that_describe_them(client: FlaskClient) -> None:
    for status, response in _error_answers(client).items():
        assert response.status_code == status and response.mimetype == PROBLEM
        uri = response.get_json()["type"]
        # Absolute, on the service that answered.
        assert uri.startswith("http://localhost/problems/"), uri
        page = client.get(urlsplit(uri).path, headers={"Accept": "application/json"})
        assert page.status_code == 200, uri
        described = page.get_json()
        assert described["status"] == status and described["type"] == uri
        assert described["title"] == response.get_json()["title"]
    unknown = client.get("/problems/no-such-problem")
    assert unknown.status_code == 404 and unknown.mimetype == PROBLEM
    assert "not-found" in unknown.get_json()["detail"]


# --- The linters' recommended rules ---------------------------------------------


REPO = Path(__file__).resolve().parents[2]
REDOCLY_CONFIG = REPO / "tools" / "redocly"


def _cli(name: str) -> str:
    directories = os.environ.get("RELUMAP_NODE_BIN")
    found = shutil.which(name, path=directories) if directories else shutil.which(name)
    if found is None:
        where = f"RELUMAP_NODE_BIN={directories}" if directories else "PATH"
        pytest.skip(
            f"{name} is not on {where}: `make test` installs redocly and `make test-all` "
            "spectral too where npm exists (npm ci --prefix tools/redocly, tools/spectral)"
        )
    return found


def _json_documents(text: str) -> list[Any]:
    """Read the JSON documents written one after the other (Redocly writes one per file)."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
    return documents


@pytest.fixture
def spec_file(spec: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec))
    return path


_ABOUT_IDS_OR_DESCRIPTIONS = re.compile(r"operation-?id|description", re.IGNORECASE)


def test_redocly_lint_recommended(spec: dict[str, Any], tmp_path: Path) -> None:
    cli = _cli("redocly")
    # The config and its ignore file (the operations that answer no 4XX, with the
    # reason) are read next to the spec, whose name the ignore file uses.
    for name in ("redocly.yaml", ".redocly.lint-ignore.yaml"):
        shutil.copy(REDOCLY_CONFIG / name, tmp_path / name)
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    # The same spec less the 4XX answers of GET /v1/models/{id}: the rule must catch it.
    stripped = json.loads(json.dumps(spec))
    answers = stripped["paths"]["/v1/models/{model_id}"]["get"]["responses"]
    for status in [s for s in answers if s.startswith("4")]:
        del answers[status]
    (tmp_path / "stripped.json").write_text(json.dumps(stripped))
    result = subprocess.run(
        [cli, "lint", "openapi.json", "stripped.json", "--config", "redocly.yaml"]
        + ["--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
    )
    report, report_stripped = _json_documents(result.stdout)
    # Recommended rules: no error and no warning; only the 7 listed exceptions.
    assert report["problems"] == [], report["problems"]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 7}
    caught = {(p["ruleId"], p["location"][0]["pointer"]) for p in report_stripped["problems"]}
    assert ("operation-4xx-response", "#/paths/~1v1~1models~1{model_id}/get/responses") in caught
    assert not [p for p in caught if _ABOUT_IDS_OR_DESCRIPTIONS.search(p[0])]


@pytest.mark.slow
def test_spectral_lint_recommended(spec_file: Path, tmp_path: Path) -> None:
    cli = _cli("spectral")
    ruleset = tmp_path / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n')
    result = subprocess.run(
        [cli, "lint", str(spec_file), "--ruleset", str(ruleset), "--format", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    findings = json.loads(result.stdout or "[]")
    # Spectral's severities: 0 error, 1 warning, 2 info, 3 hint.
    errors = [f for f in findings if f["severity"] == 0]
    assert not errors, errors
    assert not [f for f in findings if _ABOUT_IDS_OR_DESCRIPTIONS.search(f["code"])]


@pytest.mark.slow
def test_the_spec_with_an_api_key_lints_too(app_factory: Any, tmp_path: Path) -> None:
    cli = _cli("spectral")
    app: Flask = app_factory(API_KEY="s3cret")
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec["security"] == [{"apiKey": []}]
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec))
    ruleset = tmp_path / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n')
    result = subprocess.run(
        [cli, "lint", str(path), "--ruleset", str(ruleset), "--format", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert not [f for f in json.loads(result.stdout or "[]") if f["severity"] == 0]
