"""Hostile and odd input over HTTP: every one is a problem+json naming its field, nothing stored.

Each case checks the status, the media type, that the answer names the field
or limit at fault, and that the data set and model lists did not change.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from relumap_service.api.inputs import json_depth

PROBLEM = "application/problem+json"
LIMIT = 4000
ONE_INPUT = {"coefs": [[[1.0, -1.0]], [[1.0], [1.0]]], "intercepts": [[0.0, 0.0], [0.0]]}
TWO_INPUTS = {"coefs": [[[1.0], [1.0]], [[1.0]]], "intercepts": [[0.0], [0.0]]}


def stored(client: FlaskClient) -> tuple[list[str], list[str]]:
    """The ids of every data set and model, to show that a refused request stored nothing."""
    datasets = client.get("/v1/datasets?page_size=100")
    models = client.get("/v1/models?page_size=100")
    assert datasets.status_code == models.status_code == 200
    return [d["id"] for d in datasets.get_json()], [m["id"] for m in models.get_json()]


def assert_problem(response: Any, status: int, *names: str) -> dict[str, Any]:
    """Check a problem document and that its detail or field errors name each of ``names``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = json.loads(response.get_data())
    assert body["status"] == status
    said = body["detail"] + " " + " ".join(body.get("errors", {}))
    for name in names:
        assert name in said, (name, body)
    return body


@contextmanager
def served(app: Flask) -> Iterator[int]:
    """Serve ``app`` with Werkzeug's HTTP server (which de-chunks bodies) on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Joined on close: a request thread may still be returning its database
    # connection after the answer was sent, and must finish before the app closes.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def send_chunked(port: int, path: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
    """POST ``body`` with ``Transfer-Encoding: chunked`` and no Content-Length."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        pieces = (body[i : i + 500] for i in range(0, len(body), 500))
        connection.request(
            "POST", path, body=pieces, headers={"Content-Type": content_type}, encode_chunked=True
        )
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def csv_rows(n: int) -> bytes:
    return ("x,y\n" + "".join(f"{i / n:.6f},{i % 2}\n" for i in range(n))).encode()


@pytest.fixture
def small_app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(MAX_REQUEST_BYTES=LIMIT)


def test_a_chunked_csv_within_the_limit_is_stored_whole(small_app: Flask) -> None:
    body = csv_rows(100)
    assert len(body) < LIMIT
    with served(small_app) as port:
        status, _, answer = send_chunked(port, "/v1/datasets", "text/csv", body)
    assert status == 201, answer
    assert json.loads(answer)["n_samples"] == 100


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", csv_rows(1000)),
        ("application/json", json.dumps({"X": [[i] for i in range(2000)], "y": [0, 1] * 1000})),
    ],
    ids=["csv", "json"],
)
def test_a_chunked_body_over_the_limit_is_413_naming_the_limit(
    small_app: Flask, content_type: str, body: Any
) -> None:
    body = body if isinstance(body, bytes) else body.encode()
    assert len(body) > LIMIT
    client = small_app.test_client()
    before = stored(client)
    with served(small_app) as port:
        status, media_type, answer = send_chunked(port, "/v1/datasets", content_type, body)
    assert (status, media_type) == (413, PROBLEM), answer
    assert f"RELUMAP_MAX_REQUEST_BYTES={LIMIT}" in json.loads(answer)["detail"]
    assert stored(client) == before


def test_a_body_just_over_the_limit_without_length_is_413(small_app: Flask) -> None:
    # Through the test client: a body without Content-Length, ended by the server.
    client = small_app.test_client()
    before = stored(client)
    body = csv_rows(1000)[: LIMIT + 1]
    response = client.post(
        "/v1/datasets",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "text/csv", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_problem(response, 413, f"RELUMAP_MAX_REQUEST_BYTES={LIMIT}")
    assert stored(client) == before


def test_a_declared_length_over_the_limit_is_413_naming_the_limit(small_app: Flask) -> None:
    client = small_app.test_client()
    before = stored(client)
    response = client.post("/v1/datasets", data=csv_rows(1000), content_type="text/csv")
    assert_problem(response, 413, f"RELUMAP_MAX_REQUEST_BYTES={LIMIT}")
    assert stored(client) == before


@pytest.mark.parametrize("path", ["/v1/datasets", "/v1/networks", "/v1/datasets/generate"])
def test_json_nested_3000_deep_is_400_naming_the_nesting_limit(
    client: FlaskClient, path: str
) -> None:
    before = stored(client)
    response = client.post(path, data="[" * 3000 + "]" * 3000, content_type="application/json")
    assert_problem(response, 400, "3000 levels", "at most 32")
    assert stored(client) == before


def test_brackets_inside_strings_do_not_count_as_nesting(client: FlaskClient) -> None:
    name = "[{" * 100
    response = client.post("/v1/datasets", json={"name": name, "X": [[0], [1]], "y": ["a", "b"]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == name


def csv_upload(filename: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        # The file as bytes: each run of a case opens its own stream.
        "data": {"file": (b"x,y\n0,1\n1,2\n", filename), **(extra or {})},
        "content_type": "multipart/form-data",
    }


HOSTILE_UPLOADS = {
    "surrogate name": ({"json": {"name": "\ud800", "X": [[0], [1]], "y": [0, 1]}}, "name"),
    "surrogate label": ({"json": {"X": [[0], [1]], "y": ["a", "\udfff"]}}, "y"),
    "NUL in name": ({"json": {"name": "a\u0000b", "X": [[0], [1]], "y": [0, 1]}}, "name"),
    "NUL in label": ({"json": {"X": [[0], [1]], "y": ["a\u0000", "b"]}}, "y"),
    "strings and booleans": ({"json": {"X": [[0], [1]], "y": ["a", True]}}, "y"),
    "numbers and booleans": ({"json": {"X": [[0], [1]], "y": [1, True]}}, "y"),
    "NaN label": ({"data": '{"X": [[0], [1]], "y": [NaN, 1]}'}, "y"),
    "infinite label": ({"data": '{"X": [[0], [1]], "y": [1e999, 1]}'}, "y"),
    "huge integer label": ({"data": '{"X": [[0], [1]], "y": [1' + "0" * 400 + ", 1]}"}, "y"),
    "name of 201 characters": ({"json": {"name": "n" * 201, "X": [[0], [1]], "y": [0, 1]}}, "name"),
    "file name of 300 characters": (csv_upload("f" * 296 + ".csv"), "file"),
    "form field name of 300 characters": (csv_upload("a.csv", {"g" * 300: "1"}), "g" * 200),
    "NUL in form name": (csv_upload("a.csv", {"name": "a\u0000"}), "name"),
    "NUL in a CSV label": (
        {"data": b"x,y\n0,a\x00b\n1,c\n", "content_type": "text/csv"},
        "y",
    ),
    "NUL in a CSV column name": (
        {"data": b"x\x00,y\n0,1\n1,2\n", "content_type": "text/csv"},
        "feature_names",
    ),
    "NUL in the target query": (
        {"data": b"x,y\n0,1\n1,2\n", "content_type": "text/csv", "query_string": "target=y%00"},
        "target",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_UPLOADS, ids=list(HOSTILE_UPLOADS))
def test_unstorable_data_sets_are_422_naming_the_field(client: FlaskClient, case: str) -> None:
    request, field = HOSTILE_UPLOADS[case]
    if isinstance(request.get("data"), dict):
        files = request["data"].items()
        request = {
            **request,
            "data": {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in files},
        }
    if "data" in request and "content_type" not in request:
        request = {**request, "content_type": "application/json"}
    before = stored(client)
    response = client.post("/v1/datasets", **request)
    assert_problem(response, 422, field)
    assert stored(client) == before
    # The service still lists, fetches and maps what it holds.
    assert client.get("/v1/datasets").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [("dataset_id=a%00b", "dataset_id"), ("dataset_id=" + "a" * 300, "dataset_id")],
    ids=["NUL", "300 characters"],
)
def test_unstorable_query_texts_are_422(client: FlaskClient, query: str, field: str) -> None:
    assert_problem(client.get(f"/v1/models?{query}"), 422, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            '{"coefs": [[[1.0]]], "intercepts": [[0.0]], "output_activation": "logistic", '
            '"classes": [NaN, 1]}',
            "classes",
        ),
        (
            '{"coefs": [[[1.0]]], "intercepts": [[0.0]], "output_activation": "logistic", '
            '"classes": [1e999, 1]}',
            "classes",
        ),
        (
            '{"coefs": [[[1.0]]], "intercepts": [[0.0]], "output_activation": "logistic", '
            '"classes": ["yes", true]}',
            "classes",
        ),
        (
            '{"coefs": [[[1.0]]], "intercepts": [[0.0]], "output_activation": "logistic", '
            '"classes": ["\\ud800", "b"]}',
            "classes",
        ),
        ('{"coefs": [[[NaN]]], "intercepts": [[0.0]]}', "coefs"),
        ('{"coefs": [[[1.0]]], "intercepts": [[0.0]], "name": "a\\u0000"}', "name"),
    ],
    ids=["NaN class", "infinite class", "mixed classes", "surrogate class", "NaN weight", "NUL"],
)
def test_unstorable_networks_are_422_naming_the_field(
    client: FlaskClient, body: str, field: str
) -> None:
    before = stored(client)
    response = client.post("/v1/networks", data=body, content_type="application/json")
    assert_problem(response, 422, field)
    assert stored(client) == before


def test_a_prediction_that_overflows_float64_is_422_naming_the_row(client: FlaskClient) -> None:
    network = {"coefs": [[[4.0]], [[4.0]]], "intercepts": [[0.0], [0.0]]}
    model = client.post("/v1/networks", json=network).get_json()
    response = client.post(f"/v1/models/{model['id']}/predict", json={"X": [[1.0], [1e308], [2.0]]})
    body = assert_problem(response, 422, "row 1", "overflows float64")
    assert body["errors"] == {"X": {"1": [body["detail"]]}}
    # 4 * 4 * 1e307 = 1.6e308 is still a float64: answered exactly.
    ok = client.post(f"/v1/models/{model['id']}/predict", json={"X": [[1e307]]})
    assert ok.status_code == 200
    assert ok.get_json()["predictions"] == [pytest.approx(1.6e308)]


def test_a_classifier_whose_logits_overflow_is_422(client: FlaskClient) -> None:
    network = {
        "coefs": [[[4.0]], [[4.0, -4.0]]],
        "intercepts": [[0.0], [0.0, 0.0]],
        "output_activation": "softmax",
    }
    model = client.post("/v1/networks", json=network).get_json()
    response = client.post(f"/v1/models/{model['id']}/predict", json={"X": [[1e308]]})
    assert_problem(response, 422, "row 0", "class probabilities")


@pytest.fixture
def models(client: FlaskClient) -> dict[str, str]:
    one = client.post("/v1/networks", json=ONE_INPUT).get_json()["id"]
    two = client.post("/v1/networks", json=TWO_INPUTS).get_json()["id"]
    return {"one": one, "two": two}


@pytest.mark.parametrize(
    ("path", "unknown", "suggestion"),
    [
        ("/v1/models/{one}/knots?low=-1", "low", "did you mean 'lo'?"),
        ("/v1/models/{two}/regions?xmin=1", "xmin", "did you mean 'x_min'?"),
        ("/v1/models?pagesize=3", "pagesize", "did you mean 'page_size'?"),
        ("/v1/models/{one}?verbose=1", "verbose", "known: wait"),
    ],
)
def test_unknown_query_parameters_are_422_with_a_suggestion(
    client: FlaskClient, models: dict[str, str], path: str, unknown: str, suggestion: str
) -> None:
    response = client.get(path.format(**models))
    body = assert_problem(response, 422, unknown, suggestion)
    assert list(body["errors"]) == [unknown]


def test_known_query_parameters_of_two_schemas_still_work(
    client: FlaskClient, models: dict[str, str]
) -> None:
    # Filters and pagination are two schemas on one view: both names are known.
    response = client.get("/v1/models?status=succeeded&page=1&page_size=1")
    assert response.status_code == 200
    assert len(response.get_json()) == 1
    knots = client.get(f"/v1/models/{models['one']}/knots?lo=-1&hi=1")
    assert knots.status_code == 200
    assert knots.get_json()["knots"] == [0.0]


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/v1/models/xyz", "no model with id 'xyz'"),
        ("/v1/models/XYZ/knots", "no model with id 'XYZ'"),
        ("/v1/datasets/0123", "no dataset with id '0123'"),
    ],
)
def test_a_malformed_id_is_the_same_helpful_404_as_an_unknown_one(
    client: FlaskClient, path: str, said: str
) -> None:
    body = assert_problem(client.get(path), 404, said)
    unknown = client.get(path.replace(path.split("/")[3], "0" * 32))
    assert unknown.status_code == 404
    collection = "/".join(path.split("/")[:3])
    assert f"GET {collection}" in body["detail"]
    assert f"GET {collection}" in unknown.get_json()["detail"]


def test_an_unknown_path_is_still_a_plain_404(client: FlaskClient) -> None:
    body = assert_problem(client.get("/v1/nothing/here"), 404)
    assert "no " not in body["detail"].split(" id ")[0]


def inline_script_hashes(html: bytes) -> set[str]:
    scripts = re.findall(rb"<script>(.*?)</script>", html, re.DOTALL)
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'" for s in scripts
    }


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_html_pages_send_security_headers(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:
        html = response.get_data()
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = dict(
        (part.split()[0], part.split()[1:])
        for part in headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    # Each inline script of the page (Swagger UI's start-up) is allowed by its hash.
    assert inline_script_hashes(html) <= set(policy["script-src"])


def test_api_answers_say_nosniff(client: FlaskClient) -> None:
    for response in (client.get("/v1"), client.get("/v1/models/xyz")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_invented_http_methods_count_as_other_in_the_metrics(client: FlaskClient) -> None:
    for method in ("BREW", "WHEN", "X" * 50):
        response = client.open("/v1/datasets", method=method)
        assert response.status_code == 405
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'method="other"' in metrics
    for method in ("BREW", "WHEN", "X" * 50):
        assert f'method="{method}"' not in metrics


def test_learning_rate_init_is_documented_with_the_exclusive_minimum_it_checks(
    client: FlaskClient,
) -> None:
    spec = client.get("/openapi.json").get_json()
    rate = spec["components"]["schemas"]["Fit"]["properties"]["learning_rate_init"]
    assert rate["exclusiveMinimum"] == 0 and "minimum" not in rate
    slope = spec["components"]["schemas"]["NetworkIn"]["properties"]["negative_slope"]
    assert slope["exclusiveMaximum"] == 1 and "maximum" not in slope
    data = client.post("/v1/datasets/generate", json={"kind": "moons", "n_samples": 20}).get_json()
    refused = client.post("/v1/models", json={"dataset_id": data["id"], "learning_rate_init": 0})
    assert_problem(refused, 422, "learning_rate_init")


def test_integers_written_as_whole_floats_are_accepted(client: FlaskClient) -> None:
    data = client.post(
        "/v1/datasets/generate", json={"kind": "moons", "n_samples": 30.0, "random_state": 2.0}
    )
    assert data.status_code == 201, data.get_json()
    assert data.get_json()["n_samples"] == 30
    fit = client.post(
        "/v1/models",
        json={"dataset_id": data.get_json()["id"], "max_iter": 20.0, "hidden_layer_sizes": [3.0]},
    )
    assert fit.status_code == 202, fit.get_json()
    params = fit.get_json()["params"]
    assert params["max_iter"] == 20 and isinstance(params["max_iter"], int)
    assert params["hidden_layer_sizes"] == [3]


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"max_iter": 1.5}, "max_iter"), ({"hidden_layer_sizes": [8, 2.5]}, "hidden_layer_sizes")],
)
def test_fractional_integers_are_422(
    client: FlaskClient, fields: dict[str, Any], field: str
) -> None:
    data = client.post("/v1/datasets/generate", json={"kind": "moons", "n_samples": 20}).get_json()
    before = stored(client)
    response = client.post("/v1/models", json={"dataset_id": data["id"], **fields})
    body = assert_problem(response, 422, field)
    assert "whole number" in body["detail"]
    assert stored(client) == before


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b'{"a": [[1], "]]]"]}', 3),
        (b"[" * 40 + b"]" * 40, 40),
        (b'[["' + b"[" * 40 + b'"]]', 2),
        (b'[["\\"' + b"[" * 40 + b'"]]', 2),
        (b'[["\\\\", ' + b"[" * 40 + b"]" * 42, 42),
        (b"[{}" + b",{}" * 40 + b"]", 2),
    ],
    ids=["small", "deep", "brackets in a string", "escaped quote", "escaped backslash", "wide"],
)
def test_json_depth_counts_as_the_parser_nests(text: bytes, depth: int) -> None:
    # Independent count: the parsed value's nesting.
    def nesting(value: Any) -> int:
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            return 1 + max((nesting(child) for child in children), default=0)
        return 0

    assert nesting(json.loads(text)) == depth
    assert json_depth(text) == depth
