"""Exact decision boundaries of two-input classifiers.

On each activation region the logits are affine, so the boundary inside a
region is a straight segment: where the logit is zero (binary ``logistic``)
or where two logits are equal and no third is larger (``softmax``). Each
candidate line is clipped to every region at once with
:func:`relumap_service.core.clipping.split_convex`; for ``softmax`` the chord is
then clipped to the part where its two classes are on top, a one-dimensional
linear-programming step along the chord.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> from relumap_service.core.regions import regions_2d
>>> net = Network([np.eye(2), np.array([[1.0], [1.0]])], [np.zeros(2), np.array([-1.0])],
...               output_activation="logistic")
>>> db = decision_boundary(regions_2d(net, ((-2, -2), (2, 2))), net)
>>> db.n_segments, round(db.length, 6)
(3, 5.414214)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from relumap_geometry import DecisionBoundary
from relumap_service.core.clipping import pad_polygons, split_by_values
from relumap_service.core.indexing import nonzero_2d
from relumap_service.core.network import Network
from relumap_service.core.region_map import Box, Regions2D

__all__ = ["DecisionBoundary", "decision_boundary"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _predicted(network: Network, points: FloatArray) -> IntArray:
    logits = network.logits(points)
    if logits.shape[1] == 1:
        label: IntArray = (logits[:, 0] > 0).astype(np.int64)
    else:
        label = np.argmax(logits, axis=1).astype(np.int64)
    return label


def _tolerance(m: FloatArray, box: Box, rtol: float) -> FloatArray:
    """How close to zero a logit difference ``m`` (rows g_x, g_y, c) counts as zero.

    ``rtol`` times the largest scale of the differences on the box, plus
    ``1e-12`` times the size of the terms (their rounding error).
    """
    (x0, y0), (x1, y1) = box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
    reach = np.maximum(np.abs([x0, y0]), np.abs([x1, y1]))
    at_centre = m[:, 0] * centre[0] + m[:, 1] * centre[1] + m[:, 2]
    scale = np.abs(m[:, 0]) * half[0] + np.abs(m[:, 1]) * half[1] + np.abs(at_centre)
    terms = np.abs(m[:, 0]) * reach[0] + np.abs(m[:, 1]) * reach[1] + np.abs(m[:, 2])
    out: FloatArray = 1e-12 * terms + rtol * (scale + float(scale.max(initial=0.0)))
    return out


def _edge_segments(
    network: Network,
    verts: FloatArray,
    counts: IntArray,
    values: FloatArray,
    tol: FloatArray,
    regions: IntArray,
    step: float,
    pair: tuple[int, int],
) -> tuple[FloatArray, IntArray]:
    """Boundary lying exactly along region edges, seen from the positive side."""
    width = verts.shape[1]
    cols = np.arange(width)
    valid = cols < counts[:, None]
    zero = (np.abs(values) <= tol[:, None]) & valid
    nxt = np.where(cols + 1 < counts[:, None], cols + 1, 0)
    zero_next = np.take_along_axis(zero, nxt, axis=1)
    above = np.any(values > tol[:, None], axis=1)
    positive = above & np.logical_not(np.any(values < -tol[:, None], axis=1))
    poly, col = nonzero_2d(zero & zero_next & valid & positive[:, None])
    if poly.size == 0:
        return np.zeros((0, 2, 2)), np.zeros(0, np.int64)
    start = verts[poly, col]
    end = verts[poly, nxt[poly, col]]
    mid = 0.5 * (start + end)
    d = end - start
    outward = np.stack([d[:, 1], -d[:, 0]], axis=1) / np.hypot(d[:, 0], d[:, 1])[:, None]
    inside = _predicted(network, mid - step * outward)
    outside = _predicted(network, mid + step * outward)
    ok = (inside == pair[0]) & (outside == pair[1])
    return np.stack([start[ok], end[ok]], axis=1), regions[poly[ok]]


def decision_boundary(
    regions: Regions2D, network: Network, *, rtol: float = 1e-10
) -> DecisionBoundary:
    """Compute the exact decision boundary of a classifier on its region map.

    Parameters
    ----------
    regions : Regions2D
        The region map of ``network`` (from :func:`regions_2d`).
    network : Network
        A binary classifier (``output_activation="logistic"``, one output) or a
        ``softmax`` classifier.
    rtol : float, default=1e-10
        Tolerance, relative to the logits' scale on the box, for a vertex to
        lie on the boundary.

    Returns
    -------
    DecisionBoundary

    Raises
    ------
    ValueError
        If the network is not a binary logistic or a softmax classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from relumap_service.core.network import Network
    >>> from relumap_service.core.regions import regions_2d
    >>> net = Network([np.eye(2)], [np.zeros(2)], output_activation="softmax")
    >>> decision_boundary(regions_2d(net, ((-1, -1), (1, 1))), net).segments.tolist()
    [[[1.0, 1.0], [-1.0, -1.0]]]
    """
    kind, n_out = network.output_activation, network.n_outputs
    if not ((kind == "logistic" and n_out == 1) or (kind == "softmax" and n_out >= 2)):
        raise ValueError(
            f"a decision boundary needs a binary logistic classifier (one output) or a "
            f"softmax classifier, got output_activation={kind!r} with {n_out} outputs"
        )
    verts, counts = pad_polygons(regions.vertices, regions.offsets)
    (x0, y0), (x1, y1) = regions.box
    step = 1e-7 * float(np.hypot(x1 - x0, y1 - y0))
    ids = np.arange(regions.n_regions)
    grads, offs = regions.gradients, regions.intercepts
    pairs = [(1, 0)] if n_out == 1 else [(a, b) for a in range(n_out) for b in range(a + 1, n_out)]
    segments, owners, classes = [], [], []
    for a, b in pairs:
        if n_out == 1:
            g, c = grads[:, 0], offs[:, 0]
        else:
            g, c = grads[:, a] - grads[:, b], offs[:, a] - offs[:, b]
        values = verts[..., 0] * g[:, 0, None] + verts[..., 1] * g[:, 1, None] + c[:, None]
        m = np.concatenate([g, c[:, None]], axis=1)
        tol = _tolerance(m, regions.box, rtol)
        cut = split_by_values(verts, np.zeros(verts.shape[:2], np.int64), counts, values, tol)
        start, end, owner = cut.chord_start, cut.chord_end, ids[cut.split]
        if n_out > 2:
            start, end, keep = _clip_to_top(start, end, grads[owner], offs[owner], a, b)
            owner = owner[keep]
        edge, edge_owner = _edge_segments(network, verts, counts, values, tol, ids, step, (a, b))
        segments += [np.stack([start, end], axis=1), edge]
        owners += [owner, edge_owner]
        classes.append(np.tile([a, b], (owner.size + edge_owner.size, 1)))
    return DecisionBoundary(
        segments=np.concatenate(segments),
        region=np.concatenate(owners).astype(np.int64),
        classes=np.concatenate(classes).astype(np.int64),
    )


def _clip_to_top(
    start: FloatArray, end: FloatArray, grads: FloatArray, offs: FloatArray, a: int, b: int
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Keep the part of each chord where classes ``a`` and ``b`` beat all others."""
    h_start = (
        np.einsum("nkd,nd->nk", grads[:, a : a + 1] - grads, start) + offs[:, a : a + 1] - offs
    )
    h_end = np.einsum("nkd,nd->nk", grads[:, a : a + 1] - grads, end) + offs[:, a : a + 1] - offs
    h_start[:, [a, b]] = 0.0
    h_end[:, [a, b]] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        root = h_start / (h_start - h_end)
    rising = (h_start < 0) & (h_end >= 0)
    falling = (h_start >= 0) & (h_end < 0)
    never = (h_start < 0) & (h_end < 0)
    t_lo = np.where(rising, root, 0.0).max(axis=1, initial=0.0)
    t_hi = np.where(falling, root, 1.0).min(axis=1, initial=1.0)
    keep = (t_hi - t_lo > 1e-9) & ~never.any(axis=1)
    d = end - start
    return (start + t_lo[:, None] * d)[keep], (start + t_hi[:, None] * d)[keep], keep
