"""ONNX over the API: exports run in onnxruntime as `/predict` answers; imports as their source."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import onnx
import pytest
from flask.testing import FlaskClient
from sklearn.neural_network import MLPClassifier, MLPRegressor

from relumap_service.core.network import Network
from relumap_service.onnx_io import network_to_onnx
from tests.api.test_models_api import PROBLEM, fit, generate, predict
from tests.onnx_graphs import fit_quietly, random_layers, run, sklearn_onnx, torch_style_mlp

ONNX = "application/onnx"


def export(client: FlaskClient, model_id: str) -> bytes:
    response = client.get(f"/v1/models/{model_id}/model.onnx")
    assert response.status_code == 200, response.get_data()
    assert response.mimetype == ONNX
    assert f"relumap-{model_id}.onnx" in response.headers["Content-Disposition"]
    return response.get_data()


def post_onnx(client: FlaskClient, data: bytes, **query: Any) -> Any:
    return client.post("/v1/networks", data=data, content_type=ONNX, query_string=query)


def imported(client: FlaskClient, data: bytes, **query: Any) -> dict[str, Any]:
    response = post_onnx(client, data, **query)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith(response.get_json()["id"])
    return response.get_json()


def metadata(data: bytes) -> dict[str, Any]:
    model = onnx.load_model_from_string(data)
    return {prop.key: json.loads(prop.value) for prop in model.metadata_props}


def points(n_features: int, n: int = 300, scale: float = 2.0) -> np.ndarray:
    return np.random.default_rng(11).uniform(-scale, scale, size=(n, n_features))


# -- export ---------------------------------------------------------------------------------
def test_fitted_regressor_exports_as_it_predicts(client: FlaskClient) -> None:
    data = generate(client, "square", n_samples=200, noise=0.05)
    model = fit(client, data["id"], hidden_layer_sizes=[8, 8], max_iter=500)
    exported = export(client, model["id"])
    X = points(1)
    (values,) = run(exported, X)
    np.testing.assert_allclose(
        values[:, 0], predict(client, model["id"], X)["predictions"], rtol=0, atol=1e-9
    )
    assert metadata(exported).get("classes") is None


def test_fitted_binary_classifier_exports_probabilities_and_labels(client: FlaskClient) -> None:
    data = generate(client, "xor", n_samples=200, noise=0.0)
    model = fit(client, data["id"], hidden_layer_sizes=[8], max_iter=500)
    exported = export(client, model["id"])
    X = points(2, scale=5.0)
    probabilities, logits = run(exported, X)
    answer = predict(client, model["id"], X)
    np.testing.assert_allclose(probabilities, answer["probabilities"], rtol=0, atol=1e-9)
    classes = metadata(exported)["classes"]
    assert classes == answer["classes"]
    assert [classes[i] for i in probabilities.argmax(axis=1)] == answer["predictions"]
    assert logits.shape == (len(X), 1)


def test_fitted_multiclass_model_with_text_labels_exports(client: FlaskClient) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(240, 2))
    y = np.array(["red", "green", "blue"])[
        ((np.arctan2(X[:, 1], X[:, 0]) + np.pi) // (2 * np.pi / 3) % 3).astype(int)
    ]
    response = client.post("/v1/datasets", json={"X": X.tolist(), "y": y.tolist()})
    assert response.status_code == 201, response.get_json()
    model = fit(client, response.get_json()["id"], hidden_layer_sizes=[10], max_iter=500)
    exported = export(client, model["id"])
    probabilities, _ = run(exported, X)
    answer = predict(client, model["id"], X)
    assert probabilities.shape == (240, 3)
    np.testing.assert_allclose(probabilities, answer["probabilities"], rtol=0, atol=1e-9)
    assert metadata(exported)["classes"] == answer["classes"] == model["classes"]


@pytest.mark.parametrize(
    ("sizes", "activation", "output"),
    [
        ([2, 5, 5, 1], "leaky_relu", "identity"),
        ([3, 4, 1], "identity", "identity"),
        ([6, 8, 3], "relu", "softmax"),
    ],
)
def test_manual_networks_export_and_come_back(
    client: FlaskClient, sizes: list[int], activation: str, output: str
) -> None:
    coefs, intercepts = random_layers(sizes, seed=sum(sizes), torch_layout=False)
    body = {
        "coefs": [c.tolist() for c in coefs],
        "intercepts": [b.tolist() for b in intercepts],
        "activation": activation,
        "output_activation": output,
        "negative_slope": 0.07,
    }
    response = client.post("/v1/networks", json=body)
    assert response.status_code == 201, response.get_json()
    model_id = response.get_json()["id"]
    exported = export(client, model_id)
    X = points(sizes[0])
    answer = predict(client, model_id, X)
    first = run(exported, X)[0]
    expected = answer["probabilities"] if output == "softmax" else answer["predictions"]
    np.testing.assert_allclose(first.reshape(np.shape(expected)), expected, rtol=0, atol=1e-9)
    again = imported(client, exported)
    assert again["params"]["hidden_layer_sizes"] == sizes[1:-1]
    assert again["params"]["activation"] == activation
    assert predict(client, again["id"], X) == answer


def test_export_needs_a_succeeded_model(app_factory: Any) -> None:
    client = app_factory(EMBEDDED_WORKER=False).test_client()
    data = generate(client, "square", n_samples=50)
    queued = client.post("/v1/models", json={"dataset_id": data["id"], "hidden_layer_sizes": [4]})
    response = client.get(f"/v1/models/{queued.get_json()['id']}/model.onnx")
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert client.get(f"/v1/models/{'0' * 32}/model.onnx").status_code == 404


# -- import ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def training() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    X = rng.uniform(-2, 2, size=(300, 2))
    return X, np.abs(X[:, 0]) - X[:, 1] ** 2


def test_sklearn_regressor_imports_and_predicts_as_sklearn(client: FlaskClient, training) -> None:
    X, y = training
    est = fit_quietly(MLPRegressor(hidden_layer_sizes=(12, 6), max_iter=300, random_state=0), X, y)
    model = imported(client, sklearn_onnx(est, 2), name="sklearn regressor")
    assert model["source"] == "manual" and model["task"] == "regression"
    assert model["params"]["name"] == "sklearn regressor"
    got = predict(client, model["id"], X)["predictions"]
    np.testing.assert_allclose(got, est.predict(X), rtol=0, atol=1e-9)
    # The geometry works on it as on any model.
    assert client.get(f"/v1/models/{model['id']}/regions").status_code == 200


def test_sklearn_float32_classifier_uploads_as_multipart(client: FlaskClient, training) -> None:
    X, y = training
    labels = np.where(y > 0, "above", "below")
    est = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0), X, labels
    )
    source = sklearn_onnx(est, 2, np.float32)
    response = client.post(
        "/v1/networks",
        data={"file": (io.BytesIO(source), "classifier.onnx"), "name": "from a form"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    model = response.get_json()
    assert model["classes"] == ["above", "below"] and model["params"]["name"] == "from a form"
    answer = predict(client, model["id"], X)
    label, zipped = run(source, X.astype(np.float32))
    expected = np.array([[row[c] for c in model["classes"]] for row in zipped])
    np.testing.assert_allclose(answer["probabilities"], expected, rtol=1e-5, atol=1e-6)
    assert np.mean(np.array(answer["predictions"]) == label) > 0.99


def test_torch_style_classifier_imports(client: FlaskClient) -> None:
    weights, biases = random_layers([3, 16, 16, 4], seed=9)
    source = torch_style_mlp(weights, biases, final="Softmax", flatten=True)
    model = imported(client, source.SerializeToString())
    assert model["task"] == "classification" and model["classes"] == [0, 1, 2, 3]
    assert "pytorch" in model["params"]["name"]
    X = points(3)
    expected = run(source, X.reshape(-1, 1, 3).astype(np.float32))[0]
    np.testing.assert_allclose(
        predict(client, model["id"], X)["probabilities"], expected, rtol=1e-5, atol=1e-6
    )


def test_feature_names_come_in_and_go_out(client: FlaskClient) -> None:
    net = Network(*random_layers([2, 3, 1], torch_layout=False))
    model = imported(client, network_to_onnx(net, feature_names=["width", "height"]))
    assert model["feature_names"] == ["width", "height"]
    assert metadata(export(client, model["id"]))["feature_names"] == ["width", "height"]


def test_unsupported_operator_is_a_422_naming_the_node(client: FlaskClient, training) -> None:
    X, y = training
    est = fit_quietly(MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", max_iter=50), X, y)
    response = post_onnx(client, sklearn_onnx(est, 2))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    problem = response.get_json()
    assert "Tanh" in problem["detail"]
    assert problem["errors"]["node"]["op_type"] == "Tanh" and problem["errors"]["node"]["name"]


@pytest.mark.parametrize("data", [b"garbage that is no model", b""])
def test_malformed_onnx_is_a_422(client: FlaskClient, data: bytes) -> None:
    response = post_onnx(client, data)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert ".onnx file" in response.get_json()["detail"]


def test_oversized_onnx_is_a_413(app_factory: Any) -> None:
    client = app_factory(MAX_REQUEST_BYTES=4096).test_client()
    weights, biases = random_layers([2, 40, 40, 1])
    data = torch_style_mlp(weights, biases).SerializeToString()
    assert len(data) > 4096
    response = post_onnx(client, data)
    assert response.status_code == 413 and response.mimetype == PROBLEM
    response = client.post(
        "/v1/networks",
        data={"file": (io.BytesIO(data), "big.onnx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_other_bodies_and_a_missing_file_are_refused(client: FlaskClient) -> None:
    response = client.post("/v1/networks", data=b"1,2", content_type="text/csv")
    assert response.status_code == 415 and ONNX in response.get_json()["detail"]
    response = client.post("/v1/networks", data={"name": "x"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["detail"]
    # JSON weights are read as before, errors included.
    response = client.post("/v1/networks", json={"coefs": [[[1.0]]]})
    assert response.status_code == 422 and "intercepts" in response.get_json()["errors"]


def test_a_retried_onnx_upload_creates_one_model(client: FlaskClient) -> None:
    data = network_to_onnx(Network(*random_layers([1, 4, 1], torch_layout=False)))
    headers = {"Idempotency-Key": "onnx-upload-1"}
    first = client.post("/v1/networks", data=data, content_type=ONNX, headers=headers)
    second = client.post("/v1/networks", data=data, content_type=ONNX, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]


def test_openapi_documents_onnx_both_ways(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    body = spec["paths"]["/v1/networks"]["post"]["requestBody"]["content"]
    assert {"application/json", ONNX, "multipart/form-data"} <= set(body)
    answer = spec["paths"]["/v1/models/{model_id}/model.onnx"]["get"]["responses"]["200"]
    assert ONNX in answer["content"]


def test_labels_and_names_from_a_file_get_the_checks_of_a_json_body(client: FlaskClient) -> None:
    net = Network(*random_layers([2, 3, 1], torch_layout=False), output_activation="logistic")
    response = post_onnx(client, network_to_onnx(net, classes=["ok", "bad\u0000label"]))
    assert response.status_code == 422 and "classes" in response.get_json()["errors"]
    response = post_onnx(client, network_to_onnx(net, feature_names=["x" * 500, "y"]))
    assert response.status_code == 422 and "feature_names" in response.get_json()["errors"]
    response = post_onnx(client, network_to_onnx(net), name="nul\u0000name")
    assert response.status_code == 422 and "name" in response.get_json()["errors"]
