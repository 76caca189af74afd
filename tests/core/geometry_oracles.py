"""Independent oracles for the geometry tests: dense sampling, bisection, point-in-polygon.

Nothing here calls the code under test; it only uses ``Network.forward``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from relumap_service.core.network import Network


def he_network(
    sizes: Sequence[int],
    seed: int,
    *,
    activation: str = "relu",
    output_activation: str = "identity",
    bias_std: float = 0.1,
) -> Network:
    """He-initialised network: weights N(0, 2 / n_in), biases N(0, bias_std^2)."""
    rng = np.random.default_rng(seed)
    coefs = [
        rng.normal(0.0, np.sqrt(2.0 / a), (a, b))
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    intercepts = [rng.normal(0.0, bias_std, b) for b in sizes[1:]]
    return Network(
        coefs, intercepts, hidden_activation=activation, output_activation=output_activation
    )


def pre_activations(net: Network, X: np.ndarray) -> np.ndarray:
    """All hidden pre-activations, layer 1 first, shape (n_samples, n_hidden_total)."""
    h = np.asarray(X, dtype=float)
    out = []
    for w, b in zip(net.coefs[:-1], net.intercepts[:-1], strict=True):
        pre = h @ w + b
        out.append(pre)
        h = net.activate(pre)
    return np.concatenate(out, axis=1) if out else np.zeros((h.shape[0], 0))


def all_patterns(net: Network, X: np.ndarray) -> np.ndarray:
    _, pats = net.forward(X, return_patterns=True)
    return np.concatenate(pats, axis=1) if pats else np.zeros((len(X), 0), bool)


def oracle_breakpoints_1d(net: Network, lo: float, hi: float, n_grid: int = 200_001):
    """Dense grid of activation patterns, then bisection of every unit's switch.

    Returns (x, column) sorted by x: every point where a unit changes state.
    """
    grid = np.linspace(lo, hi, n_grid)
    pat = all_patterns(net, grid[:, None])
    cell, column = np.nonzero(pat[1:] != pat[:-1])
    a, b = grid[cell].copy(), grid[cell + 1].copy()
    state_a = pat[cell, column]
    for _ in range(60):
        mid = 0.5 * (a + b)
        state = all_patterns(net, mid[:, None])[np.arange(mid.size), column]
        same = state == state_a
        a = np.where(same, mid, a)
        b = np.where(same, b, mid)
    x = 0.5 * (a + b)
    order = np.lexsort((column, x))
    return x[order], column[order]


def inside_convex(points: np.ndarray, polygon: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """Which points lie inside a counter-clockwise convex polygon (margin eps)."""
    edges = np.roll(polygon, -1, axis=0) - polygon
    rel = points[:, None, :] - polygon[None, :, :]
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
    return np.all(cross > eps, axis=1)


def signed_area(polygon: np.ndarray) -> float:
    local = polygon - polygon[0]
    x, y = local[:, 0], local[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def check_partition(net, box, r, n_points=3000, seed=0):
    """Independent checks of a region map against geometry and the forward pass."""
    (x0, y0), (x1, y1) = box
    box_area = (x1 - x0) * (y1 - y0)
    np.testing.assert_allclose(r.areas.sum(), box_area, rtol=1e-9)
    assert r.offsets[0] == 0 and r.offsets[-1] == len(r.vertices)
    for poly, area in zip(r.polygons, r.areas, strict=True):
        assert len(poly) >= 3
        np.testing.assert_allclose(signed_area(poly), area, rtol=1e-9, atol=1e-14 * box_area)
        assert area > 0
        edges = np.roll(poly, -1, axis=0) - poly
        assert np.all(np.hypot(edges[:, 0], edges[:, 1]) > 0), "duplicate vertex"
        turn = (
            edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1]
            - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
        )
        size = np.hypot(edges[:, 0], edges[:, 1])
        assert np.all(turn >= -1e-9 * size * np.roll(size, -1)), "not convex or not CCW"
        assert np.all(poly[:, 0] >= x0 - 1e-12) and np.all(poly[:, 0] <= x1 + 1e-12)
        assert np.all(poly[:, 1] >= y0 - 1e-12) and np.all(poly[:, 1] <= y1 + 1e-12)
    # Random points: exactly one polygon holds each, with the forward pattern and logits.
    rng = np.random.default_rng(seed)
    pts = rng.uniform([x0, y0], [x1, y1], (n_points, 2))
    owner = np.full(n_points, -1)
    hits = np.zeros(n_points, int)
    for i, poly in enumerate(r.polygons):
        inside = inside_convex(pts, poly)
        hits += inside
        owner[inside] = i
    assert np.all(hits == 1)
    if net.hidden_activation != "identity":
        # A pre-activation that is zero up to rounding has no meaningful sign.
        pre = pre_activations(net, pts)
        clear = np.abs(pre) > 1e-9 * (1.0 + np.abs(pre).max(initial=0.0))
        np.testing.assert_array_equal(r.patterns[owner][clear], (pre > 0)[clear])
    logits = net.logits(pts)
    scale = 1.0 + np.abs(logits).max()
    pred = np.einsum("nkd,nd->nk", r.gradients[owner], pts) + r.intercepts[owner]
    np.testing.assert_allclose(pred, logits, atol=1e-9 * scale, rtol=0)
    # The affine map of each region matches the network at the region's own vertices.
    which = np.repeat(np.arange(r.n_regions), np.diff(r.offsets))
    at_vertices = np.einsum("nkd,nd->nk", r.gradients[which], r.vertices) + r.intercepts[which]
    np.testing.assert_allclose(at_vertices, net.logits(r.vertices), atol=1e-9 * scale, rtol=1e-9)
    # Interior points are strictly inside their own region.
    for i, poly in enumerate(r.polygons):
        assert inside_convex(r.interior_points[i : i + 1], poly)[0]
    assert r.n_regions <= r.bound
