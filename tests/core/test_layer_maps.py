"""Second-layer maps computed from a neighbour's map: within their bound of the exact maps."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from relumap_service.core import layer_maps
from relumap_service.core.layer_maps import LayerMaps
from relumap_service.core.network import Network
from tests.core.exact_oracle import _next_maps, _weights

N1 = 128  # first-layer units: a run's rows differ from its middle in far fewer


def _network(seed: int, activation: str, weight_scale: float, bias_scale: float) -> Network:
    rng = np.random.default_rng(seed)
    coefs = [rng.normal(0, 1, (2, N1)) * weight_scale, rng.normal(0, 1, (N1, 10)), np.ones((10, 1))]
    intercepts = [rng.normal(0, 1, N1), rng.normal(0, bias_scale, 10), np.zeros(1)]
    coefs[1][:, 3] = 0.0  # a unit with no incoming weight: its map is its bias, exactly
    return Network(coefs, intercepts, hidden_activation=activation)


def _local_patterns(seed: int, n: int, n_units: int) -> np.ndarray:
    """A walk flipping one unit a step, with a few rows far from any other."""
    rng = np.random.default_rng(seed)
    rows, current = [], rng.random(n_units) > 0.5
    for _ in range(n):
        current = current.copy()
        current[rng.integers(0, n_units)] ^= True
        rows.append(current)
    on = np.array(rows)
    on[::17] = rng.random((on[::17].shape[0], n_units)) > 0.5
    return on


@pytest.mark.parametrize(
    ("activation", "weight_scale", "bias_scale"),
    [
        ("relu", 1.0, 1.0),
        ("relu", 2.0**-300, 2.0**200),  # biases dwarf the terms
        ("relu", 2.0**300, 1.0),
        ("leaky_relu", 1.0, 1.0),
        ("leaky_relu", 3.0, 2.0**40),
    ],
)
def test_maps_from_neighbours_are_within_their_bound_of_the_exact_maps(
    activation: str, weight_scale: float, bias_scale: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layer_maps, "FLIP_MIN_WEIGHTS", 0)  # this layer is small
    net = _network(7, activation, weight_scale, bias_scale)
    first = LayerMaps.first(net, net.intercepts[0])
    on = _local_patterns(3, 48, N1)
    second = LayerMaps(net, first, np.zeros(48, np.int64), on, net.coefs[1], net.intercepts[1])
    by_product: list[int] = []
    product_rows = LayerMaps._product_rows

    def spy(self: LayerMaps, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        by_product.append(index.size)
        return product_rows(self, index)

    monkeypatch.setattr(LayerMaps, "_product_rows", spy)
    maps, scale = second.rows(np.arange(48))
    # Most rows came from the one before; the far rows (every 17th, from the
    # first) and those after them by the product.
    assert sum(by_product) == 2 * len(range(0, 48, 17))
    bound = second.errors(maps, scale)

    coefs, biases, off = _weights(net)
    first_maps = [(coefs[0][0][k], coefs[0][1][k], biases[0][k]) for k in range(N1)]
    for r in range(48):
        exact = _next_maps(first_maps, on[r].tolist(), coefs[1], biases[1], off)
        for j, (gx, gy, c) in enumerate(exact):
            for i, value in enumerate((gx, gy, c)):
                error = abs(F(float(maps[r, i, j])) - value)
                assert error <= F(float(bound[r, i, j])), (r, i, j, float(error))
    assert np.all(maps[:, :, 3] == [0.0, 0.0, 0.0] + np.array([0, 0, 1]) * net.intercepts[1][3])


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("run", [layer_maps.RUN, 16])
def test_a_long_run_turning_the_same_units_on_and_off_stays_within_its_bound(
    activation: str, run: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every row flips one of three units from the row before: the running sum
    # adds and takes away the same terms dozens of times (in runs of 16, the
    # rows restart from the product every 16 rows).
    monkeypatch.setattr(layer_maps, "FLIP_MIN_WEIGHTS", 0)
    monkeypatch.setattr(layer_maps, "RUN", run)
    net = _network(5, activation, 2.0**20, 2.0**-10)
    rng = np.random.default_rng(1)
    on = np.tile(rng.random(N1) > 0.5, (120, 1))
    for r in range(1, 120):
        on[r:, rng.integers(0, 3)] ^= True
    first = LayerMaps.first(net, net.intercepts[0])
    second = LayerMaps(net, first, np.zeros(120, np.int64), on, net.coefs[1], net.intercepts[1])
    maps, scale = second.rows(np.arange(120))
    bound = second.errors(maps, scale)
    coefs, biases, off = _weights(net)
    first_maps = [(coefs[0][0][k], coefs[0][1][k], biases[0][k]) for k in range(N1)]
    for r in range(0, 120, 7):
        exact = _next_maps(first_maps, on[r].tolist(), coefs[1], biases[1], off)
        for j, row in enumerate(exact):
            for i, value in enumerate(row):
                assert abs(F(float(maps[r, i, j])) - value) <= F(float(bound[r, i, j])), (r, i, j)


def test_a_row_whose_flipped_terms_cancel_is_within_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(layer_maps, "FLIP_MIN_WEIGHTS", 0)
    # Its run's middle has every unit off; this row turns on two units whose
    # terms nearly cancel, so the rounding of a term is the size of the result.
    coefs0 = np.zeros((2, 16))
    coefs0[0, :2] = [0.1, 0.3]
    w = np.zeros((16, 1))
    w[:2, 0] = [3.0, -1.0]
    net = Network([coefs0, w, np.ones((1, 1))], [np.zeros(16), np.zeros(1), np.zeros(1)])
    first = LayerMaps.first(net, net.intercepts[0])
    on = np.zeros((3, 16), bool)
    on[1, :2] = True
    second = LayerMaps(net, first, np.zeros(3, np.int64), on, w, net.intercepts[1])
    maps, scale = second.rows(np.arange(3))
    exact = F(0.1) * 3 - F(0.3)
    error = abs(F(float(maps[1, 0, 0])) - exact)
    assert error > 0 and maps[1, 0, 0] == 0.1 * 3 - 0.3
    assert error <= F(float(second.errors(maps, scale)[1, 0, 0]))


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_rows_sharing_a_parent_are_within_their_bound_of_the_exact_maps(
    activation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A third layer below a second computed on demand (from its neighbours' maps).
    monkeypatch.setattr(layer_maps, "FLIP_MIN_WEIGHTS", 0)
    rng = np.random.default_rng(11)
    sizes = (2, 12, 9, 2)
    coefs = [rng.normal(0, 1, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    intercepts = [rng.normal(0, 1, b) for b in sizes[1:]]
    net = Network(coefs, intercepts, hidden_activation=activation)
    first = LayerMaps.first(net, net.intercepts[0])
    on1 = rng.random((6, 12)) > 0.5
    second = LayerMaps(net, first, np.zeros(6, np.int64), on1, coefs[1], intercepts[1])
    parent_root = np.repeat(np.arange(6), 5)
    on2 = np.repeat(rng.random((6, 9)) > 0.5, 5, axis=0)
    flips = rng.integers(0, 9, (30, 2))
    on2[np.arange(30), flips[:, 0]] ^= True  # children of a parent differ in a unit or two
    on2[np.arange(30), flips[:, 1]] ^= True
    third = LayerMaps(net, second, parent_root, on2, coefs[2], intercepts[2])
    maps, scale = third.rows(np.arange(30))
    bound = third.errors(maps, scale)

    exact_coefs, exact_biases, off = _weights(net)
    (gx, gy), c0 = exact_coefs[0], exact_biases[0]
    first_maps = [(gx[k], gy[k], c0[k]) for k in range(12)]
    for c in range(30):
        p = parent_root[c]
        middle = _next_maps(first_maps, on1[p].tolist(), exact_coefs[1], exact_biases[1], off)
        exact = _next_maps(middle, on2[c].tolist(), exact_coefs[2], exact_biases[2], off)
        for j, row in enumerate(exact):
            for i, value in enumerate(row):
                assert abs(F(float(maps[c, i, j])) - value) <= F(float(bound[c, i, j])), (c, i, j)
