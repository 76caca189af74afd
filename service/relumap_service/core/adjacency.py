"""Neighbouring regions and their grouping into linear regions.

Every edge made by a cut carries the id of the line it lies on, and both sides
of a line are tiled by edges carrying that id. Sorting the edges of each line
by their position along it and pairing each edge with the last edge of the
other side that starts before it finds every pair of regions sharing a piece
of the line (a sweep, as in interval-overlap joins). Neighbours whose affine
maps agree (decided exactly in :mod:`relumap_service.core.region_assembly`)
are then joined with a vectorised union-find (hooking and pointer jumping,
Shiloach and Vishkin, "An O(log n) parallel connectivity algorithm",
J. Algorithms 3, 1982).

Examples
--------
>>> import numpy as np
>>> connected_labels(4, np.array([0, 2]), np.array([1, 3])).tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.indexing import nonzero_2d

__all__ = ["adjacent_pairs", "connected_labels"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
TagArray = NDArray[np.signedinteger[Any]]


def _lexsort_pairs(major: IntArray, minor: FloatArray) -> IntArray:
    """Return ``np.lexsort((minor, major))``: by ``major``, then ``minor``, then index.

    numpy's stable sorts are several times slower than its default sort, so
    the order is found with the default sort on unique integer keys: ``major``,
    the rank of ``minor`` (equal values share a rank), and the index.
    """
    n = major.size
    if n == 0 or int(major.min()) < 0 or (int(major.max()) + 1) * n * n >= 2**62:
        out: IntArray = np.lexsort((minor, major))
        return out
    by_minor = np.argsort(minor)
    sorted_minor = minor[by_minor]
    rank = np.empty(n, np.int64)
    rank[by_minor] = np.cumsum(np.concatenate([[0], sorted_minor[1:] != sorted_minor[:-1]]))
    keys = (major.astype(np.int64) * n + rank) * n + np.arange(n)
    order: IntArray = np.argsort(keys)
    return order


def adjacent_pairs(
    verts: FloatArray,
    tags: TagArray,
    counts: IntArray,
    chord_dirs: FloatArray,
    error: FloatArray | None = None,
) -> tuple[IntArray, IntArray]:
    """Pairs of polygons that share a piece of a chord of positive length.

    Parameters
    ----------
    verts : ndarray of shape (n_polygons, max_vertices, 2)
        Padded counter-clockwise polygons.
    tags : ndarray of int of shape (n_polygons, max_vertices)
        Chord id of the edge leaving each vertex, -1 for the box's edges.
    counts : ndarray of int of shape (n_polygons,)
    chord_dirs : ndarray of shape (n_chords, 2)
        Unit direction of each chord, with its positive side on the left.
    error : ndarray of shape (n_polygons,), optional
        Bound on each polygon's vertex coordinate errors: two edges share a
        piece when their overlap exceeds what these errors can explain. By
        default, when it exceeds ``1e-9`` of the longer edge.

    Returns
    -------
    left, right : ndarray of int of shape (n_pairs,)
        Polygon on the positive and on the negative side of a shared edge.
    """
    width = verts.shape[1]
    valid = np.arange(width) < counts[:, None]
    edge = valid & (tags >= 0)
    poly, col = nonzero_2d(edge)
    if poly.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nxt = np.where(col + 1 < counts[poly], col + 1, 0)
    start, end = verts[poly, col], verts[poly, nxt]
    chord = tags[poly, col]
    d = chord_dirs[chord]
    s0 = (start * d).sum(axis=1)
    s1 = (end * d).sum(axis=1)
    positive = s1 > s0
    lo, hi = np.minimum(s0, s1), np.maximum(s0, s1)
    order = _lexsort_pairs(chord, lo)
    poly, chord, positive, lo, hi = poly[order], chord[order], positive[order], lo[order], hi[order]
    index = np.arange(poly.size)
    last_pos = np.maximum.accumulate(np.where(positive, index, -1))
    last_neg = np.maximum.accumulate(np.where(positive, -1, index))
    partner = np.where(positive, last_neg, last_pos)
    has = partner >= 0
    partner = np.where(has, partner, 0)
    length = np.maximum(hi - lo, hi[partner] - lo[partner])
    overlap = np.minimum(hi, hi[partner]) - np.maximum(lo, lo[partner])
    if error is None:
        threshold = 1e-9 * length
    else:
        slack = error[poly] + error[poly[partner]]
        threshold = 3 * slack + 2.0**-50 * np.maximum(np.abs(lo), np.abs(hi))
    ok = has & (chord[partner] == chord) & (overlap > threshold)
    a, b = poly[ok], poly[partner[ok]]
    flip = ~positive[ok]
    return np.where(flip, b, a), np.where(flip, a, b)


def connected_labels(n: int, a: IntArray, b: IntArray) -> IntArray:
    """Label the connected components of a graph given by its edges.

    Parameters
    ----------
    n : int
        Number of nodes.
    a, b : ndarray of int of shape (n_edges,)
        Edge ends.

    Returns
    -------
    ndarray of int of shape (n,)
        Component of each node, numbered from 0 in order of first node.

    Examples
    --------
    >>> connected_labels(5, np.array([4, 1]), np.array([1, 3])).tolist()
    [0, 1, 2, 1, 1]
    """
    labels = np.arange(n, dtype=np.int64)
    if a.size:
        # Only the nodes on an edge can join another: label those, often few.
        nodes, ends = np.unique(np.concatenate([a, b]), return_inverse=True)
        labels[nodes] = nodes[_smallest_in_component(nodes.size, ends[: a.size], ends[a.size :])]
    # Each component is labelled by its first node: number those in order.
    first = labels == np.arange(n)
    out: IntArray = (np.cumsum(first) - 1)[labels]
    return out


def _smallest_in_component(n: int, a: IntArray, b: IntArray) -> IntArray:
    """Return the smallest node of each node's component (edges ``a``-``b``), by pointer jumping."""
    labels = np.arange(n, dtype=np.int64)
    while a.size:
        la, lb = labels[a], labels[b]
        differ = la != lb
        if not differ.any():
            break
        low = np.minimum(la[differ], lb[differ])
        high = np.maximum(la[differ], lb[differ])
        np.minimum.at(labels, high, low)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
    return labels
