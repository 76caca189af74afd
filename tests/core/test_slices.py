"""Slices of many-input networks, checked against the full network's forward pass."""

import numpy as np
import pytest
from geometry_oracles import all_patterns, he_network, inside_convex, pre_activations
from sklearn.neural_network import MLPRegressor

from relumap_service.core.knots import knots_1d
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d
from relumap_service.core.slices import AffineSlice, affine_of_patterns, axis_slice, restrict


def _owners(regions, points):
    """Index of the region holding each point (points on edges are dropped: -1)."""
    owner = np.full(len(points), -1)
    for i, poly in enumerate(regions.polygons):
        owner[inside_convex(points, poly, eps=1e-12)] = i
    return owner


@pytest.mark.parametrize(
    ("sizes", "seed", "activation"),
    [
        ((5, 12, 1), 0, "relu"),
        ((5, 10, 10, 2), 1, "relu"),
        ((7, 8, 8, 3), 2, "leaky_relu"),
    ],
)
def test_plane_slice_equals_the_hand_composed_network_and_the_full_forward_pass(
    sizes, seed, activation
):
    net = he_network(sizes, seed, activation=activation)
    rng = np.random.default_rng(seed)
    d = sizes[0]
    origin, u, v = rng.normal(size=d), rng.normal(size=d), rng.normal(size=d)
    # By hand: x = origin + s u + t v, so x @ W1 + b1 = [s, t] @ [u; v] @ W1 + (origin @ W1 + b1).
    by_hand = Network(
        [np.array([u @ net.coefs[0], v @ net.coefs[0]]), *net.coefs[1:]],
        [origin @ net.coefs[0] + net.intercepts[0], *net.intercepts[1:]],
        hidden_activation=activation,
    )
    box = ((-2.0, -1.5), (1.5, 2.0))
    ours = regions_2d(restrict(net, origin, np.stack([u, v])), box)
    theirs = regions_2d(by_hand, box)
    np.testing.assert_allclose(ours.vertices, theirs.vertices, atol=1e-12)
    np.testing.assert_array_equal(ours.patterns, theirs.patterns)

    # Independent of the composition: the full network at the plane's points.
    st = rng.uniform(box[0], box[1], (4000, 2))
    X = origin + st @ np.stack([u, v])
    owner = _owners(ours, st)
    keep = owner >= 0
    slice_pred = np.einsum("nkd,nd->nk", ours.gradients[owner[keep]], st[keep])
    slice_pred += ours.intercepts[owner[keep]]
    scale = 1.0 + np.abs(net.logits(X)).max()
    np.testing.assert_allclose(slice_pred, net.logits(X[keep]), atol=1e-9 * scale, rtol=0)
    pre = pre_activations(net, X[keep])
    clear = np.abs(pre) > 1e-9 * (1.0 + np.abs(pre).max())
    np.testing.assert_array_equal(ours.patterns[owner[keep]][clear], (pre > 0)[clear])


def test_line_slice_patterns_match_dense_sampling_of_the_full_network():
    net = he_network((6, 16, 16, 1), 3)
    rng = np.random.default_rng(3)
    start, end = rng.normal(size=6) * 2, rng.normal(size=6) * 2
    line = AffineSlice(start, (end - start)[None, :])
    knots = knots_1d(restrict(net, line.origin, line.directions), 0.0, 1.0)
    assert knots.n_pieces > 3  # the test means something only if the line crosses units
    t = np.linspace(0.0, 1.0, 200_001)
    X = line.points(t[:, None])
    np.testing.assert_allclose(X[-1], end, atol=1e-12)
    sampled = all_patterns(net, X)
    piece = np.clip(np.searchsorted(knots.piece_hi, t, side="left"), 0, knots.n_pieces - 1)
    # Samples a hair away from every breakpoint have the piece's pattern.
    gap = np.min(np.abs(t[:, None] - knots.breakpoints[None, :]), axis=1, initial=np.inf)
    away = gap > 1e-7
    np.testing.assert_array_equal(sampled[away], knots.patterns[piece[away]])
    # And every pattern the samples show is one of the pieces.
    assert {p.tobytes() for p in sampled} <= {p.tobytes() for p in knots.patterns}
    np.testing.assert_allclose(knots.evaluate(t), net.logits(X), atol=1e-9, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_d5_fitted_model_plane_through_features_0_and_3_at_a_data_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = np.abs(X[:, 0]) - X[:, 3] * X[:, 1] + np.maximum(X[:, 2], 0.0)
    mlp = MLPRegressor(hidden_layer_sizes=(16, 16), max_iter=300, random_state=0).fit(X, y)
    net = Network.from_sklearn(mlp)
    row = X[17]
    plane = axis_slice(row, [0, 3])
    box = ((X[:, 0].min(), X[:, 3].min()), (X[:, 0].max(), X[:, 3].max()))
    regions = regions_2d(restrict(net, plane.origin, plane.directions), box)
    assert regions.n_regions > 10
    st = rng.uniform(box[0], box[1], (5000, 2))
    points = np.tile(row, (len(st), 1))
    points[:, 0], points[:, 3] = st[:, 0], st[:, 1]
    owner = _owners(regions, st)
    keep = owner >= 0
    assert keep.mean() > 0.99
    mapped = np.einsum("nkd,nd->nk", regions.gradients[owner[keep]], st[keep])
    mapped += regions.intercepts[owner[keep]]
    np.testing.assert_allclose(mapped[:, 0], mlp.predict(points[keep]), atol=1e-9, rtol=0)
    # The data row itself lies on the plane at (x0, x3).
    np.testing.assert_allclose(plane.points([[row[0], row[3]]])[0], row, atol=0)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "identity"])
def test_full_space_maps_equal_local_affine_and_finite_differences(activation):
    net = he_network((4, 9, 9, 2), 7, activation=activation)
    rng = np.random.default_rng(7)
    origin, u, v = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    directions = np.stack([u, v])
    regions = regions_2d(restrict(net, origin, directions), ((-1.0, -1.0), (1.0, 1.0)))
    gradients, intercepts = affine_of_patterns(net, regions.patterns)
    assert gradients.shape == (regions.n_regions, 2, 4)
    inner = origin + regions.interior_points @ directions
    g_local, b_local = net.local_affine(inner)
    np.testing.assert_allclose(gradients, g_local, atol=1e-12)
    np.testing.assert_allclose(intercepts, b_local, atol=1e-12)
    # Chained with the slice's directions, the full map gives the slice's map.
    np.testing.assert_allclose(gradients @ directions.T, regions.gradients, atol=1e-10)
    # Finite differences along every input at the interior points (one region each).
    h = 1e-7
    for j in range(4):
        step = np.eye(4)[j] * h
        fd = (net.logits(inner + step) - net.logits(inner - step)) / (2 * h)
        np.testing.assert_allclose(gradients[:, :, j], fd, atol=1e-5)


def test_axis_slice_coordinates_are_the_features_own_values():
    reference = np.array([1.0, 2.0, 3.0, 4.0])
    line = axis_slice(reference, [2])
    np.testing.assert_array_equal(line.points([[3.0]])[0], reference)
    np.testing.assert_array_equal(line.points([[-1.0]])[0], [1.0, 2.0, -1.0, 4.0])
    plane = axis_slice(reference, [3, 0])
    np.testing.assert_array_equal(plane.points([[7.0, 8.0]])[0], [8.0, 2.0, 3.0, 7.0])


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: axis_slice(np.zeros(3), [1, 1]), "distinct"),
        (lambda: axis_slice(np.zeros(3), [3]), "distinct"),
        (lambda: AffineSlice(np.zeros(3), np.zeros((1, 3))), "zero"),
        (lambda: AffineSlice(np.zeros(3), [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]), "parallel"),
        (lambda: AffineSlice(np.zeros(3), np.ones((1, 2))), "do not match"),
        (lambda: AffineSlice(np.zeros(3), np.ones((3, 3))), "1 or 2 directions"),
        (lambda: restrict(he_network((2, 3, 1), 0), np.zeros(3), np.eye(3)[:1]), "2 inputs"),
    ],
)
def test_bad_slices_say_what_is_wrong(build, fragment):
    with pytest.raises(ValueError, match=fragment):
        build()
