"""Lines through vertices, parallel and coincident lines, zero weights, extreme scales."""

import numpy as np
import pytest
from geometry_oracles import check_partition, he_network

from relumap_service.core.knots import knots_1d
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d

SQUARE = ((-1.0, -1.0), (1.0, 1.0))


def one_layer(w, b, out=None):
    w = np.asarray(w, float).T  # rows given as (w_x, w_y)
    out = np.ones((w.shape[1], 1)) if out is None else np.asarray(out, float)
    return Network([w, out], [np.asarray(b, float), np.zeros(out.shape[1])])


@pytest.mark.parametrize(
    ("w", "b", "n_regions", "areas"),
    [
        # Touches the corner (1, 1) only: no split.
        ([[1, 1]], [-2], 1, [4.0]),
        # The diagonal through two corners.
        ([[1, -1]], [0], 2, [2.0, 2.0]),
        # Along an edge of the box.
        ([[1, 0]], [-1], 1, [4.0]),
        # Three lines through the origin.
        ([[1, 0], [0, 1], [1, 1]], [0, 0, 0], 6, None),
        # A third line through the crossing of two others, and through two corners.
        ([[1, 0], [0, 1], [1, -1]], [0, 0, 0], 6, None),
        # Parallel lines.
        ([[1, 0], [2, 0], [1, 0]], [0.5, -1, -0.5], 3, [1.0, 1.0, 2.0]),
        # Coincident lines: duplicated, opposite and rescaled copies.
        ([[1, 2], [1, 2], [-1, -2], [3, 6]], [0.5, 0.5, -0.5, 1.5], 2, None),
        # Zero weight rows: always on, dead, and zero pre-activation.
        ([[0, 0], [0, 0], [0, 0], [1, 0]], [1, -1, 0, 0], 2, [2.0, 2.0]),
    ],
)
def test_hand_made_degenerate_lines(w, b, n_regions, areas):
    net = one_layer(w, b)
    r = regions_2d(net, SQUARE)
    assert r.n_regions == n_regions
    if areas is not None:
        np.testing.assert_allclose(np.sort(r.areas), np.sort(areas), atol=1e-12)
    check_partition(net, SQUARE, r, n_points=1000)


def test_all_zero_network_is_one_region_with_zero_map():
    net = Network(
        [np.zeros((2, 4)), np.zeros((4, 3)), np.zeros((3, 2))],
        [np.zeros(4), np.zeros(3), np.zeros(2)],
    )
    r = regions_2d(net, SQUARE)
    assert r.n_regions == 1 == r.n_linear_regions
    assert not r.patterns.any()
    np.testing.assert_array_equal(r.gradients, 0.0)
    k = knots_1d(Network([np.zeros((1, 4)), np.zeros((4, 1))], [np.zeros(4), np.zeros(1)]), -1, 1)
    assert k.n_pieces == 1 and k.breakpoints.size == 0


def test_deeper_line_through_a_vertex_and_a_zero_quadrant():
    # Layer 2: relu(x) - relu(y) is zero on the whole third quadrant and on x = y > 0.
    net = Network(
        [np.eye(2), np.array([[1.0], [-1.0]]), np.ones((1, 1))],
        [np.zeros(2), np.zeros(1), np.zeros(1)],
    )
    r = regions_2d(net, SQUARE)
    check_partition(net, SQUARE, r, n_points=2000)
    assert r.n_regions == 5


@pytest.mark.parametrize("seed", range(6))
def test_integer_weights_make_many_coincidences(seed):
    rng = np.random.default_rng(seed)
    sizes = (2, 6, 5, 4, 1)
    coefs = [
        rng.integers(-2, 3, (a, b)).astype(float)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    intercepts = [rng.integers(-2, 3, b).astype(float) for b in sizes[1:]]
    net = Network(coefs, intercepts)
    box = ((-2.0, -2.0), (2.0, 2.0))
    check_partition(net, box, regions_2d(net, box), n_points=1500, seed=seed)


def test_duplicated_neurons_give_the_same_partition():
    net = he_network((2, 7, 5, 1), 4)
    w0, w1, w2 = net.coefs
    b0, b1, b2 = net.intercepts
    # Duplicate every first-layer unit, halving its outgoing weights.
    dup = Network(
        [np.repeat(w0, 2, axis=1), np.repeat(w1, 2, axis=0) / 2, w2], [np.repeat(b0, 2), b1, b2]
    )
    box = ((-3.0, -3.0), (3.0, 3.0))
    a, b = regions_2d(net, box), regions_2d(dup, box)
    assert a.n_regions == b.n_regions
    np.testing.assert_allclose(np.sort(a.areas), np.sort(b.areas), rtol=1e-9)
    check_partition(dup, box, b, n_points=1000)


@pytest.mark.parametrize("scale", [1e6, 1e-6])
def test_extreme_weight_scales(scale):
    # ReLU is positively homogeneous: scaling every layer keeps the partition.
    net = he_network((2, 9, 9, 1), 6)
    scaled = Network(
        [w * scale for w in net.coefs], [b * scale ** (i + 1) for i, b in enumerate(net.intercepts)]
    )
    box = ((-3.0, -3.0), (3.0, 3.0))
    a, b = regions_2d(net, box), regions_2d(scaled, box)
    assert a.n_regions == b.n_regions
    np.testing.assert_allclose(np.sort(a.areas), np.sort(b.areas), rtol=1e-9)
    check_partition(scaled, box, b, n_points=1000)


@pytest.mark.parametrize("scale", [1e6, 1e-6])
def test_extreme_box_scales(scale):
    net = he_network((2, 9, 9, 1), 7)
    # Same network seen through x -> x / scale on a box scaled by `scale`.
    zoomed = Network([net.coefs[0] / scale, *net.coefs[1:]], list(net.intercepts))
    box = ((-3.0 * scale, -3.0 * scale), (3.0 * scale, 3.0 * scale))
    a, b = regions_2d(net, ((-3.0, -3.0), (3.0, 3.0))), regions_2d(zoomed, box)
    assert a.n_regions == b.n_regions
    np.testing.assert_allclose(np.sort(a.areas) * scale**2, np.sort(b.areas), rtol=1e-9)
    check_partition(zoomed, box, b, n_points=1000)
    k1 = knots_1d(Network([net.coefs[0][:1], *net.coefs[1:]], list(net.intercepts)), -3, 3)
    k2 = knots_1d(
        Network([net.coefs[0][:1] / scale, *net.coefs[1:]], list(net.intercepts)),
        -3 * scale,
        3 * scale,
    )
    np.testing.assert_allclose(k1.x * scale, k2.x, rtol=1e-9, atol=0)


def test_knots_with_coincident_and_touching_units_1d():
    # Units 0 and 1 switch at the same point; unit 2 switches where unit 0 is exactly 0.
    net = Network(
        [
            np.array([[1.0, 2.0, -1.0]]),
            np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]),
            np.ones((2, 1)),
        ],
        [np.array([0.0, 0.0, 0.0]), np.array([-0.0, 0.0]), np.zeros(1)],
    )
    k = knots_1d(net, -1.0, 1.0)
    np.testing.assert_allclose(k.x, [0.0])
    assert k.breakpoints.tolist() == [0.0] * 5
    assert list(zip(k.breakpoint_layer.tolist(), k.breakpoint_unit.tolist(), strict=True)) == [
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 0),
        (2, 1),
    ]


def test_box_far_from_the_origin():
    centre = np.array([1e6, -2e6])
    base = he_network((2, 8, 8, 1), 10)
    # The same network moved so that its lines cross the box around `centre`.
    shifted_bias = base.intercepts[0] - centre @ base.coefs[0]
    net = Network([base.coefs[0], *base.coefs[1:]], [shifted_bias, *base.intercepts[1:]])
    box = ((centre[0] - 2.0, centre[1] - 2.0), (centre[0] + 2.0, centre[1] + 2.0))
    r = regions_2d(net, box)
    near = regions_2d(base, ((-2.0, -2.0), (2.0, 2.0)))
    assert r.n_regions == near.n_regions
    np.testing.assert_allclose(np.sort(r.areas), np.sort(near.areas), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(r.areas.sum(), 16.0, rtol=1e-9)
