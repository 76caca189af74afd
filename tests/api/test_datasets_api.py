from __future__ import annotations

import io
import json
from collections.abc import Callable

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

PROBLEM = "application/problem+json"


def count_datasets(client: FlaskClient) -> int:
    response = client.get("/v1/datasets")
    return int(json.loads(response.headers["X-Pagination"])["total"])


def test_json_upload_returns_summary_and_location(client: FlaskClient) -> None:
    X = [[-1.0], [0.0], [0.5], [2.0]]
    y = [1.0, 0.0, 0.25, 4.0]
    response = client.post("/v1/datasets", json={"name": "parabola", "X": X, "y": y})
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/v1/datasets/{body['id']}"
    assert body["name"] == "parabola"
    assert (body["n_samples"], body["n_features"], body["task_hint"]) == (4, 1, "regression")
    assert body["bounds"] == {"min": [-1.0], "max": [2.0]}
    assert body["classes"] is None and "X" not in body
    full = client.get(response.headers["Location"] + "?include=data").get_json()
    assert full["X"] == X and full["y"] == y


def test_string_labels_are_kept_as_classes(client: FlaskClient) -> None:
    body = client.post(
        "/v1/datasets",
        json={"X": [[0, 0], [1, 1], [2, 0], [3, 1]], "y": ["cat", "dog", "cat", "dog"]},
    ).get_json()
    assert body["task_hint"] == "classification"
    assert body["classes"] == ["cat", "dog"]
    assert body["n_features"] == 2


def test_csv_body_and_multipart_upload_with_named_target(client: FlaskClient) -> None:
    text = "x1,x2,label\n0,1,a\n1,0,b\n2,2,a\n"
    raw = client.post("/v1/datasets?target=label", data=text, content_type="text/csv").get_json()
    assert (raw["n_samples"], raw["n_features"], raw["classes"]) == (3, 2, ["a", "b"])
    multipart = client.post(
        "/v1/datasets",
        data={"file": (io.BytesIO(b"x,y\n0,0\n1,1\n2,4\n"), "square.csv")},
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 201
    body = multipart.get_json()
    assert body["name"] == "square.csv" and body["task_hint"] == "classification"
    data = client.get(f"/v1/datasets/{body['id']}?include=data").get_json()
    assert data["X"] == [[0.0], [1.0], [2.0]] and data["y"] == [0, 1, 4]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"X": [[1.0] * 65, [1.0] * 65], "y": [1, 2]}, "65 feature columns"),
        ({"X": [[], []], "y": [1, 2]}, "0 feature columns"),
        ({"X": [[1.0]], "y": [1.0]}, "at least 2 samples"),
        ({"X": [[1.0], [2.0, 3.0]], "y": [1, 2]}, "ragged"),
        ({"X": [[1.0], [2.0]], "y": [1.0]}, "y has 1 values"),
        ({"X": [["a"], [2.0]], "y": [1, 2]}, "Not a valid number"),
        ({"X": [[1.0], [2.0]]}, "Missing data"),
        ({"X": [[1.0], [2.0]], "y": [1, "a"]}, "all numbers"),
        ({"X": [[1.0], [2.0]], "y": [1, 2], "colour": "red"}, "Unknown field"),
    ],
)
def test_bad_uploads_are_422_problems_and_store_nothing(
    client: FlaskClient, payload: dict[str, object], fragment: str
) -> None:
    response = client.post("/v1/datasets", json=payload)
    assert response.status_code == 422
    assert response.content_type == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 422 and problem["title"] == "Unprocessable Entity"
    assert fragment in problem["detail"] or fragment in json.dumps(problem["errors"])
    assert count_datasets(client) == 0


@pytest.mark.parametrize(
    "body", [b'{"X": [[NaN], [1.0]], "y": [1, 2]}', b'{"X": [[Infinity], [1]], "y": [1, 2]}']
)
def test_non_finite_values_are_rejected(client: FlaskClient, body: bytes) -> None:
    response = client.post("/v1/datasets", data=body, content_type="application/json")
    assert response.status_code == 422
    assert count_datasets(client) == 0


@pytest.mark.parametrize(
    ("text", "query", "fragment"),
    [
        ("a,b\n1,2\n", "", "no target column 'y'"),
        ("x,y\n1,2\nfoo,3\n", "", "non-numeric feature"),
        ("x,y\n1,2\n3\n", "", "line 3 has 1 cells"),
        ("x,y\nnan,2\n1,3\n", "", "non-finite"),
        ("", "", "empty"),
    ],
)
def test_bad_csv_is_a_422_naming_the_problem(
    client: FlaskClient, text: str, query: str, fragment: str
) -> None:
    response = client.post(f"/v1/datasets{query}", data=text, content_type="text/csv")
    assert response.status_code == 422, response.get_json()
    assert fragment in response.get_json()["detail"]


def test_malformed_json_is_400_and_other_types_415(client: FlaskClient) -> None:
    bad = client.post("/v1/datasets", data=b"{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.content_type == PROBLEM
    wrong = client.post("/v1/datasets", data=b"hello", content_type="text/plain")
    assert wrong.status_code == 415 and "text/plain" in wrong.get_json()["detail"]


def test_sample_and_byte_limits_answer_413(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(MAX_SAMPLES=10, MAX_REQUEST_BYTES=2000, EMBEDDED_WORKER=False)
    client = app.test_client()
    many = client.post("/v1/datasets", json={"X": [[i] for i in range(11)], "y": [0] * 11})
    assert many.status_code == 413 and "limit of 10" in many.get_json()["detail"]
    generated = client.post("/v1/datasets/generate", json={"kind": "sine", "n_samples": 11})
    assert generated.status_code == 413
    huge = client.post("/v1/datasets", data=b"x,y\n" + b"1,2\n" * 1000, content_type="text/csv")
    assert huge.status_code == 413 and huge.content_type == PROBLEM
    assert client.get("/v1").get_json()["limits"]["samples"] == 10
    assert count_datasets(client) == 0


def test_generate_is_deterministic_for_a_random_state(client: FlaskClient) -> None:
    def points(seed: int) -> list[list[float]]:
        body = client.post(
            "/v1/datasets/generate",
            json={"kind": "spiral", "n_samples": 50, "noise": 0.2, "random_state": seed},
        ).get_json()
        assert body["task_hint"] == "classification" and body["classes"] == [0, 1]
        assert body["generator"]["kind"] == "spiral"
        return client.get(f"/v1/datasets/{body['id']}?include=data").get_json()["X"]

    assert points(3) == points(3)
    assert points(3) != points(4)


def test_generated_step_function_stays_a_regression(client: FlaskClient) -> None:
    body = client.post("/v1/datasets/generate", json={"kind": "step", "n_samples": 30}).get_json()
    assert body["task_hint"] == "regression" and body["classes"] is None


@pytest.mark.parametrize(
    "payload",
    [{"kind": "banana"}, {"kind": "sine", "n_samples": 1}, {"kind": "sine", "noise": -1}],
)
def test_generate_rejects_bad_arguments(client: FlaskClient, payload: dict[str, object]) -> None:
    response = client.post("/v1/datasets/generate", json=payload)
    assert response.status_code == 422 and response.content_type == PROBLEM


def test_list_is_paginated_newest_first(client: FlaskClient) -> None:
    ids = [
        client.post("/v1/datasets/generate", json={"kind": "abs", "n_samples": 5}).get_json()["id"]
        for _ in range(3)
    ]
    page = client.get("/v1/datasets?page=1&page_size=2")
    assert json.loads(page.headers["X-Pagination"])["total"] == 3
    assert [d["id"] for d in page.get_json()] == ids[::-1][:2]
    assert [d["id"] for d in client.get("/v1/datasets?page=2&page_size=2").get_json()] == ids[:1]


def test_delete_dataset_and_its_models(client: FlaskClient) -> None:
    dataset = client.post("/v1/datasets/generate", json={"kind": "abs", "n_samples": 20}).get_json()
    model = client.post("/v1/models", json={"dataset_id": dataset["id"]}).get_json()
    conflict = client.delete(f"/v1/datasets/{dataset['id']}")
    assert conflict.status_code == 409 and "cascade" in conflict.get_json()["detail"]
    assert client.delete(f"/v1/datasets/{dataset['id']}?cascade=true").status_code == 204
    assert client.get(f"/v1/datasets/{dataset['id']}").status_code == 404
    assert client.get(f"/v1/models/{model['id']}").status_code == 404
    assert client.delete(f"/v1/datasets/{dataset['id']}").status_code == 404


def test_idempotency_key_returns_the_first_dataset(client: FlaskClient) -> None:
    payload = {"X": [[0.0], [1.0]], "y": [0.0, 1.0]}
    headers = {"Idempotency-Key": "upload-1"}
    first = client.post("/v1/datasets", json=payload, headers=headers)
    again = client.post("/v1/datasets", json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert count_datasets(client) == 1
    other = client.post("/v1/datasets", json={"X": [[0.0], [2.0]], "y": [0, 1]}, headers=headers)
    assert other.status_code == 422 and "different request" in other.get_json()["detail"]


def test_failed_request_releases_its_idempotency_key(client: FlaskClient) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    bad = client.post("/v1/datasets/generate", json={"kind": "nope"}, headers=headers)
    assert bad.status_code == 422
    good = client.post("/v1/datasets/generate", json={"kind": "nope"}, headers=headers)
    assert good.status_code == 422  # ran again rather than replayed a stored failure
    assert np.isclose(count_datasets(client), 0)
