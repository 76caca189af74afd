"""Every hand-drawn network of shared/examples/seed_networks.json, at the core level."""

import json

import numpy as np
import pytest

from relumap_service.core.diagnostics import neuron_diagnostics
from relumap_service.core.knots import knots_1d
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d
from tests.conftest import SEED_NETWORKS

CASES = {case["name"]: case for case in json.loads(SEED_NETWORKS.read_text())["cases"]}
TOL = 1e-9


def build(case):
    spec = case["network"]
    if "generator" in spec:
        k = np.arange(8)
        coefs = [np.stack([np.cos(np.pi * k / 8), np.sin(np.pi * k / 8)]), np.ones((8, 1))]
        intercepts = [-np.ones(8), np.zeros(1)]
    else:
        coefs, intercepts = spec["coefs"], spec["intercepts"]
    return Network(
        coefs,
        intercepts,
        hidden_activation=spec["activation"],
        output_activation=spec["output_activation"],
    )


def check_1d(net, domain, expect):
    k = knots_1d(net, *domain)
    np.testing.assert_allclose(k.x, expect["knots"], atol=TOL)
    if "slopes" in expect:
        # Slopes of the linear pieces between knots.
        edges = np.concatenate([[domain[0]], k.x, [domain[1]]])
        mid = 0.5 * (edges[:-1] + edges[1:])
        piece = np.searchsorted(k.piece_hi, mid)
        np.testing.assert_allclose(k.slopes[piece, 0], expect["slopes"], atol=TOL)
    for x, y in expect.get("values", {}).items():
        np.testing.assert_allclose(k.evaluate(np.array([float(x)]))[0, 0], y, atol=TOL)
    return k


@pytest.mark.parametrize("name", ["abs_from_two_relus", "square_from_four_relus"])
def test_knots_slopes_values(name):
    case = CASES[name]
    check_1d(build(case), case["domain"], case["expect"])


def test_dead_and_always_active():
    case = CASES["dead_and_always_active"]
    net = build(case)
    k = check_1d(net, case["domain"], case["expect"])
    d = neuron_diagnostics(net, k)
    assert d.dead_units == [tuple(u) for u in case["expect"]["dead_on_domain"]]
    assert d.always_active_units == [tuple(u) for u in case["expect"]["always_active_on_domain"]]
    affine = case["expect"]["affine_on_domain"]
    np.testing.assert_allclose(d.affine_on_domain.gradient, [[affine["slope"]]], atol=TOL)
    np.testing.assert_allclose(d.affine_on_domain.intercept, [affine["intercept"]], atol=TOL)
    also = case["also"]
    k_wide = check_1d(net, also["domain"], also)
    wide = neuron_diagnostics(net, k_wide)
    assert wide.affine_on_domain is None and wide.dead_units == []


def test_two_neurons_no_bias():
    case = CASES["two_neurons_no_bias"]
    net = build(case)
    r = regions_2d(net, case["box"])
    expect = case["expect"]
    assert r.n_regions == expect["n_regions"] == r.n_linear_regions
    np.testing.assert_allclose(np.sort(r.areas), expect["areas"], atol=TOL)
    got = sorted(map(tuple, np.round(r.gradients[:, 0], 12).tolist()))
    assert got == sorted(map(tuple, expect["gradients"]))
    np.testing.assert_allclose(r.intercepts[:, 0], expect["intercepts"], atol=TOL)


def test_linear_collapse():
    case = CASES["linear_collapse"]
    net = build(case)
    r = regions_2d(net, case["box"])
    expect = case["expect"]
    assert r.n_regions == expect["n_regions"] == r.n_linear_regions
    coef, intercept = (
        expect["equivalent_linear_map"]["coef"],
        expect["equivalent_linear_map"]["intercept"],
    )
    np.testing.assert_allclose(r.gradients[0], np.asarray(coef).T, atol=TOL)
    np.testing.assert_allclose(r.intercepts[0], intercept, atol=TOL)
    affine = neuron_diagnostics(net, r).affine_on_domain
    np.testing.assert_allclose(affine.gradient, np.asarray(coef).T, atol=TOL)
    np.testing.assert_allclose(affine.intercept, intercept, atol=TOL)


def test_eight_lines_general_position():
    case = CASES["eight_lines_general_position"]
    r = regions_2d(build(case), case["box"])
    assert r.n_regions == case["expect"]["n_regions"]
    assert r.bound == case["expect"]["bound"]
    np.testing.assert_allclose(r.areas.sum(), 144.0, rtol=1e-12)
