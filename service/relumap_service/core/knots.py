"""Exact knots, breakpoints and affine pieces of a scalar-input network.

On an interval where the activation pattern of layers ``1..l-1`` is fixed,
every pre-activation of layer ``l`` is an affine function ``a x + c`` of the
input, so it changes sign at most once, at ``x = -c / a``. Splitting every
piece at those roots layer by layer (all pieces and units of a layer at once)
gives the exact partition of ``[lo, hi]`` into intervals of constant activation
pattern, on which the network is affine. The bound on the number of pieces is
``prod_l (n_l + 1)`` (:func:`relumap_service.core.bounds.max_pieces_1d`).

Every decision (which side of a breakpoint a unit is on, whether two roots
coincide, whether a breakpoint is a knot) is the one exact arithmetic on the
float64 weights and domain gives: values are computed in float64, relative to
the domain's centre, with rigorous error bounds (as in
:mod:`relumap_service.core.regions`), and the few within their bound are
settled with integers (:class:`relumap_service.core.exact.ExactNetwork`).

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, -1.0]]), np.array([[1.0], [1.0]])],
...               [np.zeros(2), np.zeros(1)])
>>> k = knots_1d(net, -3.0, 3.0)
>>> k.x.tolist(), k.slopes.ravel().tolist()
([0.0], [-1.0, 1.0])
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_geometry import Pieces1D
from relumap_service.core.bounds import max_knots_1d
from relumap_service.core.exact import ExactNetwork, shifted_biases
from relumap_service.core.indexing import nonzero_2d
from relumap_service.core.layer_maps import RHO
from relumap_service.core.layer_maps import UNIT_ROUNDOFF as U
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.patterns import unit_labels
from relumap_service.core.region_map import Certificate

__all__ = ["Knots1D", "knots_1d"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Knots1D(Pieces1D):
    """The exact piecewise-affine structure of a network on ``[lo, hi]``.

    The arrays (knots, breakpoints, pieces, patterns, class changes) are
    :class:`relumap_geometry.Pieces1D`'s, which the client reads them back into.

    Attributes
    ----------
    hidden_layer_sizes : tuple of int
    certificate : Certificate
        How the decisions were settled, and a bound on the error of every
        reported position (knots, breakpoints, piece ends).
    """

    hidden_layer_sizes: tuple[int, ...]
    certificate: Certificate

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary of plain lists.

        Keys: those of :meth:`Pieces1D.pieces_document` and ``certificate``.
        """
        return {**self.pieces_document(), "certificate": self.certificate.to_dict()}


def _check_domain(network: Network, lo: float, hi: float) -> tuple[float, float]:
    if network.n_inputs != 1:
        raise ValueError(
            f"knots_1d needs a network with one input, this one has {network.n_inputs}; "
            "use regions_2d for two inputs"
        )
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"the domain must be finite, got [{lo}, {hi}]")
    if not hi > lo:
        raise ValueError(f"the domain [{lo}, {hi}] is empty: hi must be greater than lo")
    if not np.isfinite(hi - lo):
        raise ValueError(f"the domain [{lo}, {hi}] is wider than the float64 range")
    return lo, hi


def _merge_close(points: FloatArray, tol: float) -> FloatArray:
    """Sort ``points`` and keep the first of every run closer than ``tol``."""
    points = np.sort(points)
    if points.size < 2:
        return points
    keep = np.empty(points.shape, dtype=bool)
    keep[0] = True
    keep[1:] = np.diff(points) > tol
    return points[keep]


def _class_changes(
    edges: FloatArray, slopes: FloatArray, intercepts: FloatArray, kind: str, xtol: float
) -> tuple[FloatArray, IntArray]:
    """Exact points where the predicted class changes, and the class between them."""
    if kind == "logistic":
        diff_s, diff_c = slopes, intercepts
    else:
        first, second = np.triu_indices(slopes.shape[1], k=1)
        diff_s = slopes[:, first] - slopes[:, second]
        diff_c = intercepts[:, first] - intercepts[:, second]
    lo, hi = edges[:-1, None], edges[1:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = -diff_c / diff_s
    candidate = (diff_s != 0) & (roots >= lo - xtol) & (roots <= hi + xtol)
    roots = roots[candidate]
    roots = _merge_close(roots[(roots > edges[0] + xtol) & (roots < edges[-1] - xtol)], xtol)
    cuts = np.concatenate([edges[:1], roots, edges[-1:]])
    mid = 0.5 * (cuts[:-1] + cuts[1:])
    piece = np.clip(np.searchsorted(edges, mid, side="right") - 1, 0, slopes.shape[0] - 1)
    logits = slopes[piece] * mid[:, None] + intercepts[piece]
    if kind == "logistic":
        label = (logits[:, 0] > 0).astype(np.int64)
    else:
        label = np.argmax(logits, axis=1).astype(np.int64)
    change = label[1:] != label[:-1]
    keep = np.concatenate([[True], change])
    return roots[change], label[keep]


_SAFETY = 1.0 + 2.0**-20


class _Edges:
    """Piece ends: local positions, error bounds and how to know each exactly.

    Position ``i`` is ``lo`` or ``hi`` (given) or the root of a unit on a piece
    of some layer, recorded as (layer, unit, piece) with that layer's patterns.
    """

    def __init__(self, exact: ExactNetwork, lo: float, hi: float, origin: float) -> None:
        self.exact_network, self.origin = exact, origin
        self.points: dict[int, Fraction] = {0: Fraction(lo), 1: Fraction(hi)}
        # Each layer's roots: the first id, and the unit and piece of each.
        self.starts: list[int] = []
        self.sources: list[tuple[IntArray, IntArray]] = []
        self.size = 2
        self.histories: list[list[BoolArray]] = []

    def add(self, layer: int, unit: IntArray, piece: IntArray) -> IntArray:
        """Record the roots of layer ``layer`` (called once per layer, in order)."""
        assert len(self.starts) == layer
        start = self.size
        self.starts.append(start)
        self.sources.append((unit, piece))
        self.size += unit.size
        return np.arange(start, self.size)

    def exact(self, i: int) -> Fraction:
        """Return the position exactly, in the input's own coordinates."""
        point = self.points.get(i)
        if point is None:
            layer = bisect_right(self.starts, i) - 1
            unit, piece = self.sources[layer]
            k = i - self.starts[layer]
            history = [block[int(piece[k])] for block in self.histories[layer]]
            point = self.exact_network.root(
                self.exact_network.unit_line(layer, int(unit[k]), history)
            )
            self.points[i] = point
        return point


@dataclass
class _Maps:
    """Every unit's pre-activation ``slope * x + offset`` on every piece, with error bounds.

    The error of entry ``(p, j)`` is at most ``scale[p] * colnorm[j] + RHO * |entry|``
    (``scale`` one column for slopes, one for offsets; see
    :class:`relumap_service.core.layer_maps.LayerMaps`).
    """

    slope: FloatArray
    offset: FloatArray
    scale: FloatArray
    colnorm: FloatArray
    # Largest |slope| and |offset| of each piece over the units, once computed.
    _largest: FloatArray | None = None

    def largest(self) -> FloatArray:
        """Largest ``|slope|`` and ``|offset|`` of each piece over the units, shape (n, 2)."""
        if self._largest is None:
            # max(max m, -min m): two reductions, without an array of |m|.
            self._largest = np.stack(
                [
                    np.maximum(
                        self.slope.max(axis=1, initial=0.0), -self.slope.min(axis=1, initial=0.0)
                    ),
                    np.maximum(
                        self.offset.max(axis=1, initial=0.0), -self.offset.min(axis=1, initial=0.0)
                    ),
                ],
                axis=1,
            )
        return self._largest

    def take(self, rows: IntArray) -> _Maps:
        largest = None if self._largest is None else self._largest[rows]
        return _Maps(self.slope[rows], self.offset[rows], self.scale[rows], self.colnorm, largest)

    def errors(self, piece: IntArray, unit: IntArray) -> tuple[FloatArray, FloatArray]:
        """Error bounds of the slopes and offsets of the given (piece, unit) pairs."""
        cn = self.colnorm[unit]
        e_slope = self.scale[piece, 0] * cn + RHO * np.abs(self.slope[piece, unit])
        e_offset = self.scale[piece, 1] * cn + RHO * np.abs(self.offset[piece, unit])
        return e_slope, e_offset

    def signs(
        self, x: FloatArray, error: FloatArray, counts: dict[str, int]
    ) -> tuple[BoolArray, BoolArray]:
        """Where every unit is surely positive, and where surely negative, at points ``x``.

        ``x`` holds one point per piece, each within ``error`` of the exact
        one. One bound per piece covers all its units: the float value's sign
        is certain beyond it. :func:`_settle` decides the units in neither mask.
        """
        ax = np.abs(x)
        largest = self.largest()
        largest_slope, largest_offset = largest[:, 0], largest[:, 1]
        with np.errstate(invalid="ignore", over="ignore"):
            values = self.slope * x[:, None]
            values += self.offset
            bound = (4 * U + RHO) * (largest_slope * ax + largest_offset)
            bound += (1 + RHO) * largest_slope * error
            bound += (self.scale[:, 0] * (ax + error) + self.scale[:, 1]) * float(
                self.colnorm.max(initial=0.0)
            )
            bound *= _SAFETY
        column = bound[:, None]
        positive = values > column
        negative = values < -column
        counts["float"] += values.size
        return positive, negative

    def roots(self, piece: IntArray, unit: IntArray) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Where the given (piece, unit) pairs' maps are zero, with error bounds.

        Also return which roots are trusted: elsewhere the map's slope is too
        close to its error for the float root and its bound to mean anything.
        """
        a, c = self.slope[piece, unit], self.offset[piece, unit]
        ea, ec = self.errors(piece, unit)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            root = -c / a
            root_err = (np.abs(c) * ea + np.abs(a) * ec) / (np.abs(a) * (np.abs(a) - ea))
            root_err = (root_err + 2 * U * np.abs(root)) * _SAFETY
        return root, root_err, (np.abs(a) > 2 * ea) & np.isfinite(root_err)

    def propagate(self, gain: FloatArray, w: FloatArray, b: FloatArray) -> _Maps:
        """Return the next layer's maps: ``(M s) W + b``, with their bounds."""
        n = self.slope.shape[0]
        gamma = 2 * (w.shape[0] + 2) * U + U + RHO
        both = np.empty((2 * n, self.slope.shape[1]))
        np.multiply(self.slope, gain, out=both[:n])
        np.multiply(self.offset, gain, out=both[n:])
        out = both @ w
        out[n:] += b
        # Branch slopes are at most 1, so |M_k s_k| <= |M_k|.
        largest = self.largest().T.reshape(-1)
        scale = np.concatenate([self.scale[:, 0], self.scale[:, 1]])
        scale = scale * float(self.colnorm.max(initial=0.0)) + gamma * largest
        return _Maps(
            out[:n], out[n:], np.stack([scale[:n], scale[n:]], axis=1), np.abs(w).sum(axis=0)
        )


def _settle(
    positive: BoolArray,
    negative: BoolArray,
    undecided: BoolArray,
    exact_value: Any,
    counts: dict[str, int],
) -> None:
    """Decide, in place, the signs floats left open: ``exact_value(row, unit)`` gives each."""
    rows, units = nonzero_2d(undecided)
    counts["exact"] += rows.size
    counts["float"] -= rows.size
    for r, j in zip(rows.tolist(), units.tolist(), strict=True):
        sign = exact_value(r, j)
        positive[r, j] = sign > 0
        negative[r, j] = sign < 0


def _distinct_at_least(
    x: FloatArray,
    x_err: FloatArray,
    piece: IntArray,
    root: FloatArray,
    root_err: FloatArray,
    trusted: BoolArray,
) -> int:
    """Return a lower bound on the distinct exact roots among these, inside their pieces.

    Each exact root lies in its trusted float root's interval, cut to its
    piece's (which holds the piece whatever the rounding), or else anywhere
    in that. Intervals in different connected parts of their union are
    disjoint: one of each part gives that many distinct roots.
    """
    if root.size == 0:
        return 0
    floor = x[piece] - x_err[piece]
    ceiling = x[piece + 1] + x_err[piece + 1]
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.maximum(root - root_err, floor)
        hi = np.minimum(root + root_err, ceiling)
    unknown = ~(trusted & np.isfinite(lo) & np.isfinite(hi))
    lo[unknown], hi[unknown] = floor[unknown], ceiling[unknown]
    order = np.argsort(lo, kind="stable")
    lo, reach = lo[order], np.maximum.accumulate(hi[order])
    return 1 + int(np.count_nonzero(lo[1:] > reach[:-1]))


def knots_1d(
    network: Network,
    lo: float,
    hi: float,
    *,
    max_pieces: int | None = None,
    budget: WorkBudget | None = None,
) -> Knots1D:
    """Find the exact knots and affine pieces of a one-input network on ``[lo, hi]``.

    Parameters
    ----------
    network : Network
        A network with ``n_inputs == 1``.
    lo, hi : float
        The domain, finite with ``lo < hi``.
    max_pieces : int, optional
        Stop with :class:`~relumap_service.core.limits.WorkLimitExceeded` as soon
        as some layer would cut the domain into more pieces than this.
    budget : WorkBudget, optional
        A deadline, checked after every layer.

    Returns
    -------
    Knots1D
        Knots are exactly the breakpoints where some output's slope changes;
        positions are within ``certificate.max_vertex_error`` of the exact ones.

    Raises
    ------
    ValueError
        If the network does not have one input or the domain is empty or not finite.
    WorkLimitExceeded
        If more than ``max_pieces`` pieces would be needed.
    DeadlineExceeded
        If ``budget``'s deadline passes.

    Examples
    --------
    >>> import numpy as np
    >>> from relumap_service.core.network import Network
    >>> net = Network([np.array([[1.0, -1.0, 2.0, -2.0]]), np.ones((4, 1))],
    ...               [np.array([0.0, 0.0, -2.0, -2.0]), np.zeros(1)])
    >>> knots_1d(net, -3, 3).x.tolist()
    [-1.0, 0.0, 1.0]
    """
    lo, hi = _check_domain(network, lo, hi)
    origin = lo / 2 + hi / 2
    exact = ExactNetwork(network, [lo, hi])
    edges = _Edges(exact, lo, hi, origin)
    counts = {"float": 0, "exact": 0, "points": 0}
    # Piece ends in coordinates centred on the domain, their error bounds and ids.
    x = np.array([lo - origin, hi - origin])
    x_err = 2 * U * np.abs(x)
    ids = np.array([0, 1])
    w0, b0 = network.coefs[0], network.intercepts[0]
    shifted = shifted_biases(w0, b0, np.array([origin]))
    maps = _Maps(w0.copy(), shifted[None, :], np.zeros((1, 2)), np.abs(w0).sum(axis=0))
    blocks: list[BoolArray] = []
    piecewise = network.hidden_activation != "identity"

    def exact_sign(layer: int, unit: int, piece: int, point: Fraction) -> int:
        a, c = exact.unit_line(layer, unit, [block[piece] for block in blocks])
        value = a * point + c
        return (value > 0) - (value < 0)

    for layer, (w, b) in enumerate(zip(network.coefs[1:], network.intercepts[1:], strict=True)):
        edges.histories.append(list(blocks))
        n_pieces = x.size - 1
        if piecewise:
            # Every unit's sign at both ends of every piece. Where floats leave
            # some open, the crossings they decide already bound this layer's
            # pieces: a layer beyond max_pieces is refused before exact arithmetic.
            (left_pos, left_neg), (right_pos, right_neg) = ends = [
                maps.signs(x[:-1], x_err[:-1], counts),
                maps.signs(x[1:], x_err[1:], counts),
            ]
            undecided = [~(pos | neg) for pos, neg in ends]
            if max_pieces is not None and any(u.any() for u in undecided):
                piece, unit = nonzero_2d((left_pos & right_neg) | (left_neg & right_pos))
                at_least = n_pieces + _distinct_at_least(x, x_err, piece, *maps.roots(piece, unit))
                if at_least > max_pieces:
                    raise WorkLimitExceeded("max_pieces", at_least, max_pieces)
            for shift, ((pos, neg), open_) in enumerate(zip(ends, undecided, strict=True)):
                _settle(
                    pos,
                    neg,
                    open_,
                    lambda r, j, layer=layer, ids=ids, shift=shift: exact_sign(
                        layer, j, r, edges.exact(int(ids[r + shift]))
                    ),
                    counts,
                )
            piece, unit = nonzero_2d((left_pos & right_neg) | (left_neg & right_pos))
            root, root_err, trusted = maps.roots(piece, unit)
            new_ids = edges.add(layer, unit, piece)
            bad = np.flatnonzero(~trusted)
            counts["points"] += bad.size
            for i in bad.tolist():
                root[i] = float(edges.exact(int(new_ids[i])) - Fraction(origin))
                root_err[i] = 2 * U * abs(root[i])
            # The exact root lies inside its piece: keep the rounded one there too.
            root = np.clip(root, x[piece], x[piece + 1])
            x, x_err, ids, parent = _insert(
                x, x_err, ids, piece, root, root_err, new_ids, edges, counts
            )
            if max_pieces is not None and x.size - 1 > max_pieces:
                raise WorkLimitExceeded("max_pieces", x.size - 1, max_pieces)
            if budget is not None:
                budget.check()
            maps = maps.take(parent)
            blocks = [block[parent] for block in blocks]
            # A unit is on a piece when it is positive inside it: at the midpoint.
            mid = x[:-1] / 2 + x[1:] / 2
            mid_err = (x_err[:-1] + x_err[1:]) / 2 + 2 * U * np.abs(mid)
            on, off = maps.signs(mid, mid_err, counts)
            _settle(
                on,
                off,
                ~(on | off),
                lambda r, j, layer=layer, ids=ids: exact_sign(
                    layer,
                    j,
                    r,
                    (edges.exact(int(ids[r])) + edges.exact(int(ids[r + 1]))) / 2,
                ),
                counts,
            )
        else:
            on = np.ones(maps.slope.shape, dtype=bool)
        blocks.append(on)
        maps = maps.propagate(network.branch_slopes(on), w, b)
    n_pieces = x.size - 1
    patterns = np.concatenate(blocks, axis=1) if blocks else np.zeros((n_pieces, 0), dtype=bool)

    # Neighbouring pieces with the same pattern carry the same affine map.
    same = np.all(patterns[1:] == patterns[:-1], axis=1)
    if same.any():
        keep = np.concatenate([[True], ~same])
        x = np.concatenate([x[:-1][keep], x[-1:]])
        x_err = np.concatenate([x_err[:-1][keep], x_err[-1:]])
        maps, patterns = maps.take(np.flatnonzero(keep)), patterns[keep]
    slope, offset = maps.slope, maps.offset

    change = patterns[1:] != patterns[:-1]
    boundary, column = nonzero_2d(change)
    layer_of, unit_of = unit_labels(network)
    # A knot where some output's slope changes, exactly.
    jump = np.abs(slope[1:] - slope[:-1])
    e_slope = maps.scale[:, :1] * maps.colnorm + RHO * np.abs(slope)
    is_knot: BoolArray = np.asarray((jump > (e_slope[1:] + e_slope[:-1]) * _SAFETY).any(axis=1))
    unsure = np.flatnonzero(~is_knot)
    counts["float"] += is_knot.size - unsure.size
    counts["exact"] += unsure.size
    sizes = network.hidden_layer_sizes
    if unsure.size:
        last = len(network.coefs) - 1
        split = np.cumsum(sizes)[:-1]
        for i in unsure.tolist():
            before = exact.layer_map(last, np.split(patterns[i], split))
            after = exact.layer_map(last, np.split(patterns[i + 1], split))
            is_knot[i] = bool(np.any(before[0] != after[0]))

    positions = np.clip(x + origin, lo, hi)
    positions[0], positions[-1] = lo, hi
    intercepts = offset - slope * origin
    class_changes: FloatArray | None = None
    classes: IntArray | None = None
    kind = network.output_activation
    if (kind == "logistic" and network.n_outputs == 1) or kind == "softmax":
        xtol = 1e-12 * (hi - lo)
        class_changes, classes = _class_changes(positions, slope, intercepts, kind, xtol)

    reach = max(abs(lo), abs(hi))
    return Knots1D(
        lo=lo,
        hi=hi,
        x=positions[1:-1][is_knot],
        breakpoints=positions[1:-1][boundary],
        breakpoint_layer=layer_of[column],
        breakpoint_unit=unit_of[column],
        piece_lo=positions[:-1].copy(),
        piece_hi=positions[1:].copy(),
        slopes=slope,
        intercepts=intercepts,
        patterns=patterns,
        bound=max_knots_1d(sizes) if piecewise else 0,
        class_changes=class_changes,
        classes=classes,
        hidden_layer_sizes=sizes,
        certificate=Certificate(
            exact=True,
            float_decisions=counts["float"],
            exact_decisions=counts["exact"],
            exact_vertices=counts["points"],
            max_vertex_error=float(x_err.max(initial=0.0)) + U * reach,
        ),
    )


def _insert(
    x: FloatArray,
    x_err: FloatArray,
    ids: IntArray,
    piece: IntArray,
    root: FloatArray,
    root_err: FloatArray,
    new_ids: IntArray,
    edges: _Edges,
    counts: dict[str, int],
) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
    """Insert roots into their pieces, once per exact position; return the parent of each piece.

    Roots of several units may coincide exactly: they are kept once. Roots in
    one piece are ordered by their rounded values, and where two are closer
    than their error bounds, by their exact values.
    """
    order = np.lexsort((root, piece))
    piece, root, root_err, new_ids = piece[order], root[order], root_err[order], new_ids[order]
    keep = np.ones(root.size, dtype=bool)
    if root.size > 1:
        near = np.flatnonzero(
            (piece[1:] == piece[:-1]) & (root[1:] - root[:-1] <= root_err[1:] + root_err[:-1])
        )
        counts["exact"] += near.size
        if near.size:
            # Reorder runs of close roots exactly, then drop exact duplicates.
            breaks = np.setdiff1d(np.arange(1, root.size), near + 1)
            for run in np.split(np.arange(root.size), breaks):
                if run.size < 2:
                    continue
                exact = sorted((edges.exact(int(new_ids[i])), int(i)) for i in run.tolist())
                members = [i for _, i in exact]
                root[run], root_err[run], new_ids[run] = (
                    root[members],
                    root_err[members],
                    new_ids[members],
                )
                values = [value for value, _ in exact]
                keep[run[1:]] = [a != b for a, b in zip(values[1:], values[:-1], strict=True)]
        # Rounded roots within a piece must not go backwards after the exact reordering.
        root = np.maximum.accumulate(root)
    piece, root, root_err, new_ids = piece[keep], root[keep], root_err[keep], new_ids[keep]
    # New positions: each piece's left end, then its roots.
    n_pieces = x.size - 1
    per_piece = np.bincount(piece, minlength=n_pieces)
    slot = np.arange(n_pieces) + np.concatenate([[0], np.cumsum(per_piece)[:-1]])
    total = x.size + root.size
    out_x, out_err = np.empty(total), np.empty(total)
    out_ids = np.empty(total, dtype=np.int64)
    left = np.empty(total, dtype=bool)
    left[:] = False
    left[slot] = True
    left[-1] = True
    out_x[slot], out_err[slot], out_ids[slot] = x[:-1], x_err[:-1], ids[:-1]
    out_x[-1], out_err[-1], out_ids[-1] = x[-1], x_err[-1], ids[-1]
    rest = np.flatnonzero(~left)
    out_x[rest], out_err[rest], out_ids[rest] = root, root_err, new_ids
    parent = np.repeat(np.arange(n_pieces), per_piece + 1)
    return out_x, out_err, out_ids, parent
