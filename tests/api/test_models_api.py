from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

from tests.conftest import close_app, wait_for_model

PROBLEM = "application/problem+json"


def generate(client: FlaskClient, kind: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post("/v1/datasets/generate", json={"kind": kind, **kwargs})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fit(client: FlaskClient, dataset_id: str, **params: Any) -> dict[str, Any]:
    response = client.post("/v1/models?wait=60", json={"dataset_id": dataset_id, **params})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "succeeded", body["error"]
    return body


def predict(client: FlaskClient, model_id: str, X: Any) -> dict[str, Any]:
    response = client.post(f"/v1/models/{model_id}/predict", json={"X": np.asarray(X).tolist()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def dataset_points(client: FlaskClient, dataset_id: str) -> tuple[np.ndarray, list[Any]]:
    body = client.get(f"/v1/datasets/{dataset_id}?include=data").get_json()
    return np.asarray(body["X"]), body["y"]


def test_relu_beats_linear_on_a_parabola_and_identity_does_not(client: FlaskClient) -> None:
    data = generate(client, "square", n_samples=300, noise=0.02)
    relu = fit(client, data["id"], hidden_layer_sizes=[16], activation="relu")
    linear = fit(client, data["id"], hidden_layer_sizes=[16], activation="identity")
    assert relu["baseline"]["model"] == "LinearRegression"
    assert relu["metrics"]["test"]["mse"] < relu["baseline"]["test"]["mse"] / 10
    assert relu["metrics"]["test"]["r2"] > 0.95
    # An identity network is one affine map, no better than the linear model.
    assert linear["metrics"]["test"]["r2"] < 0.1
    assert linear["metrics"]["test"]["mse"] >= 0.9 * linear["baseline"]["test"]["mse"]
    assert relu["equivalent_linear_map"] is None
    assert set(relu["metrics"]["train"]) >= {"mse", "rmse", "mae", "r2", "max_error"}
    assert relu["n_train"] + relu["n_test"] == 300 and relu["n_test"] == 60


def test_equivalent_linear_map_predicts_like_the_network(client: FlaskClient) -> None:
    data = generate(client, "plane", n_samples=100, noise=0.1)
    model = fit(client, data["id"], hidden_layer_sizes=[5, 3], activation="identity")
    G = np.asarray(model["equivalent_linear_map"]["gradient"])
    b = np.asarray(model["equivalent_linear_map"]["intercept"])
    assert G.shape == (1, 2) and b.shape == (1,)
    X = np.random.default_rng(1).uniform(-6, 6, size=(50, 2))
    served = np.asarray(predict(client, model["id"], X)["predictions"])
    np.testing.assert_allclose(served, (X @ G.T + b)[:, 0], rtol=1e-9, atol=1e-9)
    # y = 0.5 x1 - x2 + 1 is affine, so the collapsed map recovers it.
    np.testing.assert_allclose(G[0], [0.5, -1.0], atol=0.05)
    # The deprecated alias is the same map in scikit-learn's layout.
    np.testing.assert_array_equal(np.asarray(model["equivalent_linear_map"]["coef"]), G.T)
    baseline = model["baseline"]
    np.testing.assert_array_equal(np.asarray(baseline["gradient"]), np.asarray(baseline["coef"]).T)
    # One layout everywhere: the same gradient as the single region of /regions.
    regions = client.get(f"/v1/models/{model['id']}/regions").get_json()
    assert regions["n_linear_regions"] == 1
    np.testing.assert_allclose(regions["gradients"][0], G, rtol=1e-12)


def test_folded_scalers_reproduce_an_independent_scikit_learn_fit(client: FlaskClient) -> None:
    data = generate(client, "sine", n_samples=120, noise=0.1, random_state=5)
    model = fit(
        client,
        data["id"],
        hidden_layer_sizes=[8, 8],
        solver="lbfgs",
        max_iter=300,
        random_state=7,
        test_fraction=0.25,
    )
    X, y = dataset_points(client, data["id"])
    y = np.asarray(y)
    weights = client.get(f"/v1/models/{model['id']}/weights").get_json()
    assert [np.shape(c) for c in weights["coefs"]] == [(1, 8), (8, 8), (8, 1)]
    # Independent fit: standardize by hand, same split and seed, no folding.
    test = np.zeros(len(y), dtype=bool)
    _, test_idx = train_test_split(np.arange(len(y)), test_size=0.25, random_state=7)
    test[test_idx] = True
    mu, sigma = X[~test].mean(0), X[~test].std(0)
    m, s = y[~test].mean(), y[~test].std()
    reference = MLPRegressor(
        hidden_layer_sizes=(8, 8),
        solver="lbfgs",
        max_iter=300,
        random_state=7,
        tol=1e-4,
        alpha=1e-4,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit((X[~test] - mu) / sigma, (y[~test] - m) / s)
    grid = np.linspace(-4, 4, 41)[:, None]
    expected = reference.predict((grid - mu) / sigma) * s + m
    served = np.asarray(predict(client, model["id"], grid)["predictions"])
    np.testing.assert_allclose(served, expected, rtol=1e-9, atol=1e-9)
    # And by hand from the exported weights, in the data's own units.
    h = grid
    for W, b in zip(weights["coefs"][:-1], weights["intercepts"][:-1], strict=True):
        h = np.maximum(h @ np.asarray(W) + b, 0)
    by_hand = (h @ np.asarray(weights["coefs"][-1]) + weights["intercepts"][-1])[:, 0]
    np.testing.assert_allclose(served, by_hand, rtol=1e-12)


def test_classifier_keeps_string_labels_and_reports_metrics(client: FlaskClient) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    labels = np.where(X[:, 0] * X[:, 1] > 0, "same", "opposite")
    dataset = client.post("/v1/datasets", json={"X": X.tolist(), "y": labels.tolist()}).get_json()
    model = fit(client, dataset["id"], hidden_layer_sizes=[8, 8])
    assert model["task"] == "classification" and model["classes"] == ["opposite", "same"]
    test = model["metrics"]["test"]
    assert set(test) >= {"accuracy", "log_loss", "f1", "confusion_matrix", "roc_auc"}
    assert test["confusion_matrix"]["labels"] == ["opposite", "same"]
    assert np.sum(test["confusion_matrix"]["matrix"]) == model["n_test"] == 24
    assert model["baseline"]["model"] == "LogisticRegression"
    assert test["accuracy"] > model["baseline"]["test"]["accuracy"]
    points = [[1.5, 1.5], [-1.5, 1.5], [-2.0, -2.0]]
    out = predict(client, model["id"], points)
    assert out["predictions"] == ["same", "opposite", "same"]
    proba = np.asarray(out["probabilities"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert out["classes"] == ["opposite", "same"]


def test_multiclass_softmax(client: FlaskClient) -> None:
    X = [[float(i), float(i % 3)] for i in range(60)]
    y = [["a", "b", "c"][i % 3] for i in range(60)]
    dataset = client.post("/v1/datasets", json={"X": X, "y": y}).get_json()
    model = fit(client, dataset["id"], hidden_layer_sizes=[6])
    assert model["metrics"]["train"]["roc_auc"] is None
    assert len(model["metrics"]["test"]["confusion_matrix"]["matrix"]) == 3
    out = predict(client, model["id"], [[3.0, 0.0], [4.0, 1.0], [5.0, 2.0]])
    assert np.asarray(out["probabilities"]).shape == (3, 3)


def test_fit_is_queued_with_202_and_location(client: FlaskClient) -> None:
    data = generate(client, "abs", n_samples=50)
    response = client.post("/v1/models", json={"dataset_id": data["id"]})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] in ("queued", "running", "succeeded")
    assert response.headers["Location"] == f"/v1/models/{body['id']}"
    finished = wait_for_model(client, body["id"])
    assert finished["status"] == "succeeded"
    assert finished["timings"]["run_seconds"] >= finished["timings"]["fit_seconds"] > 0
    assert finished["params"]["hidden_layer_sizes"] == [16]


def test_convergence_warnings_are_captured_per_model(client: FlaskClient) -> None:
    data = generate(client, "sine", n_samples=80)
    model = fit(client, data["id"], solver="adam", max_iter=3)
    assert model["converged"] is False and model["n_iter"] == 3
    assert [w["category"] for w in model["warnings"]] == ["ConvergenceWarning"]
    assert len(model["loss_curve"]) == 3
    # A second fit at the same code location still reports its own warning.
    again = fit(client, data["id"], solver="adam", max_iter=3)
    assert [w["category"] for w in again["warnings"]] == ["ConvergenceWarning"]


def test_restarts_keep_the_lowest_training_loss(client: FlaskClient) -> None:
    data = generate(client, "sawtooth", n_samples=80)
    model = fit(client, data["id"], hidden_layer_sizes=[4], n_restarts=3, random_state=10)
    losses = [r["loss"] for r in model["restarts"]]
    assert [r["random_state"] for r in model["restarts"]] == [10, 11, 12]
    assert model["loss"] == min(losses)


def test_impossible_split_fails_the_model_with_a_clear_error(client: FlaskClient) -> None:
    dataset = client.post(
        "/v1/datasets", json={"X": [[0.0], [1.0], [2.0], [3.0]], "y": ["a", "b", "a", "b"]}
    ).get_json()
    response = client.post(
        "/v1/models?wait=30", json={"dataset_id": dataset["id"], "test_fraction": 0.25}
    )
    body = response.get_json()
    assert body["status"] == "failed"
    assert "test_fraction" in body["error"]
    conflict = client.post(f"/v1/models/{body['id']}/predict", json={"X": [[0.0]]})
    assert conflict.status_code == 409 and "failed" in conflict.get_json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"hidden_layer_sizes": [8] * 9}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": [600, 600]}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": []}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": [0]}, "hidden_layer_sizes"),
        ({"max_iter": 10**6}, "max_iter"),
        ({"n_restarts": 11}, "n_restarts"),
        ({"activation": "tanh"}, "activation"),
        ({"test_fraction": 0.95}, "test_fraction"),
        ({"alpha": -1}, "alpha"),
    ],
)
def test_fit_parameters_outside_limits_are_422(
    client: FlaskClient, params: dict[str, Any], field: str
) -> None:
    data = generate(client, "abs", n_samples=20)
    response = client.post("/v1/models", json={"dataset_id": data["id"], **params})
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert field in response.get_json()["errors"]
    listing = client.get("/v1/models")
    assert json.loads(listing.headers["X-Pagination"])["total"] == 0


def test_fit_rejects_unknown_dataset_single_class_and_text_regression(client: FlaskClient) -> None:
    assert client.post("/v1/models", json={"dataset_id": "missing"}).status_code == 404
    one = client.post("/v1/datasets", json={"X": [[0], [1]], "y": ["a", "a"]}).get_json()
    single = client.post("/v1/models", json={"dataset_id": one["id"]})
    assert single.status_code == 422 and "single class" in single.get_json()["detail"]
    text = client.post("/v1/datasets", json={"X": [[0], [1]], "y": ["a", "b"]}).get_json()
    regression = client.post("/v1/models", json={"dataset_id": text["id"], "task": "regression"})
    assert regression.status_code == 422
    too_long = client.post("/v1/models?wait=61", json={"dataset_id": text["id"]})
    assert too_long.status_code == 422 and "wait" in too_long.get_json()["errors"]


def test_predict_validates_shapes_and_limits_and_takes_mlflow_inputs(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(MAX_PREDICT_ROWS=5)
    client = app.test_client()
    data = generate(client, "xor", n_samples=60)
    model = fit(client, data["id"], hidden_layer_sizes=[4])
    url = f"/v1/models/{model['id']}/predict"
    wrong = client.post(url, json={"X": [[1.0]]})
    assert wrong.status_code == 422 and "2 feature(s)" in wrong.get_json()["detail"]
    assert client.post(url, json={"X": [[1.0, 2.0]] * 6}).status_code == 413
    assert client.post(url, json={}).status_code == 422
    assert client.post(url, json={"X": [[1, 2]], "inputs": [[1, 2]]}).status_code == 422
    a = client.post(url, json={"inputs": [[1.0, 2.0]]}).get_json()
    b = client.post(
        url, json={"dataframe_split": {"columns": ["x1", "x2"], "data": [[1.0, 2.0]]}}
    ).get_json()
    assert a == b == client.post(url, json={"X": [[1.0, 2.0]]}).get_json()
    assert (
        client.post("/v1/models/" + "0" * 32 + "/predict", json={"X": [[1, 2]]}).status_code == 404
    )


def test_list_filter_and_delete(client: FlaskClient) -> None:
    a = generate(client, "abs", n_samples=20)
    b = generate(client, "sine", n_samples=20)
    first = fit(client, a["id"], hidden_layer_sizes=[2])
    fit(client, b["id"], hidden_layer_sizes=[2])
    listed = client.get(f"/v1/models?dataset_id={a['id']}&status=succeeded")
    assert [m["id"] for m in listed.get_json()] == [first["id"]]
    assert client.get("/v1/models?status=failed").get_json() == []
    assert client.get("/v1/models?status=bogus").status_code == 422
    assert client.delete(f"/v1/models/{first['id']}").status_code == 204
    assert client.get(f"/v1/models/{first['id']}").status_code == 404
    assert client.delete(f"/v1/models/{first['id']}").status_code == 404


def test_unfitted_model_has_no_weights(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(EMBEDDED_WORKER=False)
    client = app.test_client()
    data = generate(client, "abs", n_samples=20)
    queued = client.post("/v1/models", json={"dataset_id": data["id"]}).get_json()
    assert queued["status"] == "queued"
    weights = client.get(f"/v1/models/{queued['id']}/weights")
    assert weights.status_code == 409 and "queued" in weights.get_json()["detail"]


def test_idempotent_fit_creates_one_model(client: FlaskClient) -> None:
    data = generate(client, "abs", n_samples=20)
    headers = {"Idempotency-Key": "fit-abs-1"}
    first = client.post("/v1/models", json={"dataset_id": data["id"]}, headers=headers)
    again = client.post("/v1/models", json={"dataset_id": data["id"]}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert json.loads(client.get("/v1/models").headers["X-Pagination"])["total"] == 1


def test_models_and_datasets_survive_a_restart(app_factory: Callable[..., Flask]) -> None:
    app = app_factory()
    client = app.test_client()
    data = generate(client, "square", n_samples=60)
    model = fit(client, data["id"], hidden_layer_sizes=[6])
    before = predict(client, model["id"], [[0.5], [1.5]])
    close_app(app)
    app = app_factory()
    client = app.test_client()
    assert client.get(f"/v1/datasets/{data['id']}").get_json()["n_samples"] == 60
    assert client.get(f"/v1/models/{model['id']}").get_json()["status"] == "succeeded"
    assert predict(client, model["id"], [[0.5], [1.5]]) == before


def test_baseline_reports_its_linear_map_on_the_training_rows(client: FlaskClient) -> None:
    data = generate(client, "plane", n_samples=80, noise=0.3)
    model = fit(client, data["id"], hidden_layer_sizes=[3])
    X, y = dataset_points(client, data["id"])
    train = np.setdiff1d(np.arange(len(y)), model["test_indices"])
    assert len(model["test_indices"]) == model["n_test"] == 16
    reference = LinearRegression().fit(X[train], np.asarray(y)[train])
    np.testing.assert_allclose(np.ravel(model["baseline"]["coef"]), reference.coef_, rtol=1e-9)
    np.testing.assert_allclose(model["baseline"]["intercept"], [reference.intercept_], rtol=1e-9)


def test_logistic_baseline_map_is_in_the_data_units(client: FlaskClient) -> None:
    data = generate(client, "gauss", n_samples=120, noise=0.1)
    model = fit(client, data["id"], hidden_layer_sizes=[3])
    X, y = dataset_points(client, data["id"])
    train = np.setdiff1d(np.arange(len(y)), model["test_indices"])
    coef, intercept = np.asarray(model["baseline"]["coef"]), model["baseline"]["intercept"]
    assert coef.shape == (2, 1)
    mu, sigma = X[train].mean(0), X[train].std(0)
    reference = LogisticRegression(max_iter=1000).fit((X[train] - mu) / sigma, np.asarray(y)[train])
    grid = np.random.default_rng(2).uniform(-6, 6, size=(30, 2))
    np.testing.assert_allclose(
        (grid @ coef)[:, 0] + intercept[0],
        reference.decision_function((grid - mu) / sigma),
        rtol=1e-7,
        atol=1e-9,
    )


def test_a_network_with_several_outputs_predicts_every_output(client: FlaskClient) -> None:
    document = {"coefs": [[[1.0, -1.0]], [[1.0, 2.0], [1.0, 3.0]]], "intercepts": [[0, 0], [0, 0]]}
    model = client.post("/v1/networks", json=document).get_json()
    out = predict(client, model["id"], [[1.0], [-2.0]])
    assert out["predictions"] == [[1.0, 2.0], [2.0, 6.0]]
