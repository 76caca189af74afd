"""Every network drawn in the forum threads, through the HTTP API, against the stated answers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from tests.conftest import SEED_NETWORKS

CASES = {case["name"]: case for case in json.loads(SEED_NETWORKS.read_text())["cases"]}
TOL = 1e-9


def network_document(case: dict[str, Any]) -> dict[str, Any]:
    spec = case["network"]
    if "generator" in spec:  # eight_lines_general_position: tangents to the unit circle
        k = np.arange(8)
        coefs = [np.stack([np.cos(np.pi * k / 8), np.sin(np.pi * k / 8)]), np.ones((8, 1))]
        intercepts = [-np.ones(8), np.zeros(1)]
        spec = {
            **spec,
            "coefs": [c.tolist() for c in coefs],
            "intercepts": [b.tolist() for b in intercepts],
        }
    return {
        "coefs": spec["coefs"],
        "intercepts": spec["intercepts"],
        "activation": spec["activation"],
        "output_activation": spec["output_activation"],
        "domain": case.get("domain", case.get("box")),
    }


def post_network(client: FlaskClient, case: dict[str, Any]) -> str:
    response = client.post("/v1/networks", json=network_document(case))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["source"] == "manual" and body["status"] == "succeeded"
    return str(body["id"])


def knots(client: FlaskClient, model_id: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/v1/models/{model_id}/knots{query}")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


@pytest.mark.parametrize("name", ["abs_from_two_relus", "square_from_four_relus"])
def test_one_input_seed_knots_slopes_and_values(client: FlaskClient, name: str) -> None:
    case = CASES[name]
    model_id = post_network(client, case)
    result = knots(client, model_id)
    assert [result["lo"], result["hi"]] == case["domain"]
    np.testing.assert_allclose(result["knots"], case["expect"]["knots"], atol=TOL)
    np.testing.assert_allclose(np.ravel(result["slopes"]), case["expect"]["slopes"], atol=TOL)
    points = sorted(case["expect"]["values"].items(), key=lambda item: float(item[0]))
    predicted = client.post(
        f"/v1/models/{model_id}/predict", json={"X": [[float(x)] for x, _ in points]}
    ).get_json()["predictions"]
    np.testing.assert_allclose(predicted, [v for _, v in points], atol=TOL)


def test_dead_and_always_active_units_leave_one_affine_map(client: FlaskClient) -> None:
    case = CASES["dead_and_always_active"]
    model_id = post_network(client, case)
    result = knots(client, model_id)
    expect = case["expect"]
    assert result["knots"] == expect["knots"]
    diagnostics = result["diagnostics"]
    assert diagnostics["dead_units"] == expect["dead_on_domain"]
    assert diagnostics["always_active_units"] == expect["always_active_on_domain"]
    affine = diagnostics["affine_on_domain"]
    np.testing.assert_allclose(affine["gradient"], [[expect["affine_on_domain"]["slope"]]])
    np.testing.assert_allclose(affine["intercept"], [expect["affine_on_domain"]["intercept"]])
    # On a wider domain the same network bends twice.
    also = case["also"]
    wider = knots(client, model_id, f"?lo={also['domain'][0]}&hi={also['domain'][1]}")
    np.testing.assert_allclose(wider["knots"], also["knots"], atol=TOL)
    np.testing.assert_allclose(np.ravel(wider["slopes"]), also["slopes"], atol=TOL)
    assert wider["diagnostics"]["affine_on_domain"] is None


def test_two_relus_without_bias_make_four_cones(client: FlaskClient) -> None:
    case = CASES["two_neurons_no_bias"]
    model_id = post_network(client, case)
    result = client.get(f"/v1/models/{model_id}/regions").get_json()
    expect = case["expect"]
    assert result["box"] == case["box"]
    assert result["n_regions"] == expect["n_regions"]
    np.testing.assert_allclose(sorted(result["areas"]), expect["areas"], atol=TOL)
    got = sorted(map(tuple, np.asarray(result["gradients"])[:, 0, :].round(9).tolist()))
    assert got == sorted(map(tuple, expect["gradients"]))
    np.testing.assert_allclose(np.ravel(result["intercepts"]), expect["intercepts"], atol=TOL)
    assert result["n_linear_regions"] == 4


def test_identity_network_collapses_to_one_map(client: FlaskClient) -> None:
    case = CASES["linear_collapse"]
    response = client.post("/v1/networks", json=network_document(case))
    model = response.get_json()
    expect = case["expect"]["equivalent_linear_map"]
    np.testing.assert_allclose(model["equivalent_linear_map"]["coef"], expect["coef"], atol=TOL)
    np.testing.assert_allclose(
        model["equivalent_linear_map"]["intercept"], expect["intercept"], atol=TOL
    )
    result = client.get(f"/v1/models/{model['id']}/regions").get_json()
    assert result["n_regions"] == case["expect"]["n_regions"]
    affine = result["diagnostics"]["affine_on_domain"]
    np.testing.assert_allclose(np.asarray(affine["gradient"]).T, expect["coef"], atol=TOL)


def test_eight_lines_in_general_position_reach_zaslavskys_count(client: FlaskClient) -> None:
    case = CASES["eight_lines_general_position"]
    model_id = post_network(client, case)
    result = client.get(f"/v1/models/{model_id}/regions").get_json()
    assert result["n_regions"] == case["expect"]["n_regions"] == 37
    assert result["bound"] == case["expect"]["bound"]
    np.testing.assert_allclose(sum(result["areas"]), 144.0, rtol=1e-9)
