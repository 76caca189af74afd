"""Feature names kept from CSV and JSON, reported everywhere, and prediction by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

PROBLEM = "application/problem+json"


def _csv(X: np.ndarray, y: np.ndarray, names: list[str]) -> str:
    lines = [",".join([*names, "price"])]
    lines += [
        ",".join(f"{v!r}" for v in [*row.tolist(), float(t)]) for row, t in zip(X, y, strict=True)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def named(client: FlaskClient) -> dict[str, Any]:
    """A regressor of three named inputs fitted on a CSV upload."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(120, 3))
    y = X[:, 0] - 2 * np.abs(X[:, 1]) + 0.5 * X[:, 2]
    response = client.post(
        "/v1/datasets?target=price",
        data=_csv(X, y, ["rooms", "area", "age"]),
        content_type="text/csv",
    )
    assert response.status_code == 201, response.get_json()
    dataset = response.get_json()
    model = client.post(
        "/v1/models?wait=60", json={"dataset_id": dataset["id"], "hidden_layer_sizes": [8]}
    ).get_json()
    assert model["status"] == "succeeded", model
    return {"X": X, "dataset": dataset, "model": model, "url": f"/v1/models/{model['id']}"}


def test_csv_header_names_the_features_of_the_data_set_and_its_model(
    client: FlaskClient, named: dict[str, Any]
) -> None:
    names = ["rooms", "area", "age"]
    assert named["dataset"]["feature_names"] == names and named["dataset"]["n_features"] == 3
    fetched = client.get(f"/v1/datasets/{named['dataset']['id']}").get_json()
    assert fetched["feature_names"] == names
    assert named["model"]["feature_names"] == names
    weights = client.get(f"{named['url']}/weights").get_json()
    assert weights["feature_names"] == names and len(weights["coefs"][0]) == 3
    # The linear baseline and the metrics work for three features.
    assert len(named["model"]["baseline"]["coef"]) == 3
    assert named["model"]["metrics"]["train"]["r2"] > 0.5


def test_predict_by_name_in_any_column_order(client: FlaskClient, named: dict[str, Any]) -> None:
    X = named["X"][:5]
    url = f"{named['url']}/predict"
    positional = client.post(url, json={"X": X.tolist()}).get_json()["predictions"]
    reordered = X[:, [2, 0, 1]]
    split = client.post(
        url,
        json={"dataframe_split": {"columns": ["age", "rooms", "area"], "data": reordered.tolist()}},
    ).get_json()["predictions"]
    records = [dict(zip(["age", "rooms", "area"], row, strict=True)) for row in reordered.tolist()]
    by_records = client.post(url, json={"dataframe_records": records}).get_json()["predictions"]
    columns = {"area": X[:, 1].tolist(), "age": X[:, 2].tolist(), "rooms": X[:, 0].tolist()}
    by_dict = client.post(url, json={"inputs": columns}).get_json()["predictions"]
    rows = client.post(url, json={"inputs": X.tolist()}).get_json()["predictions"]
    for other in (split, by_records, by_dict, rows):
        np.testing.assert_allclose(other, positional, rtol=0, atol=0)
    # Taken positionally, the reordered rows would predict something else.
    wrong = client.post(url, json={"X": reordered.tolist()}).get_json()["predictions"]
    assert not np.allclose(wrong, positional)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"dataframe_split": {"columns": ["rooms", "area"], "data": [[1.0, 2.0]]}},
            "missing feature(s) ['age']",
        ),
        (
            {"dataframe_split": {"columns": ["rooms", "area", "size"], "data": [[1, 2, 3]]}},
            "missing feature(s) ['age']; unknown feature(s) ['size']",
        ),
        (
            {"dataframe_records": [{"rooms": 1, "area": 2, "agee": 3}]},
            "unknown feature(s) ['agee']",
        ),
        ({"inputs": {"rooms": [1.0], "area": [2.0]}}, "missing feature(s) ['age']"),
        ({"inputs": {"rooms": [1.0, 2.0], "area": [2.0], "age": [3.0]}}, "different lengths"),
        ({"dataframe_records": [{"rooms": 1, "area": 2, "age": "old"}]}, "finite number"),
    ],
)
def test_missing_or_unknown_names_are_422_listing_them(
    client: FlaskClient, named: dict[str, Any], body: dict[str, Any], fragment: str
) -> None:
    response = client.post(f"{named['url']}/predict", json=body)
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert fragment in response.get_json()["detail"]


def test_json_feature_names_and_their_checks(client: FlaskClient) -> None:
    X, y = [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [0.5, 1.5, 2.0]
    ok = client.post("/v1/datasets", json={"X": X, "y": y, "feature_names": ["u", "v"]})
    assert ok.status_code == 201 and ok.get_json()["feature_names"] == ["u", "v"]
    for names, fragment in ((["u"], "1 feature names"), (["u", "u"], "repeat"), (["u", ""], "")):
        response = client.post("/v1/datasets", json={"X": X, "y": y, "feature_names": names})
        assert response.status_code == 422 and fragment in response.get_json()["detail"]
        assert "feature_names" in response.get_json()["errors"]
    unnamed = client.post("/v1/datasets", json={"X": X, "y": y}).get_json()
    assert unnamed["feature_names"] == ["x1", "x2"]
    one = client.post("/v1/datasets", json={"X": [[0.0], [1.0]], "y": [0.0, 1.0]}).get_json()
    assert one["feature_names"] == ["x"]


def test_unnamed_models_keep_predicting_by_position(client: FlaskClient) -> None:
    data = client.post("/v1/datasets/generate", json={"kind": "plane", "n_samples": 60}).get_json()
    assert data["feature_names"] == ["x1", "x2"]
    model = client.post(
        "/v1/models?wait=60", json={"dataset_id": data["id"], "hidden_layer_sizes": [4]}
    ).get_json()
    url = f"/v1/models/{model['id']}/predict"
    X = [[0.5, -1.0], [2.0, 1.0]]
    positional = client.post(url, json={"X": X}).get_json()["predictions"]
    # No names were given with the data, so a frame's columns are taken in order.
    split = {"dataframe_split": {"columns": ["a", "b"], "data": X}}
    assert client.post(url, json=split).get_json()["predictions"] == positional
    assert model["feature_names"] == ["x1", "x2"]


def test_the_feature_limit_is_configurable_and_reported(
    app_factory: Callable[..., Flask],
) -> None:
    client = app_factory(MAX_FEATURES=3).test_client()
    assert client.get("/v1").get_json()["limits"]["features"] == 3
    too_wide = client.post("/v1/datasets", json={"X": [[1.0] * 4] * 2, "y": [0.0, 1.0]})
    assert too_wide.status_code == 422 and "RELUMAP_MAX_FEATURES" in too_wide.get_json()["detail"]
    network = {"coefs": [[[1.0]] * 4, [[1.0]]], "intercepts": [[0.0], [0.0]]}
    response = client.post("/v1/networks", json=network)
    assert response.status_code == 422 and "at most 3" in response.get_json()["detail"]


def test_csv_names_are_kept_with_the_points_and_must_be_distinct(client: FlaskClient) -> None:
    text = "width,depth,y\n1,2,3\n4,5,6\n"
    dataset = client.post("/v1/datasets", data=text, content_type="text/csv").get_json()
    full = client.get(f"/v1/datasets/{dataset['id']}?include=data").get_json()
    assert full["feature_names"] == ["width", "depth"] and full["X"] == [[1.0, 2.0], [4.0, 5.0]]
    repeated = client.post("/v1/datasets", data="a,a,y\n1,2,3\n4,5,6\n", content_type="text/csv")
    assert repeated.status_code == 422 and "['a'] repeat" in repeated.get_json()["detail"]
