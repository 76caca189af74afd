"""MLflow's scoring protocol and the Open Inference Protocol v2, with the protocols' own code.

MLflow's payloads are built and parsed by MLflow itself
(``convert_input_example_to_serving_input``, the scoring server's
``infer_and_parse_data`` and ``parse_csv_input``): what MLflow would hand a
model is the reference, predicted by the model's own ``/predict``. The v2
API is driven by Triton's ``tritonclient[http]`` over a real loopback server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from io import StringIO
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

mlflow_scoring = pytest.importorskip("mlflow.pyfunc.scoring_server")
mlflow_utils = pytest.importorskip("mlflow.models.utils")
triton = pytest.importorskip("tritonclient.http")
triton_utils = pytest.importorskip("tritonclient.utils")

PROBLEM = "application/problem+json"
NAMES = ["rooms", "area", "age"]


def _csv(X: np.ndarray, y: list[Any], names: list[str], target: str) -> str:
    lines = [",".join([*names, target])]
    lines += [
        ",".join([*(repr(float(v)) for v in row), str(t)]) for row, t in zip(X, y, strict=True)
    ]
    return "\n".join(lines) + "\n"


def _fit(client: FlaskClient, csv: str, target: str, task: str) -> dict[str, Any]:
    dataset = client.post(f"/v1/datasets?target={target}", data=csv, content_type="text/csv")
    assert dataset.status_code == 201, dataset.get_json()
    model = client.post(
        "/v1/models?wait=60",
        json={"dataset_id": dataset.get_json()["id"], "hidden_layer_sizes": [8], "task": task},
    ).get_json()
    assert model["status"] == "succeeded", model
    return model


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """One app for the module: its tests only read the models fitted once on it."""
    return module_app


@pytest.fixture(scope="module")
def models(app: Flask) -> dict[str, dict[str, Any]]:
    """A regressor and a classifier with text labels, both on three named inputs."""
    client = app.test_client()
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, size=(120, 3))
    price = (X[:, 0] - 2 * np.abs(X[:, 1]) + 0.5 * X[:, 2]).tolist()
    colour = ["red" if a * b > 0 else "blue" for a, b in X[:, :2]]
    return {
        "regressor": _fit(client, _csv(X, price, NAMES, "price"), "price", "regression"),
        "classifier": _fit(client, _csv(X, colour, NAMES, "colour"), "colour", "classification"),
    }


def _frame(n: int = 7, seed: int = 0) -> pd.DataFrame:
    """Points with the columns in another order than the model's, to exercise names."""
    values = np.random.default_rng(seed).uniform(-3, 3, size=(n, 3))
    return pd.DataFrame(values, columns=NAMES)[["age", "rooms", "area"]]


def _own_predict(client: FlaskClient, model_id: str, X: np.ndarray) -> dict[str, Any]:
    response = client.post(f"/v1/models/{model_id}/predict", json={"X": X.tolist()})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _as_model_sees(parsed: Any) -> np.ndarray:
    """The rows MLflow would hand a model, in the model's feature order."""
    if isinstance(parsed, pd.DataFrame):
        return parsed[NAMES].to_numpy(dtype=np.float64)
    if isinstance(parsed, dict):  # `inputs` as a dict of columns
        return np.column_stack([np.asarray(parsed[n], dtype=np.float64) for n in NAMES])
    return np.asarray(parsed, dtype=np.float64)


def _mlflow_payloads(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    ordered = frame[NAMES]
    return {
        # MLflow's own serving payload for a DataFrame (dataframe_split).
        "mlflow_dataframe": json.loads(mlflow_utils.convert_input_example_to_serving_input(frame)),
        "dataframe_records": {"dataframe_records": frame.to_dict(orient="records")},
        "instances_records": {"instances": frame.to_dict(orient="records")},
        "instances_rows": {"instances": ordered.to_numpy().tolist()},
        "inputs_rows": {"inputs": ordered.to_numpy().tolist()},
        "inputs_columns": {"inputs": {c: frame[c].tolist() for c in frame.columns}},
        "with_params": {
            "dataframe_split": frame.to_dict(orient="split", index=False),
            "params": {"predict_method": "predict", "anything": 1},
        },
    }


# MLflow's DataFrame conversion trips a pandas 3 deprecation inside MLflow itself.
@pytest.mark.filterwarnings("ignore:Operation with range is deprecated")
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_mlflow_json_formats_agree_with_predict(
    client: FlaskClient, models: dict[str, dict[str, Any]], kind: str
) -> None:
    model_id = models[kind]["id"]
    for name, payload in _mlflow_payloads(_frame()).items():
        data, _ = mlflow_scoring._split_data_and_params(json.dumps(payload))
        X = _as_model_sees(mlflow_scoring.infer_and_parse_data(data))
        expected = _own_predict(client, model_id, X)["predictions"]
        response = client.post(f"/v1/models/{model_id}/invocations", json=payload)
        assert response.status_code == 200, (name, response.get_json())
        body = response.get_json()
        assert list(body) == ["predictions"], name
        if kind == "regressor":
            np.testing.assert_allclose(body["predictions"], expected, rtol=1e-12, atol=1e-12)
        else:
            # Labels, as MLflow's pyfunc of a scikit-learn classifier and /predict give them.
            assert body["predictions"] == expected and set(expected) <= {"red", "blue"}, name


def test_mlflow_csv_body(client: FlaskClient, models: dict[str, dict[str, Any]]) -> None:
    model_id = models["regressor"]["id"]
    text = _frame(9, seed=5).to_csv(index=False)
    X = _as_model_sees(mlflow_scoring.parse_csv_input(StringIO(text)))
    expected = _own_predict(client, model_id, X)["predictions"]
    for content_type in ("text/csv", "text/csv; charset=utf-8"):
        response = client.post(
            f"/v1/models/{model_id}/invocations", data=text, content_type=content_type
        )
        assert response.status_code == 200, response.get_json()
        np.testing.assert_allclose(
            response.get_json()["predictions"], expected, rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize(
    ("data", "content_type", "status", "fragment"),
    [
        ({"dataframe_split": {"columns": ["rooms", "area"], "data": [[1, 2]]}}, None, 422, "age"),
        ({"inputs": [[1, 2, 3]], "instances": [[1, 2, 3]]}, None, 422, "exactly one"),
        ({"rows": [[1, 2, 3]]}, None, 422, "dataframe_split"),
        ({"inputs": [[1, 2, 3]], "params": [1]}, None, 422, "params"),
        ("rooms,area,age\n1,2,x\n", "text/csv", 422, "'x'"),
        ("rooms,area,age\n1,2\n", "text/csv", 422, "2 values for 3 columns"),
        ("1 2 3", "text/plain", 415, "text/csv"),
        ("rooms,area,age\n1,2,3\n", "text/csv; charset=latin-1", 415, "UTF-8"),
    ],
)
def test_mlflow_errors_are_problem_documents(
    client: FlaskClient,
    models: dict[str, dict[str, Any]],
    data: Any,
    content_type: str | None,
    status: int,
    fragment: str,
) -> None:
    url = f"/v1/models/{models['regressor']['id']}/invocations"
    if content_type is None:
        response = client.post(url, json=data)
    else:
        response = client.post(url, data=data, content_type=content_type)
    assert response.status_code == status and response.content_type == PROBLEM
    assert fragment in response.get_json()["detail"]


def test_mlflow_unknown_model_and_ping(client: FlaskClient) -> None:
    response = client.post(f"/v1/models/{'a' * 32}/invocations", json={"inputs": [[1.0]]})
    assert response.status_code == 404 and response.content_type == PROBLEM
    ping = client.get("/ping")
    assert ping.status_code == 200 and ping.get_data() == b"\n"


# --- Open Inference Protocol v2, over a real server with Triton's client ---------


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def v2(server: str) -> Iterator[Any]:
    client = triton.InferenceServerClient(url=server, network_timeout=60.0)
    try:
        yield client
    finally:
        client.close()


def _infer(v2: Any, model_id: str, tensors: dict[str, np.ndarray], outputs: list[str]) -> Any:
    inputs = []
    for name, values in tensors.items():
        tensor = triton.InferInput(
            name, list(values.shape), triton_utils.np_to_triton_dtype(values.dtype)
        )
        tensor.set_data_from_numpy(values, binary_data=False)
        inputs.append(tensor)
    requested = [triton.InferRequestedOutput(name, binary_data=False) for name in outputs]
    return v2.infer(model_id, inputs, outputs=requested, request_id="r1")


def test_v2_health_and_metadata(v2: Any, models: dict[str, dict[str, Any]]) -> None:
    assert v2.is_server_live() and v2.is_server_ready()
    assert v2.get_server_metadata()["name"] == "relumap"
    regressor, classifier = models["regressor"]["id"], models["classifier"]["id"]
    assert v2.is_model_ready(regressor) and v2.is_model_ready(classifier)
    assert not v2.is_model_ready("b" * 32) and not v2.is_model_ready("no-such-model")
    meta = v2.get_model_metadata(regressor)
    assert meta["name"] == regressor and meta["versions"] and meta["platform"] == "relumap"
    assert meta["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 3]}]
    assert meta["outputs"] == [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    assert meta["parameters"]["feature_names"] == NAMES
    meta = v2.get_model_metadata(classifier)
    assert meta["outputs"] == [
        {"name": "predictions", "datatype": "BYTES", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_v2_infer_agrees_with_predict(
    v2: Any, client: FlaskClient, models: dict[str, dict[str, Any]], dtype: type
) -> None:
    X = _frame(11, seed=8)[NAMES].to_numpy().astype(dtype)
    # The service predicts in float64 from the values the client sent.
    X64 = X.astype(np.float64)
    regressor, classifier = models["regressor"]["id"], models["classifier"]["id"]
    result = _infer(v2, regressor, {"input": X}, ["predictions"])
    assert result.get_response()["id"] == "r1"
    expected = _own_predict(client, regressor, X64)["predictions"]
    assert result.as_numpy("predictions").dtype == np.float64
    np.testing.assert_allclose(result.as_numpy("predictions"), expected, rtol=1e-12, atol=1e-12)
    # One tensor per feature, named after it, in any order.
    columns = {name: X[:, NAMES.index(name)].copy() for name in ["age", "area", "rooms"]}
    result = _infer(v2, regressor, columns, ["predictions"])
    np.testing.assert_allclose(result.as_numpy("predictions"), expected, rtol=1e-12, atol=1e-12)
    own = _own_predict(client, classifier, X64)
    result = _infer(v2, classifier, {"input": X}, ["predictions", "probabilities"])
    labels = result.as_numpy("predictions").tolist()
    assert labels == own["predictions"]
    np.testing.assert_allclose(
        result.as_numpy("probabilities"), own["probabilities"], rtol=1e-12, atol=1e-12
    )


def test_v2_errors_in_the_protocols_shape(
    v2: Any, server: str, models: dict[str, dict[str, Any]]
) -> None:
    regressor = models["regressor"]["id"]
    X = np.zeros((2, 3))
    with pytest.raises(triton_utils.InferenceServerException) as caught:
        _infer(v2, "c" * 32, {"input": X}, ["predictions"])
    assert caught.value.status() == "404" and "c" * 32 in caught.value.message()
    with pytest.raises(triton_utils.InferenceServerException) as caught:
        _infer(v2, regressor, {"input": np.zeros((2, 2))}, ["predictions"])
    assert caught.value.status() == "400" and "3 feature(s)" in caught.value.message()
    with pytest.raises(triton_utils.InferenceServerException) as caught:
        _infer(v2, regressor, {"rooms": X[:, 0], "area": X[:, 1]}, ["predictions"])
    assert caught.value.status() == "400" and "age" in caught.value.message()
    with pytest.raises(triton_utils.InferenceServerException) as caught:
        _infer(v2, regressor, {"input": X}, ["probabilities"])
    assert caught.value.status() == "400" and "probabilities" in caught.value.message()
    # Binary tensors (tritonclient's default) are refused with a way out.
    tensor = triton.InferInput("input", [2, 3], "FP64")
    tensor.set_data_from_numpy(X)
    with pytest.raises(triton_utils.InferenceServerException) as caught:
        v2.infer(regressor, [tensor])
    assert caught.value.status() == "400" and "binary_data=False" in caught.value.message()


def test_v2_nested_data_and_raw_error_bodies(
    client: FlaskClient, models: dict[str, dict[str, Any]]
) -> None:
    regressor = models["regressor"]["id"]
    X = _frame(4, seed=2)[NAMES].to_numpy()
    expected = _own_predict(client, regressor, X)["predictions"]
    tensor = {"name": "input", "shape": [4, 3], "datatype": "FP64", "data": X.tolist()}
    response = client.post(f"/v2/models/{regressor}/infer", json={"inputs": [tensor]})
    assert response.status_code == 200
    (output,) = response.get_json()["outputs"]
    assert output["name"] == "predictions" and output["shape"] == [4]
    np.testing.assert_allclose(output["data"], expected, rtol=1e-12, atol=1e-12)
    for url, body, status in (
        (f"/v2/models/{regressor}/infer", {"inputs": []}, 400),
        (f"/v2/models/{regressor}/infer", {"inputs": [{**tensor, "shape": [4, 4]}]}, 400),
        (f"/v2/models/{regressor}/infer", {"inputs": [{**tensor, "datatype": "BYTES"}]}, 400),
        (f"/v2/models/{'d' * 32}/infer", {"inputs": [tensor]}, 404),
        ("/v2/no/such/path", None, 404),
    ):
        response = client.post(url, json=body) if body is not None else client.get(url)
        assert response.status_code == status and response.content_type == "application/json"
        error = response.get_json()
        assert list(error) == ["error"] and isinstance(error["error"], str) and error["error"]


def test_v2_models_need_the_api_key_as_v1_does(app_factory: Any) -> None:
    client = app_factory(API_KEY="s3cret").test_client()
    response = client.get(f"/v2/models/{'e' * 32}")
    assert response.status_code == 401 and "error" in response.get_json()
    assert client.get("/v2/health/live").status_code == 200
    authorized = client.get(f"/v2/models/{'e' * 32}", headers={"Authorization": "Bearer s3cret"})
    assert authorized.status_code == 404


def test_numeric_labels_are_fp64_tensors(v2: Any, client: FlaskClient) -> None:
    data = client.post(
        "/v1/datasets/generate", json={"kind": "circle", "n_samples": 120, "random_state": 1}
    ).get_json()
    model = client.post(
        "/v1/models?wait=60", json={"dataset_id": data["id"], "hidden_layer_sizes": [6]}
    ).get_json()
    assert model["status"] == "succeeded" and model["task"] == "classification", model
    classes = model["classes"]
    assert all(isinstance(c, int | float) for c in classes)
    meta = v2.get_model_metadata(model["id"])
    assert meta["outputs"][0] == {"name": "predictions", "datatype": "FP64", "shape": [-1]}
    X = np.random.default_rng(4).uniform(-4, 4, size=(9, 2))
    own = _own_predict(client, model["id"], X)
    result = _infer(v2, model["id"], {"input": X}, ["predictions", "probabilities"])
    assert result.as_numpy("predictions").tolist() == [float(c) for c in own["predictions"]]
    np.testing.assert_allclose(
        result.as_numpy("probabilities"), own["probabilities"], rtol=1e-12, atol=1e-12
    )
    # No names were kept with generated data: MLflow's columns are taken in order.
    split = {"dataframe_split": {"columns": ["a", "b"], "data": X.tolist()}}
    answer = client.post(f"/v1/models/{model['id']}/invocations", json=split).get_json()
    assert answer == {"predictions": own["predictions"]}


def test_a_model_still_queued_is_not_ready(app_factory: Any) -> None:
    client = app_factory(EMBEDDED_WORKER=False).test_client()
    data = client.post("/v1/datasets/generate", json={"kind": "plane", "n_samples": 50}).get_json()
    queued = client.post("/v1/models", json={"dataset_id": data["id"]})
    assert queued.status_code == 202
    model_id = queued.get_json()["id"]
    ready = client.get(f"/v2/models/{model_id}/ready")
    assert ready.status_code == 400 and "queued" in ready.get_json()["error"]
    tensor = {"name": "input", "shape": [1, 2], "datatype": "FP64", "data": [0.0, 0.0]}
    infer = client.post(f"/v2/models/{model_id}/infer", json={"inputs": [tensor]})
    assert infer.status_code == 400 and "queued" in infer.get_json()["error"]
    scoring = client.post(f"/v1/models/{model_id}/invocations", json={"inputs": [[0.0, 0.0]]})
    assert scoring.status_code == 409 and scoring.content_type == PROBLEM
