"""Invariants of the exact partitions on many small random networks (hypothesis)."""

import numpy as np
from geometry_oracles import check_partition, pre_activations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relumap_service.core.bounds import serra_bound
from relumap_service.core.knots import knots_1d
from relumap_service.core.network import Network
from relumap_service.core.regions import regions_2d

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def networks(draw, n_inputs):
    widths = draw(st.lists(st.integers(1, 7), min_size=1, max_size=3))
    sizes = [n_inputs, *widths, draw(st.integers(1, 3))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    integer = draw(st.booleans())  # small integers make concurrent, parallel and corner lines
    if integer:
        coefs = [
            rng.integers(-2, 3, (a, b)).astype(float)
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        intercepts = [rng.integers(-2, 3, b).astype(float) for b in sizes[1:]]
    else:
        coefs = [
            rng.normal(0, np.sqrt(2 / a), (a, b))
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        intercepts = [rng.normal(0, 0.5, b) for b in sizes[1:]]
    activation = draw(st.sampled_from(["relu", "relu", "leaky_relu", "identity"]))
    return Network(coefs, intercepts, hidden_activation=activation)


boxes = st.tuples(st.integers(-3, 0), st.integers(-3, 0), st.integers(1, 3), st.integers(1, 3)).map(
    lambda t: ((float(t[0]), float(t[1])), (float(t[2]), float(t[3])))
)


@SETTINGS
@given(net=networks(2), box=boxes)
def test_region_map_invariants(net, box):
    r = regions_2d(net, box)
    check_partition(net, box, r, n_points=300)
    if net.hidden_activation == "relu":
        assert r.n_regions <= serra_bound(net.hidden_layer_sizes, 2)
    assert 1 <= r.n_linear_regions <= r.n_regions


@SETTINGS
@given(net=networks(1), lo=st.integers(-4, 0), width=st.integers(1, 6))
def test_knot_invariants(net, lo, width):
    lo, hi = float(lo), float(lo + width)
    k = knots_1d(net, lo, hi)
    assert k.piece_lo[0] == lo and k.piece_hi[-1] == hi
    np.testing.assert_array_equal(k.piece_lo[1:], k.piece_hi[:-1])
    ends = np.concatenate([k.piece_lo, [hi]])
    logits = net.logits(ends[:, None])
    scale = 1 + np.abs(logits).max()
    left = k.slopes * k.piece_lo[:, None] + k.intercepts
    right = k.slopes * k.piece_hi[:, None] + k.intercepts
    np.testing.assert_allclose(left, logits[:-1], atol=1e-9 * scale)
    np.testing.assert_allclose(right, logits[1:], atol=1e-9 * scale)
    if net.hidden_activation == "identity":
        assert k.n_pieces == 1
        return
    mid = 0.5 * (k.piece_lo + k.piece_hi)
    pre = pre_activations(net, mid[:, None])
    # A pre-activation that is zero up to rounding has no meaningful sign.
    clear = np.abs(pre) > 1e-9 * (1.0 + np.abs(pre).max(initial=0.0))
    np.testing.assert_array_equal(k.patterns[clear], (pre > 0)[clear])
    # The units switching at each boundary are exactly those whose forward state differs.
    engine = np.zeros(k.patterns[1:].shape, dtype=bool)
    offsets = np.concatenate([[0], np.cumsum(net.hidden_layer_sizes)])
    boundary = np.searchsorted(k.piece_hi, k.breakpoints)
    engine[boundary, offsets[k.breakpoint_layer - 1] + k.breakpoint_unit] = True
    np.testing.assert_array_equal(k.breakpoints, k.piece_hi[boundary])
    both = clear[1:] & clear[:-1]
    forward = (pre[1:] > 0) != (pre[:-1] > 0)
    np.testing.assert_array_equal(engine[both], forward[both])
    assert k.n_knots <= k.bound


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 40),
    edges=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=60),
)
def test_connected_labels_match_scipy_components(n, edges):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from relumap_service.core.adjacency import connected_labels

    a = np.array([u % n for u, _ in edges], np.int64)
    b = np.array([v % n for _, v in edges], np.int64)
    labels = connected_labels(n, a, b)
    _, expected = connected_components(coo_matrix((np.ones(a.size), (a, b)), shape=(n, n)))
    # The same partition, numbered in order of each component's first node.
    _, first = np.unique(expected, return_index=True)
    np.testing.assert_array_equal(labels, np.argsort(np.argsort(first))[expected])
