import json

import numpy as np
import pytest
from geometry_oracles import all_patterns, he_network, oracle_breakpoints_1d
from hypothesis import given
from hypothesis import strategies as st

from relumap_service.core.knots import _distinct_at_least, knots_1d
from relumap_service.core.limits import WorkLimitExceeded
from relumap_service.core.network import Network

DEEP = [
    ((1, 8, 1), 0),
    ((1, 16, 16, 1), 1),
    ((1, 12, 12, 12, 1), 2),
    ((1, 32, 32, 32, 1), 3),
    ((1, 24, 24, 2), 4),
    ((1, 6, 6, 6, 6, 6, 1), 5),
]


@pytest.mark.parametrize(("sizes", "seed"), DEEP)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_breakpoints_match_dense_bisection_oracle(sizes, seed, activation):
    net = he_network(sizes, seed, activation=activation)
    x, column = oracle_breakpoints_1d(net, -3.0, 3.0)
    k = knots_1d(net, -3.0, 3.0)
    assert k.breakpoints.shape == x.shape
    np.testing.assert_allclose(k.breakpoints, x, atol=1e-9, rtol=0)
    layer_of = np.repeat(np.arange(1, len(sizes) - 1), sizes[1:-1])
    unit_of = np.concatenate([np.arange(n) for n in sizes[1:-1]])
    np.testing.assert_array_equal(k.breakpoint_layer, layer_of[column])
    np.testing.assert_array_equal(k.breakpoint_unit, unit_of[column])


@pytest.mark.parametrize(("sizes", "seed"), DEEP)
def test_pieces_cover_domain_and_reproduce_forward(sizes, seed):
    net = he_network(sizes, seed)
    lo, hi = -3.0, 3.0
    k = knots_1d(net, lo, hi)
    assert k.piece_lo[0] == lo and k.piece_hi[-1] == hi
    np.testing.assert_array_equal(k.piece_hi[:-1], k.piece_lo[1:])
    assert np.all(k.piece_hi > k.piece_lo)
    scale = 1.0 + np.abs(net.logits(np.linspace(lo, hi, 101)[:, None])).max()
    for ends in (k.piece_lo, k.piece_hi):
        from_pieces = k.slopes * ends[:, None] + k.intercepts
        np.testing.assert_allclose(
            from_pieces, net.logits(ends[:, None]), atol=1e-9 * scale, rtol=0
        )
    # Pattern of each piece is the forward pattern at its midpoint.
    mid = 0.5 * (k.piece_lo + k.piece_hi)
    np.testing.assert_array_equal(k.patterns, all_patterns(net, mid[:, None]))


@pytest.mark.parametrize(("sizes", "seed"), DEEP)
def test_continuity_and_knots_are_slope_changes(sizes, seed):
    net = he_network(sizes, seed)
    k = knots_1d(net, -3.0, 3.0)
    b = k.piece_hi[:-1]
    left = k.slopes[:-1] * b[:, None] + k.intercepts[:-1]
    right = k.slopes[1:] * b[:, None] + k.intercepts[1:]
    scale = 1.0 + np.abs(left).max(initial=0.0)
    np.testing.assert_allclose(left, right, atol=1e-9 * scale, rtol=0)
    # Finite-difference slopes on either side of every breakpoint, from forward only.
    points = np.unique(k.breakpoints)
    gaps = np.diff(np.concatenate([[-3.0], points, [3.0]]))
    h = 0.25 * np.minimum(gaps[:-1], gaps[1:])
    f = lambda x: net.logits(x[:, None])  # noqa: E731
    s_left = (f(points - h) - f(points - 2 * h)) / h[:, None]
    s_right = (f(points + 2 * h) - f(points + h)) / h[:, None]
    jump = np.abs(s_right - s_left).max(axis=1)
    slope_scale = np.abs(k.slopes).max()
    expected_knots = points[jump > 1e-6 * slope_scale]
    np.testing.assert_allclose(k.x, expected_knots, atol=1e-12)
    assert k.n_knots <= k.bound


def test_one_layer_reaches_bound_when_all_kinks_inside():
    rng = np.random.default_rng(7)
    n = 12
    kinks = np.sort(rng.uniform(-2.5, 2.5, n))
    w = rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 2.0, n)
    net = Network([w[None, :], rng.uniform(0.5, 1.5, (n, 1))], [-w * kinks, [0.3]])
    k = knots_1d(net, -3.0, 3.0)
    assert k.bound == n
    np.testing.assert_allclose(k.x, kinks, atol=1e-12)


def test_deep_bound_is_product_of_widths_plus_one():
    net = he_network((1, 3, 4, 1), 0)
    assert knots_1d(net, -1.0, 1.0).bound == 4 * 5 - 1


def test_identity_network_is_one_piece_with_collapsed_map():
    net = he_network((1, 5, 5, 2), 3, activation="identity")
    k = knots_1d(net, -2.0, 2.0)
    assert k.n_pieces == 1 and k.n_knots == 0 and k.bound == 0 and k.breakpoints.size == 0
    w = net.coefs[0] @ net.coefs[1] @ net.coefs[2]
    b = (net.intercepts[0] @ net.coefs[1] + net.intercepts[1]) @ net.coefs[2] + net.intercepts[2]
    np.testing.assert_allclose(k.slopes[0], w[0], rtol=1e-12)
    np.testing.assert_allclose(k.intercepts[0], b, rtol=1e-12)
    assert k.patterns.all()


def test_leaky_relu_slopes_use_negative_slope():
    net = Network(
        [np.array([[1.0]]), np.array([[1.0]])],
        [np.zeros(1), np.zeros(1)],
        hidden_activation="leaky_relu",
        negative_slope=0.2,
    )
    k = knots_1d(net, -1.0, 1.0)
    np.testing.assert_allclose(k.x, [0.0])
    np.testing.assert_allclose(k.slopes.ravel(), [0.2, 1.0])


def _dense_classes(net, lo, hi, n=400_001):
    grid = np.linspace(lo, hi, n)
    z = net.logits(grid[:, None])
    label = (z[:, 0] > 0).astype(int) if z.shape[1] == 1 else np.argmax(z, axis=1)
    return grid, label


@pytest.mark.parametrize(
    ("sizes", "output", "seed"),
    [
        ((1, 16, 16, 1), "logistic", 1),
        ((1, 10, 10, 10, 1), "logistic", 0),
        ((1, 16, 16, 3), "softmax", 1),
        ((1, 8, 8, 5), "softmax", 2),
    ],
)
def test_class_constant_between_class_changes(sizes, output, seed):
    net = he_network(sizes, seed, output_activation=output, bias_std=0.5)
    k = knots_1d(net, -3.0, 3.0)
    grid, label = _dense_classes(net, -3.0, 3.0)
    segment = np.searchsorted(k.class_changes, grid)
    # Away from the change points the dense class equals the class of its interval.
    near = np.min(np.abs(grid[:, None] - k.class_changes[None, :]), axis=1, initial=np.inf) < 1e-9
    np.testing.assert_array_equal(label[~near], k.classes[segment[~near]])
    assert np.all(k.classes[1:] != k.classes[:-1])
    assert k.class_changes.size >= 1


def test_regressor_has_no_class_changes():
    k = knots_1d(he_network((1, 4, 1), 0), -1, 1)
    assert k.class_changes is None and k.classes is None


@pytest.mark.parametrize(("lo", "hi"), [(1.0, 1.0), (2.0, -2.0), (-np.inf, 1.0), (0.0, np.nan)])
def test_bad_domain_raises(lo, hi):
    with pytest.raises(ValueError, match="domain"):
        knots_1d(he_network((1, 3, 1), 0), lo, hi)


def test_two_input_network_is_refused():
    with pytest.raises(ValueError, match="one input"):
        knots_1d(he_network((2, 3, 1), 0), -1, 1)


def test_to_dict_is_compact_json():
    net = he_network((1, 6, 6, 1), 2, output_activation="logistic")
    k = knots_1d(net, -3, 3)
    doc = json.loads(json.dumps(k.to_dict()))
    assert set(doc) == {
        "lo",
        "hi",
        "n_knots",
        "n_pieces",
        "bound",
        "knots",
        "breakpoints",
        "breakpoint_layer",
        "breakpoint_unit",
        "piece_lo",
        "piece_hi",
        "slopes",
        "intercepts",
        "patterns",
        "class_changes",
        "classes",
        "certificate",
    }
    assert len(doc["patterns"]) == k.n_pieces and len(doc["patterns"][0]) == 12
    assert np.asarray(doc["slopes"]).shape == (k.n_pieces, 1)


def test_a_refusal_comes_at_the_first_layer_beyond_the_limit_with_a_true_lower_bound():
    net = he_network((1, 16, 16, 16, 1), 7)
    # Pieces after each hidden layer: the network cut after it, summed to one output.
    after = [
        knots_1d(
            Network([*net.coefs[:k], np.ones((16, 1))], [*net.intercepts[:k], np.zeros(1)]),
            -3.0,
            3.0,
        ).n_pieces
        for k in (1, 2, 3)
    ]
    assert after == sorted(after) and after[0] < after[-1]
    for limit in sorted({*after, *(n - 1 for n in after), 1, 30, 200, after[-1] + 5}):
        beyond = [n for n in after if n > limit]
        if not beyond:
            assert knots_1d(net, -3.0, 3.0, max_pieces=limit).n_pieces == after[-1]
            continue
        with pytest.raises(WorkLimitExceeded) as refused:
            knots_1d(net, -3.0, 3.0, max_pieces=limit)
        assert refused.value.limit == limit < refused.value.count <= beyond[0]


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 6),
            st.sampled_from([0.0, 1e-9, 0.01, 0.3, 2.0, np.inf, np.nan]),
            st.floats(-1, 1),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_the_distinct_root_bound_never_exceeds_the_distinct_roots(rows):
    # Pieces [k, k + 1] of [0, 4]; exact roots on a grid of sevenths inside
    # them, with repeats; each trusted float root within its error of the
    # exact one, the others anything (here far outside, with a negative bound).
    x = np.arange(5.0)
    x_err = np.full(5, 1e-3)
    piece = np.array([r[0] for r in rows], dtype=np.int64)
    exact = piece + (np.array([r[1] for r in rows]) + 0.5) / 7
    root_err = np.array([r[2] for r in rows])
    trusted = np.isfinite(root_err) & np.array([r[4] for r in rows], dtype=bool)
    with np.errstate(invalid="ignore"):
        root = np.where(trusted, exact + np.array([r[3] for r in rows]) * root_err, 9.0)
    root_err[~trusted] = -1.0
    at_least = _distinct_at_least(x, x_err, piece, root, root_err, trusted)
    assert at_least <= np.unique(exact).size
    if rows and np.all(trusted) and np.all(root_err <= 1e-9):
        assert at_least == np.unique(exact).size
