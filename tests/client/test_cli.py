"""The ``relumap`` command: through its installed entry point, and through ``main()``.

The entry-point tests run the console script that ``pip install`` wrote, as a
shell would; the others call :func:`relumap.cli.main` in-process (the same
function the script calls) to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import relumap
from relumap.cli import main

SCRIPT = Path(sys.executable).with_name("relumap")


def run_script(*args: str, url: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RELUMAP_URL", "RELUMAP_API_KEY")}
    env["RELUMAP_URL"] = url
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- through the installed console script ---------------------------------------------


def test_script_generate_fit_and_knots_as_json(live_url: str) -> None:
    made = run_script(
        "datasets", "generate", "square", "--n-samples", "200", "--json", url=live_url
    )
    assert made.returncode == 0, made.stderr
    dataset = json.loads(made.stdout)
    assert dataset["n_samples"] == 200 and dataset["generator"]["kind"] == "square"
    fitted = run_script(
        "fit",
        dataset["id"],
        "--hidden",
        "16",
        "16",
        "--activation",
        "relu",
        "--wait",
        "--json",
        url=live_url,
    )
    assert fitted.returncode == 0, fitted.stderr
    model = json.loads(fitted.stdout)
    assert model["status"] == "succeeded"
    assert model["params"]["hidden_layer_sizes"] == [16, 16]
    assert fitted.stderr == ""  # no progress bar without a terminal
    knots = run_script("knots", model["id"], "--json", url=live_url)
    assert knots.returncode == 0, knots.stderr
    assert json.loads(knots.stdout)["n_knots"] >= 1


def test_script_service_error_exits_1_with_the_detail(live_url: str) -> None:
    shown = run_script("models", "show", "0" * 32, url=live_url)
    assert shown.returncode == 1 and shown.stdout == ""
    assert "404 Not Found: no model with id" in shown.stderr


def test_script_usage_error_exits_2(live_url: str) -> None:
    bad = run_script("fit", url=live_url)
    assert bad.returncode == 2 and "usage: relumap fit" in bad.stderr


def test_script_connection_failure_exits_1() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    failed = run_script("datasets", "list", url=f"http://127.0.0.1:{port}")
    assert failed.returncode == 1 and "could not reach the relumap service" in failed.stderr


# -- through main() --------------------------------------------------------------------


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"relumap {relumap.__version__}"
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "compare" in out and "regions" in out


def test_info_table(capsys: pytest.CaptureFixture[str], live_url: str) -> None:
    code, out, _ = run(capsys, "--url", live_url, "info")
    assert code == 0 and "service:" in out and "samples:" in out


def test_options_after_the_command(capsys: pytest.CaptureFixture[str], live_url: str) -> None:
    code, out, _ = run(capsys, "info", "--url", live_url, "--json")
    assert code == 0 and json.loads(out)["name"] == "relumap"


def test_environment_url(
    capsys: pytest.CaptureFixture[str], live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELUMAP_URL", live_url)
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0 and json.loads(out)["version"]


def test_datasets_upload_list_show_delete(
    capsys: pytest.CaptureFixture[str], live_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x,y\n0,0\n1,1\n2,4\n3,9\n")
    code, out, _ = run(capsys, "--url", live_url, "datasets", "upload", str(path), "--target", "y")
    assert code == 0 and "data.csv" in out
    dataset_id = out.split("id:")[1].split()[0]
    code, out, _ = run(capsys, "--url", live_url, "datasets", "list")
    header = out.splitlines()[0].split()
    assert code == 0 and header[:4] == ["id", "name", "source", "samples"] and dataset_id in out
    code, out, _ = run(capsys, "--url", live_url, "datasets", "show", dataset_id, "--json")
    assert json.loads(out)["n_samples"] == 4
    code, out, _ = run(capsys, "--url", live_url, "datasets", "delete", dataset_id)
    assert code == 0 and out.strip() == f"deleted dataset {dataset_id}"
    code, _, err = run(capsys, "--url", live_url, "datasets", "show", dataset_id)
    assert code == 1 and "no dataset" in err


def test_validation_errors_list_the_fields(
    capsys: pytest.CaptureFixture[str], live_url: str, square: relumap.Dataset
) -> None:
    code, out, err = run(capsys, "--url", live_url, "fit", square.id, "--hidden", "0")
    assert code == 1 and out == ""
    assert "422 Unprocessable Entity" in err and "hidden_layer_sizes:" in err


def test_fit_without_wait_returns_the_queued_model(
    capsys: pytest.CaptureFixture[str], live_url: str, square: relumap.Dataset, api: relumap.Client
) -> None:
    code, out, _ = run(capsys, "--url", live_url, "fit", square.id, "--hidden", "2", "--json")
    model = json.loads(out)
    assert code == 0 and model["status"] in ("queued", "running")
    api.model(model["id"]).wait()


def test_models_list_and_show(
    capsys: pytest.CaptureFixture[str], live_url: str, square_model: relumap.Model
) -> None:
    code, out, _ = run(
        capsys, "--url", live_url, "models", "list", "--dataset", square_model.dataset_id or ""
    )
    assert code == 0 and square_model.id in out and "succeeded" in out
    code, out, _ = run(capsys, "--url", live_url, "models", "show", square_model.id)
    assert code == 0 and "status:" in out and "LinearRegression" in out and "r2" in out


def test_knots_table(
    capsys: pytest.CaptureFixture[str], live_url: str, square_model: relumap.Model
) -> None:
    code, out, _ = run(
        capsys, "--url", live_url, "knots", square_model.id, "--lo", "-1", "--hi", "1"
    )
    knots = square_model.knots(-1, 1)
    assert code == 0 and f"pieces:        {knots.n_pieces}" in out
    assert len([line for line in out.splitlines() if line.strip().startswith(("-", "0"))]) >= 1
    assert out.count("\n") >= knots.n_pieces + 6


def test_regions_table_and_geojson(
    capsys: pytest.CaptureFixture[str], live_url: str, xor_model: relumap.Model, tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "--url", live_url, "regions", xor_model.id, "--box", "-1", "-1", "1", "1"
    )
    regions = xor_model.regions([[-1, -1], [1, 1]])
    assert code == 0 and f"regions:           {regions.n_regions}" in out
    target = tmp_path / "regions.json"
    code, out, _ = run(capsys, "--url", live_url, "regions", xor_model.id, "--geojson", str(target))
    collection = json.loads(target.read_text())
    assert code == 0 and collection["type"] == "FeatureCollection"
    assert out.strip() == f"wrote {len(collection['features'])} features to {target}"


def test_predict_a_csv_of_points(
    capsys: pytest.CaptureFixture[str], live_url: str, xor_model: relumap.Model, tmp_path: Path
) -> None:
    points = tmp_path / "points.csv"
    points.write_text("x1,x2\n3,3\n-3,3\n")
    code, out, _ = run(capsys, "--url", live_url, "predict", xor_model.id, str(points), "--json")
    document = json.loads(out)
    assert code == 0 and document["predictions"] == [1, 0] and document["classes"] == [0, 1]
    np.testing.assert_allclose(
        document["probabilities"], xor_model.predict_proba([[3, 3], [-3, 3]]), rtol=1e-12
    )
    code, out, _ = run(capsys, "--url", live_url, "predict", xor_model.id, str(points))
    assert out.splitlines()[0].split() == ["x1", "x2", "prediction", "P(0)", "P(1)"]


def test_predict_rejects_a_bad_csv(
    capsys: pytest.CaptureFixture[str], live_url: str, square_model: relumap.Model, tmp_path: Path
) -> None:
    points = tmp_path / "points.csv"
    points.write_text("x\n1\nabc\n")
    code, _, err = run(capsys, "--url", live_url, "predict", square_model.id, str(points))
    assert code == 1 and "must be a number" in err


def test_plot_writes_a_png(
    capsys: pytest.CaptureFixture[str], live_url: str, xor_model: relumap.Model, artifacts: Path
) -> None:
    target = artifacts / "cli_plot_xor.png"
    code, out, _ = run(
        capsys, "--url", live_url, "plot", xor_model.id, str(target), "--color-by", "region"
    )
    assert code == 0 and out.strip() == f"wrote {target}"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_table(
    capsys: pytest.CaptureFixture[str], live_url: str, square: relumap.Dataset
) -> None:
    code, out, _ = run(
        capsys, "--url", live_url, "compare", square.id, "--hidden", "8", "--max-iter", "2000"
    )
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.startswith("r2")]
    (train, test) = rows
    assert train[1] == "train" and test[1] == "test"
    relu, identity, baseline = (float(v) for v in test[2:5])
    assert relu > 0.9 and identity < 0.2 and abs(identity - baseline) < 0.05


def test_api_key_from_option_and_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, scripted: Any
) -> None:
    from tests.client.conftest import Reply

    server = scripted(Reply(200, {"name": "relumap", "version": "0", "limits": {}}))
    monkeypatch.setenv("RELUMAP_API_KEY", "from-env")
    assert run(capsys, "--url", server.url, "info")[0] == 0
    assert run(capsys, "info", "--url", server.url, "--api-key", "from-option")[0] == 0
    keys = [seen["headers"]["Authorization"] for seen in server.seen]
    assert keys == ["Bearer from-env", "Bearer from-option"]
