"""Region maps and knots against an exact rational oracle, and under the invariances of exactness.

"Exact" means: what exact arithmetic on the float64 weights and box gives.
The oracle (tests/core/exact_oracle.py) computes that with Fractions by the
most direct algorithm; the engine must agree on every count, pattern and
linear region, with vertices within its certified error bound.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from relumap_service.core.exact import ExactNetwork
from relumap_service.core.knots import knots_1d
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d
from tests.core.exact_oracle import (
    area,
    exact_knots,
    exact_linear_region_count,
    exact_regions,
)


def integer_network(sizes, seed, *, activation="relu", scale=1.0, low=-2, high=3):
    """Small-integer (times ``scale``) weights: exact concurrences, lines through corners."""
    rng = np.random.default_rng(seed)
    coefs = [
        rng.integers(low, high, (a, b)) * scale for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    intercepts = [rng.integers(-1, 2, b) * scale for b in sizes[1:]]
    return Network(coefs, intercepts, hidden_activation=activation)


def random_network(sizes, seed, *, activation="relu"):
    rng = np.random.default_rng(seed)
    coefs = [rng.normal(0, 1, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    intercepts = [rng.normal(0, 0.5, b) for b in sizes[1:]]
    return Network(coefs, intercepts, hidden_activation=activation)


def translated(net, shift):
    """The same network seen from inputs moved by ``shift`` (biases rounded once)."""
    b0 = net.intercepts[0] - np.asarray(shift) @ net.coefs[0]
    return Network(list(net.coefs), [b0, *net.intercepts[1:]])


def assert_matches_oracle(net, box):
    r = regions_2d(net, box)
    oracle = exact_regions(net, box)
    assert r.certificate.exact
    assert r.n_regions == len(oracle)
    engine_patterns = ["".join("1" if b else "0" for b in row) for row in r.patterns]
    assert sorted(engine_patterns) == sorted(o.pattern for o in oracle)
    by_pattern = {p: i for i, p in enumerate(engine_patterns)}
    (x0, y0), (x1, y1) = box
    box_area = (x1 - x0) * (y1 - y0)
    tolerance = r.certificate.max_vertex_error * (1 + 1e-9) + 1e-300
    for region in oracle:
        i = by_pattern[region.pattern]
        np.testing.assert_allclose(
            r.areas[i], float(area(region.polygon)), rtol=1e-9, atol=1e-15 * box_area
        )
        polygon = r.polygons[i]
        for x, y in region.polygon:
            gap = np.abs(polygon - [float(x), float(y)]).max(axis=1).min()
            assert gap <= tolerance, (region.pattern, gap, tolerance)
        gradient = np.array([[float(g) for g in pair] for pair in region.gradient])
        intercept = np.array([float(c) for c in region.intercept])
        scale = (
            np.abs(gradient).sum() * max(abs(x0), abs(x1), abs(y0), abs(y1))
            + np.abs(intercept).sum()
        )
        np.testing.assert_allclose(r.gradients[i], gradient, atol=1e-12 * scale + 1e-300)
        np.testing.assert_allclose(r.intercepts[i], intercept, atol=1e-12 * scale + 1e-300)
    assert r.n_linear_regions == exact_linear_region_count(oracle)
    # One table entry per exact point of the subdivision, no more (no two copies of one point).
    assert r.points.shape[0] == len({point for region in oracle for point in region.polygon})
    return r


@pytest.mark.parametrize("seed", range(8))
def test_integer_networks_with_exact_concurrences(seed):
    net = integer_network((2, 4, 3, 1), seed)
    assert_matches_oracle(net, ((-2.0, -2.0), (2.0, 2.0)))


@pytest.mark.parametrize("seed", range(4))
def test_dyadic_weights_and_boxes_through_vertices(seed):
    net = integer_network((2, 3, 3, 2), seed, scale=0.25)
    assert_matches_oracle(net, ((-0.75, -0.5), (1.0, 1.25)))


@pytest.mark.parametrize("activation", ["leaky_relu", "identity"])
def test_other_activations(activation):
    net = integer_network((2, 4, 3, 1), 3, activation=activation)
    r = assert_matches_oracle(net, ((-2.0, -2.0), (2.0, 2.0)))
    if activation == "identity":
        assert r.n_regions == 1


@pytest.mark.parametrize("seed", range(4))
def test_random_float_networks(seed):
    assert_matches_oracle(random_network((2, 5, 4, 1), seed), ((-2.0, -1.5), (1.5, 2.0)))


@pytest.mark.parametrize(("seed", "activation"), [(0, "relu"), (1, "leaky_relu")])
def test_maps_computed_on_demand_match_the_oracle(monkeypatch, seed, activation):
    # Wide maps hold no table of a layer's maps: the second layer's come from
    # neighbours' and the output's from each root's share; force that here.
    import relumap_service.core.layer_maps as layer_maps_module
    import relumap_service.core.regions as regions_module

    monkeypatch.setattr(regions_module, "_TABLE_BYTES", 0)
    monkeypatch.setattr(layer_maps_module, "FLIP_MIN_WEIGHTS", 0)
    net = integer_network((2, 24, 4, 2), seed, activation=activation)
    assert_matches_oracle(net, ((-2.0, -1.5), (1.5, 2.0)))


@pytest.mark.parametrize(
    ("net", "box"),
    [
        *[(integer_network((2, 12, 4, 1), seed), ((-2.0, -2.0), (2.0, 2.0))) for seed in range(4)],
        (integer_network((2, 12, 3, 2), 5, activation="leaky_relu"), ((-1.5, -2.0), (2.0, 1.0))),
        (integer_network((2, 10, 3, 2), 6, scale=0.25), ((-0.75, -0.5), (1.0, 1.25))),
        *[(random_network((2, 10, 4, 1), seed), ((-2.0, -1.5), (1.5, 2.0))) for seed in range(3)],
        (integer_network((2, 12, 1), 7), ((-2.0, -2.0), (2.0, 2.0))),  # one hidden layer
    ],
)
def test_first_layer_cells_as_roots_match_the_oracle(monkeypatch, net, box):
    # After three of the first layer's lines its cells become roots for the
    # rest (a wide first layer's path): lines through their corners included.
    import relumap_service.core.layer_maps as layer_maps_module
    import relumap_service.core.regions as regions_module

    monkeypatch.setattr(regions_module, "FIRST_LAYER_ROOT_LINES", 3)
    monkeypatch.setattr(layer_maps_module, "FLIP_MIN_WEIGHTS", 0)
    cut_rounds: list[bool] = []
    cut_round = regions_module._cut_round

    def spy(engine, store, crossings, k, one_root, *rest):
        cut_rounds.append(one_root)
        return cut_round(engine, store, crossings, k, one_root, *rest)

    monkeypatch.setattr(regions_module, "_cut_round", spy)
    assert_matches_oracle(net, box)
    assert cut_rounds[:3] == [True] * 3 and len(cut_rounds) > 3 and not any(cut_rounds[3:])


def test_copies_of_a_point_on_a_vertical_line_are_merged():
    # Found by hypothesis: (1/2, 1/2) computed from two pairs of lines as 0.5 and
    # 0.5000000000000002, with four other vertices of the line x = 1/2 between
    # them in x order.
    coefs = [
        [[1, 2, 0, 2], [1, -2, 2, 2]],
        [[1, -2, 2, -2, -1], [-2, 0, -1, 1, -1], [2, 1, 0, 2, -2], [-1, 0, -1, 1, 2]],
        [[1, -1], [-2, -2], [1, 2], [1, 2], [-2, -2]],
    ]
    intercepts = [[-1, 1, 0, -1], [0, -1, 0, 2, 2], [2, 1]]
    net = Network(
        [np.array(w, float) for w in coefs],
        [np.array(b, float) for b in intercepts],
        hidden_activation="leaky_relu",
    )
    r = assert_matches_oracle(net, ((0.0, 0.0), (2.0, 3.0)))
    assert [0.5, 0.5] in r.points.tolist() and [0.5000000000000002, 0.5] not in r.points.tolist()


def test_positively_rescaled_units_keep_the_map():
    # relu(x) + relu(y) with its units scaled by 1e8 and 1e-8 (ReLU is positively homogeneous).
    net = Network(
        [np.array([[1e8, 0], [0, 1e-8]]), np.array([[1e-8], [1e8]])], [np.zeros(2), np.zeros(1)]
    )
    r = assert_matches_oracle(net, ((-1.0, -1.0), (1.0, 1.0)))
    assert r.n_regions == 4


@pytest.mark.parametrize("width", [2e-12, 2.0])
def test_three_concurrent_lines_in_tiny_and_unit_boxes(width):
    w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, -2.0]])
    b = -(np.array([0.5, 0.25]) @ w)
    net = Network([w, np.ones((3, 1))], [b, np.zeros(1)])
    box = ((0.5 - width / 2, 0.25 - width / 2), (0.5 + width / 2, 0.25 + width / 2))
    assert assert_matches_oracle(net, box).n_regions == 6


def test_thin_strip_is_kept():
    net = Network(
        [np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([[1.0], [-1.0]])],
        [np.array([0.0, -3e-10]), np.zeros(1)],
    )
    r = assert_matches_oracle(net, ((-1.0, -1.0), (1.0, 1.0)))
    assert r.n_regions == 3


def _signature(r):
    patterns = ["".join("1" if b else "0" for b in row) for row in r.patterns]
    order = np.argsort(patterns)
    groups = {}
    for i in order:
        groups.setdefault(r.linear_region[i], []).append(patterns[i])
    partition = sorted(tuple(sorted(g)) for g in groups.values())
    return [patterns[i] for i in order], partition, order


def assert_same_map(a, b, *, shift=(0.0, 0.0)):
    pa, parts_a, order_a = _signature(a)
    pb, parts_b, order_b = _signature(b)
    assert pa == pb and parts_a == parts_b
    ga, gb = a.gradients[order_a], b.gradients[order_b]
    scale = np.abs(ga).max()
    np.testing.assert_allclose(gb, ga, rtol=0, atol=1e-12 * scale)
    # Intercepts compared at the box's own origin, where translation leaves them alone.
    ia = a.intercepts[order_a]
    ib = b.intercepts[order_b] + np.einsum("nok,k->no", gb, np.asarray(shift))
    np.testing.assert_allclose(ib, ia, rtol=0, atol=1e-12 * (np.abs(ia).max() + scale))


@pytest.mark.parametrize("exponent", [-10, -5, -1, 3, 10])
@pytest.mark.parametrize("layer", [0, 1])
def test_rescaling_a_unit_changes_nothing(exponent, layer):
    net = random_network((2, 6, 6, 1), 11)
    factor = 10.0**exponent
    coefs = [w.copy() for w in net.coefs]
    intercepts = [b.copy() for b in net.intercepts]
    coefs[layer][:, 2] *= factor
    intercepts[layer][2] *= factor
    coefs[layer + 1][2] /= factor
    box = ((-2.0, -2.0), (2.0, 2.0))
    assert_same_map(regions_2d(net, box), regions_2d(Network(coefs, intercepts), box))


@pytest.mark.parametrize("offset", [1e3, 2.0**30, 1e9])
def test_translating_box_and_network_changes_nothing(offset):
    # Dyadic weights and offsets, so that the translated network is exact too.
    net = integer_network((2, 5, 4, 1), 5, scale=0.125)
    shift = np.array([offset, -offset])
    b0 = net.intercepts[0] - shift @ net.coefs[0]
    assert np.array_equal(b0 + shift @ net.coefs[0], net.intercepts[0])
    moved = Network([net.coefs[0], *net.coefs[1:]], [b0, *net.intercepts[1:]])
    box = ((-2.0, -2.0), (2.0, 2.0))
    far = ((-2.0 + shift[0], -2.0 + shift[1]), (2.0 + shift[0], 2.0 + shift[1]))
    a, b = regions_2d(net, box), regions_2d(moved, far)
    assert_same_map(a, b, shift=shift)


@pytest.mark.parametrize("exponent", [-40, -12, 12, 40])
def test_scaling_the_whole_problem_changes_nothing(exponent):
    net = random_network((2, 6, 5, 2), 2)
    factor = 2.0**exponent
    scaled = Network([net.coefs[0] / factor, *net.coefs[1:]], list(net.intercepts))
    box = ((-1.0, -2.0), (2.0, 1.0))
    big = ((-factor, -2 * factor), (2 * factor, factor))
    a, b = regions_2d(net, box), regions_2d(scaled, big)
    pa, parts_a, _ = _signature(a)
    pb, parts_b, _ = _signature(b)
    assert pa == pb and parts_a == parts_b
    np.testing.assert_allclose(np.sort(b.areas), np.sort(a.areas) * factor**2, rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_knots_match_exact_oracle(seed):
    net = integer_network((1, 4, 4, 1), seed)
    k = knots_1d(net, -2.0, 2.0)
    breakpoints, knots = exact_knots(net, -2.0, 2.0)
    assert k.certificate.exact and k.n_knots == len(knots)
    error = k.certificate.max_vertex_error
    np.testing.assert_allclose(k.x, [float(v) for v in knots], rtol=0, atol=error)
    positions = np.unique(k.breakpoints)
    assert positions.size == len(breakpoints)
    np.testing.assert_allclose(positions, [float(v) for v in breakpoints], rtol=0, atol=error)


def _knots_against_oracle(net, lo, hi):
    k = knots_1d(net, lo, hi)
    _, knots = exact_knots(net, lo, hi)
    assert k.n_knots == len(knots)
    np.testing.assert_allclose(
        k.x, [float(v) for v in knots], rtol=0, atol=k.certificate.max_vertex_error
    )
    return k


@pytest.mark.parametrize(
    ("coefs", "intercepts", "lo", "hi", "expected"),
    [
        # relu(x) + relu(x - 0.5) with units rescaled by 1e8 and 1e-8.
        ([[[1e8, 1e-8]], [[1e-8], [1e8]]], [[0, -0.5e-8], [0]], -1.0, 1.0, [0.0, 0.5]),
        # A slope change of 1 beside a slope of 1e10.
        ([[[1, 1]], [[1], [1e10]]], [[0, -0.5], [0]], -1.0, 1.0, [0.0, 0.5]),
        # Two knots 9% of a domain of width 1e-6 apart, far from the origin.
        (
            [[[1, 1]], [[1], [1]]],
            [[-1000.0000004, -1000.0000005], [0]],
            1000.0,
            1000.000001,
            [1000.0000004, 1000.0000005],
        ),
        # Knots 1e-10 apart.
        ([[[1, 1]], [[1], [-1]]], [[0, -1e-10], [0]], -1.0, 1.0, [0.0, 1e-10]),
        # A domain near the top of the float range.
        ([[[1e-300, 1e-300]], [[1], [2]]], [[-1.5, -1.75], [0]], 1e300, 2e300, [1.5e300, 1.75e300]),
    ],
)
def test_issue_knot_cases(coefs, intercepts, lo, hi, expected):
    net = Network(
        [np.array(c, dtype=float) for c in coefs], [np.array(b, dtype=float) for b in intercepts]
    )
    k = _knots_against_oracle(net, lo, hi)
    np.testing.assert_allclose(k.x, expected, rtol=1e-9)


@pytest.mark.parametrize("exponent", [-10, -3, 4, 10])
def test_knots_do_not_change_when_a_unit_is_rescaled(exponent):
    net = random_network((1, 6, 5, 1), 4)
    coefs = [w.copy() for w in net.coefs]
    intercepts = [b.copy() for b in net.intercepts]
    coefs[0][:, 1] *= 10.0**exponent
    intercepts[0][1] *= 10.0**exponent
    coefs[1][1] /= 10.0**exponent
    a = knots_1d(net, -3.0, 3.0)
    b = knots_1d(Network(coefs, intercepts), -3.0, 3.0)
    assert a.n_knots == b.n_knots and np.array_equal(a.patterns, b.patterns)
    np.testing.assert_allclose(b.x, a.x, rtol=0, atol=1e-12 * 3)
    np.testing.assert_allclose(b.slopes, a.slopes, rtol=1e-12, atol=1e-12 * np.abs(a.slopes).max())


@pytest.mark.parametrize(
    ("net", "box"),
    [
        (integer_network((2, 4, 3, 1), 1), ((-2.0, -2.0), (2.0, 2.0))),
        (integer_network((2, 5, 5, 1), 2, scale=0.25), ((-1.0, -1.0), (1.0, 1.0))),
        (random_network((2, 16, 16, 1), 3), ((-2.0, -2.0), (2.0, 2.0))),
        (
            translated(random_network((2, 8, 8, 8, 2), 4), (1e6, 0.0)),
            ((1e6 - 2.0, -3.0), (1e6 + 2.0, 3.0)),
        ),
    ],
)
def test_region_map_is_a_valid_coverage(net, box):
    import shapely

    r = regions_2d(net, box)
    polygons = shapely.polygons([shapely.linearrings(p) for p in r.polygons])
    assert shapely.coverage_is_valid(polygons)
    # Every vertex is one of the shared points, and the points are distinct.
    np.testing.assert_array_equal(r.vertices, r.points[r.vertex_ids])
    assert np.unique(r.points, axis=0).shape[0] == r.points.shape[0]
    np.testing.assert_allclose(
        shapely.area(polygons).sum(),
        (box[1][0] - box[0][0]) * (box[1][1] - box[0][1]),
        rtol=1e-12,
    )


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40))
def test_floats_become_the_integers_of_their_exact_values(values):
    # The exact arithmetic reads every weight as an integer over one power of two.
    n = len(values)
    network = Network([np.array([values]), np.ones((n, 1))], [np.zeros(n), np.zeros(1)])
    exact = ExactNetwork(network, [-1.0, 1.0])
    ints = exact.weights(0)[0].tolist()
    assert [Fraction(v) for v in values] == [Fraction(i) * Fraction(2) ** exact.e0 for i in ints]
    assert all(isinstance(i, int) for i in ints)
    # A unit's line from its own column, the matrix not converted, is the same.
    fresh = ExactNetwork(network, [-1.0, 1.0])
    for unit in range(n):
        assert fresh.unit_line(0, unit, []) == exact.unit_line(0, unit, [])
