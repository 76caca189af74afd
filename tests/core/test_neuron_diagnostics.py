import json

import numpy as np
import pytest
from geometry_oracles import he_network, pre_activations

from relumap_service.core.diagnostics import neuron_diagnostics
from relumap_service.core.knots import knots_1d
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d


@pytest.mark.parametrize(("sizes", "seed"), [((2, 12, 12, 1), 0), ((2, 8, 8, 8, 1), 1)])
def test_domain_flags_agree_with_dense_sampling(sizes, seed):
    net = he_network(sizes, seed, bias_std=1.0)
    box = ((-1.0, -1.0), (1.0, 1.0))
    d = neuron_diagnostics(net, regions_2d(net, box))
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 301), np.linspace(-1, 1, 301)), -1).reshape(
        -1, 2
    )
    pre = pre_activations(net, grid)
    seen_on, seen_off = (pre > 0).any(axis=0), (pre <= 0).any(axis=0)
    # Exact flags can only be stronger than what a grid sees, never contradict it.
    assert not np.any(d.dead_on_domain & seen_on)
    assert not np.any(d.always_active_on_domain & seen_off)
    # And on this grid nothing is missed except units active on tiny slivers.
    assert np.sum(d.dead_on_domain != ~seen_on) <= 1
    assert np.any(d.dead_on_domain | d.always_active_on_domain)


def test_constructed_dead_and_always_active_units_2d():
    w = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    b = np.array([-5.0, 5.0, 0.0, 0.0])  # dead, always on, half, zero weights
    net = Network([w, np.ones((4, 1))], [b, np.zeros(1)])
    d = neuron_diagnostics(net, regions_2d(net, ((-1, -1), (1, 1))))
    assert d.dead_units == [(1, 0), (1, 3)]
    assert d.always_active_units == [(1, 1)]
    assert d.affine_on_domain is None


def test_active_fraction_and_dead_on_data():
    net = he_network((1, 6, 5, 1), 3)
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (500, 1))
    d = neuron_diagnostics(net, knots_1d(net, -2, 2), X_train=X)
    pre = pre_activations(net, X)
    np.testing.assert_allclose(d.active_fraction, (pre > 0).mean(axis=0))
    np.testing.assert_array_equal(d.dead_on_data, ~(pre > 0).any(axis=0))
    assert d.layer.tolist() == [1] * 6 + [2] * 5 and d.unit.tolist() == [*range(6), *range(5)]
    json.dumps(d.to_dict())


def test_affine_on_domain_for_identity_network():
    net = he_network((2, 4, 3, 2), 2, activation="identity")
    d = neuron_diagnostics(net, regions_2d(net, ((-1, -1), (1, 1))))
    w0, w1, w2 = net.coefs
    b0, b1, b2 = net.intercepts
    np.testing.assert_allclose(d.affine_on_domain.gradient, (w0 @ w1 @ w2).T, rtol=1e-12)
    np.testing.assert_allclose(d.affine_on_domain.intercept, (b0 @ w1 + b1) @ w2 + b2, rtol=1e-12)
    assert d.always_active_on_domain.all() and not d.dead_on_domain.any()


def test_affine_on_domain_for_relu_network_acting_linearly():
    # All first-layer units are positive on the box, the second layer mixes signs but
    # stays on: a single linear region.
    w0 = np.array([[1.0, -0.5, 0.2], [0.3, 0.4, -1.0]])
    b0 = np.array([5.0, 5.0, 5.0])
    w1 = np.array([[1.0], [0.5], [-0.2]])
    net = Network([w0, w1], [b0, np.zeros(1)])
    d = neuron_diagnostics(net, regions_2d(net, ((-1, -1), (1, 1))))
    np.testing.assert_allclose(d.affine_on_domain.gradient, (w0 @ w1).T, rtol=1e-12)
    np.testing.assert_allclose(d.affine_on_domain.intercept, b0 @ w1, rtol=1e-12)


def test_mismatched_partition_raises():
    a, b = he_network((1, 3, 1), 0), he_network((1, 4, 1), 0)
    with pytest.raises(ValueError, match="hidden layers"):
        neuron_diagnostics(a, knots_1d(b, -1, 1))


def test_identity_units_are_active_on_all_the_data() -> None:
    net = Network(
        [np.array([[1.0, -1.0]]), np.ones((2, 1))],
        [np.zeros(2), [0.0]],
        hidden_activation="identity",
    )
    d = neuron_diagnostics(net, knots_1d(net, -1, 1), X_train=[[-0.5], [0.2], [0.7]])
    assert d.active_fraction.tolist() == [1.0, 1.0]
    assert not d.dead_on_data.any() and d.always_active_on_domain.all()
