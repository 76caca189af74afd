"""Training snapshots, per-unit maps and stop reasons over HTTP.

Snapshots are checked against independent computations: the training loss
recomputed from each snapshot's weights with numpy (scikit-learn's objective,
in standardized units), scikit-learn's own fit of the same data, and a numpy
forward pass at interior points of the pieces and regions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sklearn.neural_network import MLPRegressor

PROBLEM = "application/problem+json"


def generated(client: FlaskClient, kind: str, n_samples: int = 60) -> dict[str, Any]:
    body = {"kind": kind, "n_samples": n_samples, "noise": 0.05, "random_state": 3}
    response = client.post("/v1/datasets/generate", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fit(client: FlaskClient, dataset_id: str, **params: Any) -> dict[str, Any]:
    response = client.post("/v1/models?wait=60", json={"dataset_id": dataset_id, **params})
    assert response.status_code == 201, response.get_json()
    model = response.get_json()
    assert model["status"] == "succeeded", model["error"]
    return model


def weights_of(client: FlaskClient, model_id: str, snapshot: int | None = None) -> Any:
    query = "" if snapshot is None else f"?snapshot={snapshot}"
    response = client.get(f"/v1/models/{model_id}/weights{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [np.asarray(w) for w in body["coefs"]], [np.asarray(b) for b in body["intercepts"]]


def training_part(client: FlaskClient, dataset_id: str, model: dict[str, Any]) -> Any:
    data = client.get(f"/v1/datasets/{dataset_id}?include=data").get_json()
    X, y = np.asarray(data["X"], dtype=float), np.asarray(data["y"], dtype=float)
    keep = np.ones(len(X), dtype=bool)
    keep[model["test_indices"]] = False
    return X[keep], y[keep]


def standardized_loss(
    coefs: list[Any], intercepts: list[Any], X: Any, y: Any, alpha: float
) -> float:
    """scikit-learn's squared-error objective of a ReLU regressor, in standardized units.

    The service reports weights in the data's units (scalers folded in); the
    solver saw x_s = (x - mu) / sigma and y_s = (y - m) / s, so its first
    layer is W * sigma and its last W / s.
    """
    sigma = X.std(axis=0)
    m, s = y.mean(), y.std()
    h = X
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        h = np.maximum(h @ W + b, 0.0)
    out = (h @ coefs[-1] + intercepts[-1])[:, 0]
    solver_weights = [w.copy() for w in coefs]
    solver_weights[0] = solver_weights[0] * sigma[:, None]
    solver_weights[-1] = solver_weights[-1] / s
    residual = (y - m) / s - (out - m) / s
    penalty = sum(float((w**2).sum()) for w in solver_weights)
    return 0.5 * float(np.mean(residual**2)) + 0.5 * alpha * penalty / len(X)


def test_lbfgs_snapshots_are_the_solvers_iterates(client: FlaskClient) -> None:
    data = generated(client, "square")
    params = {"hidden_layer_sizes": [6], "solver": "lbfgs", "snapshots": 6, "max_iter": 200}
    model = fit(client, data["id"], **params)
    listed = client.get(f"/v1/models/{model['id']}/snapshots").get_json()["snapshots"]
    assert model["n_snapshots"] == len(listed) == 6
    assert [s["index"] for s in listed] == list(range(6))
    iterations = [s["iteration"] for s in listed]
    assert iterations[0] == 1 and iterations[-1] == model["n_iter"]
    assert iterations == sorted(set(iterations))
    assert model["stop_reason"].startswith(("CONVERGENCE", "ABNORMAL", "STOP"))
    # The last snapshot is the stored model, bit for bit.
    last, stored = weights_of(client, model["id"], 5), weights_of(client, model["id"])
    for a, b in zip([*last[0], *last[1]], [*stored[0], *stored[1]], strict=True):
        np.testing.assert_array_equal(a, b)

    X, y = training_part(client, data["id"], model)
    losses = []
    for entry in listed:
        coefs, intercepts = weights_of(client, model["id"], entry["index"])
        loss = standardized_loss(coefs, intercepts, X, y, alpha=1e-4)
        np.testing.assert_allclose(entry["loss"], loss, rtol=1e-8)
        # lbfgs's loss curve is its objective at every iterate.
        np.testing.assert_allclose(model["loss_curve"][entry["iteration"] - 1], loss, rtol=1e-8)
        losses.append(loss)
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))  # Wolfe line search

    # scikit-learn's own fit of the same standardized data ends at the same iterate.
    mu, sigma, m, s = X.mean(axis=0), X.std(axis=0), y.mean(), y.std()
    plain = MLPRegressor(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=200, random_state=0)
    plain.fit((X - mu) / sigma, (y - m) / s)
    assert plain.n_iter_ == model["n_iter"]
    np.testing.assert_allclose(plain.loss_, listed[-1]["loss"], rtol=1e-12)
    np.testing.assert_allclose(plain.coefs_[1] * s, stored[0][1], rtol=1e-12)


@pytest.mark.slow
def test_full_batch_adam_snapshots_match_the_next_epochs_loss(client: FlaskClient) -> None:
    data = generated(client, "square")
    params = {"hidden_layer_sizes": [5], "solver": "adam", "learning_rate_init": 0.01}
    model = fit(client, data["id"], **params, snapshots=5, max_iter=40, batch_size=1000)
    assert model["stop_reason"] == "max_iter reached" and model["n_iter"] == 40
    listed = client.get(f"/v1/models/{model['id']}/snapshots").get_json()["snapshots"]
    assert [s["iteration"] for s in listed] == [1, 3, 6, 16, 40]
    X, y = training_part(client, data["id"], model)
    for entry in listed:
        loss = standardized_loss(*weights_of(client, model["id"], entry["index"]), X, y, 1e-4)
        np.testing.assert_allclose(entry["loss"], loss, rtol=1e-8)
        if entry["iteration"] < model["n_iter"]:
            # With one batch, epoch k + 1 starts with its loss at the weights after epoch k.
            np.testing.assert_allclose(model["loss_curve"][entry["iteration"]], loss, rtol=1e-8)
    # Snapshots do not change the fit: the same run without them ends the same.
    plain = fit(client, data["id"], **params, snapshots=0, max_iter=40, batch_size=1000)
    assert plain["loss_curve"] == model["loss_curve"]
    assert plain["n_snapshots"] == 0
    assert client.get(f"/v1/models/{plain['id']}/snapshots").get_json()["snapshots"] == []


def forward_layers(coefs: list[Any], intercepts: list[Any], X: Any) -> list[Any]:
    """Pre-activations of every hidden layer at the rows of X."""
    pre, h = [], X
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        z = h @ W + b
        pre.append(z)
        h = np.maximum(z, 0.0)
    return pre


def test_units_and_contributions_add_up_on_every_piece(client: FlaskClient) -> None:
    data = generated(client, "square")
    model = fit(client, data["id"], hidden_layer_sizes=[5, 4], snapshots=3)
    for snapshot in (0, 2):
        url = f"/v1/models/{model['id']}/knots?include=units&snapshot={snapshot}"
        knots = client.get(url).get_json()
        coefs, intercepts = weights_of(client, model["id"], snapshot)
        n = knots["n_pieces"]
        assert len(knots["units"]) == len(knots["contributions"]) == n
        grad = np.asarray([c["gradient"] for c in knots["contributions"]])  # (n, out, units)
        icpt = np.asarray([c["intercept"] for c in knots["contributions"]])
        np.testing.assert_allclose(grad.sum(axis=2), knots["slopes"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            icpt.sum(axis=2) + knots["output_bias"], knots["intercepts"], rtol=0, atol=1e-9
        )
        # Each unit's activation map is the forward pass at the piece's midpoint.
        mid = (np.asarray(knots["piece_lo"]) + np.asarray(knots["piece_hi"])) / 2
        pre = forward_layers(coefs, intercepts, mid[:, None])
        for layer, z in enumerate(pre):
            g = np.asarray([piece[layer]["gradient"] for piece in knots["units"]])
            c = np.asarray([piece[layer]["intercept"] for piece in knots["units"]])
            assert g.shape == (n, z.shape[1], 1)
            np.testing.assert_allclose(g[:, :, 0] * mid[:, None] + c, np.maximum(z, 0), atol=1e-9)
        w_last = coefs[-1][:, 0]
        last = np.maximum(pre[-1], 0.0)
        np.testing.assert_allclose(
            grad[:, 0, :] * mid[:, None] + icpt[:, 0, :], w_last * last, atol=1e-9
        )


@pytest.mark.slow
def test_region_units_are_pre_activations_at_interior_points(client: FlaskClient) -> None:
    data = generated(client, "xor", n_samples=80)
    model = fit(client, data["id"], hidden_layer_sizes=[4, 3], snapshots=2)
    regions = client.get(f"/v1/models/{model['id']}/regions?include=units&snapshot=0").get_json()
    coefs, intercepts = weights_of(client, model["id"], 0)
    points = np.asarray(regions["interior_points"])
    pre = forward_layers(coefs, intercepts, points)
    for layer, z in enumerate(pre):
        g = np.asarray([region[layer]["gradient"] for region in regions["units"]])
        c = np.asarray([region[layer]["intercept"] for region in regions["units"]])
        assert g.shape == (len(points), z.shape[1], 2)
        np.testing.assert_allclose(np.einsum("rui,ri->ru", g, points) + c, z, atol=1e-9)
    listed = client.get(f"/v1/models/{model['id']}/snapshots").get_json()["snapshots"]
    assert listed[0]["n_regions"] == regions["n_regions"] and "n_pieces" not in listed[0]


def test_bad_snapshot_requests_are_problems(app: Flask, client: FlaskClient) -> None:
    data = generated(client, "square", n_samples=30)
    model = fit(client, data["id"], hidden_layer_sizes=[3], snapshots=2, max_iter=50)
    for path in ("knots", "weights", "plot.svg"):
        response = client.get(f"/v1/models/{model['id']}/{path}?snapshot=2")
        assert response.status_code == 422 and response.mimetype == PROBLEM
        assert "0 to 1" in response.get_json()["detail"]
    huge = client.get(f"/v1/models/{model['id']}/regions?snapshot={2**70}")
    assert huge.status_code == 422
    limits = client.get("/v1").get_json()["limits"]
    too_many = client.post(
        "/v1/models", json={"dataset_id": data["id"], "snapshots": limits["snapshots"] + 1}
    )
    assert too_many.status_code == 422
    for batch_size in (0, "big", True, 1.5):
        response = client.post(
            "/v1/models", json={"dataset_id": data["id"], "batch_size": batch_size}
        )
        assert response.status_code == 422, batch_size
    missing = client.get("/v1/models/" + "0" * 32 + "/snapshots")
    assert missing.status_code == 404
    # Deleted with the model.
    store = app.extensions["relumap"].store
    assert len(store.list_snapshots(model["id"])) == 2
    assert client.delete(f"/v1/models/{model['id']}").status_code == 204
    assert store.list_snapshots(model["id"]) == []


@pytest.mark.slow
def test_snapshot_pictures_differ_from_the_model(client: FlaskClient) -> None:
    data = generated(client, "square", n_samples=30)
    model = fit(client, data["id"], hidden_layer_sizes=[4], snapshots=2)
    first = client.get(f"/v1/models/{model['id']}/plot.svg?snapshot=0")
    final = client.get(f"/v1/models/{model['id']}/plot.svg")
    assert first.status_code == final.status_code == 200
    assert first.headers["ETag"] != final.headers["ETag"]
    assert b"training snapshot 0" in first.get_data()


@pytest.mark.slow
def test_lbfgs_stop_reason_is_scipys(client: FlaskClient) -> None:
    data = generated(client, "square", n_samples=30)
    model = fit(client, data["id"], hidden_layer_sizes=[4], max_iter=3)
    assert model["stop_reason"] == "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
    assert not model["converged"] and len(model["loss_curve"]) == 3


@pytest.mark.slow
@pytest.mark.parametrize("cascade", [False, True])
def test_snapshots_are_deleted_with_their_model(
    app: Flask, client: FlaskClient, cascade: bool
) -> None:
    data = generated(client, "square", n_samples=30)
    model = fit(client, data["id"], hidden_layer_sizes=[3], snapshots=3, max_iter=30)
    store = app.extensions["relumap"].store
    assert len(store.list_snapshots(model["id"])) == 3
    if cascade:
        response = client.delete(f"/v1/datasets/{data['id']}?cascade=true")
    else:
        response = client.delete(f"/v1/models/{model['id']}")
    assert response.status_code == 204
    assert store.list_snapshots(model["id"]) == []
