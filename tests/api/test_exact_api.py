"""Exactness over HTTP: the issue's adversarial networks, certificates, ?verify and far domains."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

PROBLEM = "application/problem+json"


def network(client: FlaskClient, **document: Any) -> str:
    response = client.post("/v1/networks", json=document)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def test_rescaled_units_give_the_exact_four_regions(client: FlaskClient) -> None:
    # relu(x) + relu(y), its units scaled by 1e8 and 1e-8.
    model = network(
        client,
        coefs=[[[1e8, 0], [0, 1e-8]], [[1e-8], [1e8]]],
        intercepts=[[0, 0], [0]],
        domain=[[-1, -1], [1, 1]],
    )
    result = client.get(f"/v1/models/{model}/regions?verify=true").get_json()
    assert result["n_regions"] == 4
    assert sorted(map(tuple, np.asarray(result["gradients"])[:, 0].tolist())) == [
        (0.0, 0.0),
        (0.0, 1.0),
        (1.0, 0.0),
        (1.0, 1.0),
    ]
    certificate = result["certificate"]
    assert certificate["exact"] is True and certificate["max_vertex_error"] < 1e-12
    assert result["verification"]["agree"] is True
    assert result["verification"]["checked"] == 4
    # The shared point table: every vertex is one of the distinct points.
    assert len(result["vertex_ids"]) == len(result["vertices"])
    assert max(result["vertex_ids"]) == result["n_points"] - 1 == 8


@pytest.mark.parametrize(
    ("coefs", "intercepts", "expected"),
    [
        ([[[1e8, 1e-8]], [[1e-8], [1e8]]], [[0, -0.5e-8], [0]], [0.0, 0.5]),
        ([[[1, 1]], [[1], [1e10]]], [[0, -0.5], [0]], [0.0, 0.5]),
    ],
)
def test_knots_of_mixed_scale_networks(
    client: FlaskClient, coefs: list[Any], intercepts: list[Any], expected: list[float]
) -> None:
    model = network(client, coefs=coefs, intercepts=intercepts, domain=[[-1], [1]])
    result = client.get(f"/v1/models/{model}/knots?verify=true").get_json()
    np.testing.assert_allclose(result["knots"], expected, rtol=0, atol=1e-15)
    assert result["certificate"]["exact"] is True
    assert result["verification"]["agree"] is True


@pytest.mark.parametrize(("lo", "hi"), [("99999999.99999999", "1e8"), ("1e300", "2e300")])
def test_far_and_narrow_domains_are_answered(client: FlaskClient, lo: str, hi: str) -> None:
    model = network(client, coefs=[[[1, -1]], [[1], [1]]], intercepts=[[0, 0], [0]])
    response = client.get(f"/v1/models/{model}/knots?lo={lo}&hi={hi}")
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["piece_lo"][0] == float(lo) and result["piece_hi"][-1] == float(hi)


def test_domains_wider_than_float64_are_422(client: FlaskClient) -> None:
    model = network(client, coefs=[[[1, -1]], [[1], [1]]], intercepts=[[0, 0], [0]])
    response = client.get(f"/v1/models/{model}/knots?lo=-1e308&hi=1e308")
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert "float64" in response.get_json()["detail"]


def test_verification_is_bounded(app_factory: Any) -> None:
    client = app_factory(MAX_VERIFY_REGIONS=3).test_client()
    model = network(
        client,
        coefs=[[[1, 0], [0, 1]], [[1], [1]]],
        intercepts=[[0, 0], [0]],
        domain=[[-1, -1], [1, 1]],
    )
    response = client.get(f"/v1/models/{model}/regions?verify=true")
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert "max_verify_regions" in response.get_json()["detail"]
    assert client.get(f"/v1/models/{model}/regions").get_json()["verification"] is None
    limits = client.get("/v1").get_json()["limits"]
    assert limits["verify_regions"] == 3
