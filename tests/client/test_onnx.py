"""ONNX from the client and the command line, against the live service."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

import relumap
from relumap.cli import main
from tests.onnx_graphs import fit_quietly, random_layers, run, sklearn_onnx, torch_style_mlp


def test_model_onnx_runs_as_the_model_predicts(
    session_api: relumap.Client, square_model: relumap.Model, tmp_path: Path
) -> None:
    X = np.linspace(-2, 2, 101).reshape(-1, 1)
    data = square_model.onnx()
    (values,) = run(data, X)
    np.testing.assert_allclose(values[:, 0], square_model.predict(X), rtol=0, atol=1e-9)
    path = square_model.save_onnx(tmp_path / "square.onnx")
    assert path.read_bytes() == data


def test_a_classifier_comes_back_from_its_onnx_file(
    session_api: relumap.Client, xor_model: relumap.Model, tmp_path: Path
) -> None:
    path = xor_model.save_onnx(tmp_path / "xor.onnx")
    again = session_api.network(path, name="xor again")
    assert again.source == "manual" and again.classes == xor_model.classes
    X = np.random.default_rng(0).uniform(-5, 5, size=(200, 2))
    np.testing.assert_allclose(again.predict_proba(X), xor_model.predict_proba(X), atol=1e-12)
    assert again.params["name"] == "xor again"


def test_network_takes_onnx_bytes_from_skl2onnx(session_api: relumap.Client) -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 2))
    y = np.where(X[:, 0] * X[:, 1] > 0, "same", "different")
    est = fit_quietly(MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0), X, y)
    model = session_api.network(sklearn_onnx(est, 2, zipmap=False))
    assert model.classes == ["different", "same"]
    np.testing.assert_allclose(model.predict_proba(X), est.predict_proba(X), rtol=0, atol=1e-9)
    assert model.predict(X).tolist() == est.predict(X).tolist()


def test_network_takes_a_weights_document_file(
    session_api: relumap.Client, square_model: relumap.Model, tmp_path: Path
) -> None:
    document = session_api._json("GET", f"/v1/models/{square_model.id}/weights")
    path = tmp_path / "weights.txt"  # no extension: read as JSON by its content
    path.write_text(json.dumps(document))
    again = session_api.network(path, domain=[-1, 1])
    X = np.linspace(-2, 2, 21)
    np.testing.assert_allclose(again.predict(X), square_model.predict(X), rtol=0, atol=1e-12)


def test_network_file_refuses_weights_arguments_and_the_service_names_bad_operators(
    session_api: relumap.Client, tmp_path: Path
) -> None:
    weights, biases = random_layers([2, 4, 1])
    model = torch_style_mlp(weights, biases)
    with pytest.raises(relumap.ValidationError, match="activation"):
        session_api.network(model.SerializeToString(), activation="identity")
    with pytest.raises(relumap.ValidationError, match="domain"):
        session_api.network(model.SerializeToString(), domain=[-1, 1])
    model.graph.node[1].op_type = "Tanh"
    path = tmp_path / "tanh.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(relumap.ValidationError, match="Tanh") as info:
        session_api.network(path)
    assert info.value.errors["node"]["op_type"] == "Tanh"


def test_cli_exports_and_imports(
    capsys: pytest.CaptureFixture[str], live_url: str, square_model: relumap.Model, tmp_path: Path
) -> None:
    path = tmp_path / "model.onnx"
    code = main(["--url", live_url, "models", "export", square_model.id, str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == {"written": str(path), "bytes": path.stat().st_size}
    code = main(["--url", live_url, "network", str(path), "--name", "from the shell", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    model = json.loads(out)
    assert model["params"]["name"] == "from the shell" and model["source"] == "manual"
    code = main(["--url", live_url, "network", str(path)])
    out, _ = capsys.readouterr()
    assert code == 0 and "manual" in out


def test_cli_reports_a_file_the_service_cannot_read(
    capsys: pytest.CaptureFixture[str], live_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07 not really a model")
    code = main(["--url", live_url, "network", str(path)])
    _, err = capsys.readouterr()
    assert code == 1 and ".onnx file" in err
    code = main(["--url", live_url, "network", str(tmp_path / "missing.onnx")])
    _, err = capsys.readouterr()
    assert code == 1 and "missing.onnx" in err
