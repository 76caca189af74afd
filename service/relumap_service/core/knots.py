"""Exact knots, breakpoints and affine pieces of a scalar-input network.

On an interval where the activation pattern of layers ``1..l-1`` is fixed,
every pre-activation of layer ``l`` is an affine function ``a x + c`` of the
input, so it changes sign at most once, at ``x = -c / a``. Splitting every
piece at those roots layer by layer (all pieces and units of a layer at once)
gives the exact partition of ``[lo, hi]`` into intervals of constant activation
pattern, on which the network is affine. The bound on the number of pieces is
``prod_l (n_l + 1)`` (:func:`relumap_service.core.bounds.max_pieces_1d`).

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

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.bounds import max_knots_1d
from relumap_service.core.limits import WorkBudget, WorkLimitExceeded
from relumap_service.core.network import Network
from relumap_service.core.patterns import pattern_strings, unit_labels

__all__ = ["Knots1D", "knots_1d"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Knots1D:
    """The exact piecewise-affine structure of a network on ``[lo, hi]``.

    Attributes
    ----------
    lo, hi : float
        The domain.
    x : ndarray of shape (n_knots,)
        Sorted knots strictly inside ``(lo, hi)``: points where the slope of at
        least one output changes.
    breakpoints : ndarray of shape (n_events,)
        Every point where a hidden unit switches on or off, once per switching
        unit, sorted by position then by unit (so a position repeats when
        several units switch there). Includes switches that leave every slope
        unchanged, so the knots are a subset of these positions.
    breakpoint_layer, breakpoint_unit : ndarray of int of shape (n_events,)
        The switching unit: hidden layer numbered from 1, unit from 0.
    piece_lo, piece_hi : ndarray of shape (n_pieces,)
        Consecutive intervals of constant activation pattern covering
        ``[lo, hi]`` exactly (``piece_lo[0] == lo``, ``piece_hi[-1] == hi``).
    slopes, intercepts : ndarray of shape (n_pieces, n_outputs)
        The logits on piece ``p`` are ``slopes[p] * x + intercepts[p]``.
    patterns : ndarray of bool of shape (n_pieces, n_hidden_total)
        Activation pattern of each piece (all True for identity activations).
    bound : int
        Theoretical maximum number of knots, ``prod_l (n_l + 1) - 1`` (0 for
        an identity network).
    class_changes : ndarray of shape (n_changes,) or None
        For a binary ``logistic`` classifier, where the logit changes sign; for
        ``softmax``, where the largest logit changes. None for regressors.
    classes : ndarray of int of shape (n_changes + 1,) or None
        Predicted class on each interval between consecutive class changes.
    hidden_layer_sizes : tuple of int
    """

    lo: float
    hi: float
    x: FloatArray
    breakpoints: FloatArray
    breakpoint_layer: IntArray
    breakpoint_unit: IntArray
    piece_lo: FloatArray
    piece_hi: FloatArray
    slopes: FloatArray
    intercepts: FloatArray
    patterns: BoolArray
    bound: int
    class_changes: FloatArray | None
    classes: IntArray | None
    hidden_layer_sizes: tuple[int, ...]

    @property
    def n_knots(self) -> int:
        """Number of knots."""
        return int(self.x.shape[0])

    @property
    def n_pieces(self) -> int:
        """Number of pieces of constant activation pattern."""
        return int(self.piece_lo.shape[0])

    def evaluate(self, x: NDArray[np.float64]) -> FloatArray:
        """Evaluate the logits from the pieces.

        Parameters
        ----------
        x : ndarray of shape (n_samples,)
            Points in ``[lo, hi]``.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        piece = np.clip(np.searchsorted(self.piece_hi, x, side="left"), 0, self.n_pieces - 1)
        out: FloatArray = self.slopes[piece] * x[:, None] + self.intercepts[piece]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary of plain lists.

        Keys: ``lo``, ``hi``, ``n_knots``, ``n_pieces``, ``bound``, ``knots``,
        ``breakpoints``, ``breakpoint_layer``, ``breakpoint_unit``, ``piece_lo``,
        ``piece_hi``, ``slopes``, ``intercepts``, ``patterns`` (one string of 0/1
        per piece), ``class_changes`` and ``classes`` (None for regressors).
        """
        return {
            "lo": self.lo,
            "hi": self.hi,
            "n_knots": self.n_knots,
            "n_pieces": self.n_pieces,
            "bound": self.bound,
            "knots": self.x.tolist(),
            "breakpoints": self.breakpoints.tolist(),
            "breakpoint_layer": self.breakpoint_layer.tolist(),
            "breakpoint_unit": self.breakpoint_unit.tolist(),
            "piece_lo": self.piece_lo.tolist(),
            "piece_hi": self.piece_hi.tolist(),
            "slopes": self.slopes.tolist(),
            "intercepts": self.intercepts.tolist(),
            "patterns": pattern_strings(self.patterns),
            "class_changes": None if self.class_changes is None else self.class_changes.tolist(),
            "classes": None if self.classes is None else self.classes.tolist(),
        }


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


def _split_layer(
    edges: FloatArray, slope: FloatArray, offset: FloatArray, xtol: float
) -> FloatArray:
    """Cut every piece at the roots of its units and return the new edges.

    ``slope`` and ``offset`` have shape (n_pieces, n_units): unit ``j`` on piece
    ``p`` has pre-activation ``slope[p, j] * x + offset[p, j]``.
    """
    left, right = edges[:-1, None], edges[1:, None]
    v_left = slope * left + offset
    v_right = slope * right + offset
    scale = max(float(np.abs(v_left).max(initial=0.0)), float(np.abs(v_right).max(initial=0.0)))
    # Values this far below the layer's scale are rounding noise, not a sign.
    ztol = 1e-13 * scale
    crossing = ((v_left > ztol) & (v_right < -ztol)) | ((v_left < -ztol) & (v_right > ztol))
    piece, unit = np.nonzero(crossing)
    if piece.size == 0:
        return edges
    a, b = v_left[piece, unit], v_right[piece, unit]
    lo, hi = edges[piece], edges[piece + 1]
    # Interpolating the two end values keeps the root inside its piece.
    roots = lo + (hi - lo) * (a / (a - b))
    inside = (roots > lo + xtol) & (roots < hi - xtol)
    roots = _merge_close(roots[inside], xtol)
    return np.sort(np.concatenate([edges, roots]))


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


def knots_1d(
    network: Network,
    lo: float,
    hi: float,
    *,
    xtol: float = 1e-10,
    slope_rtol: float = 1e-9,
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
    xtol : float, default=1e-10
        Breakpoints closer than ``xtol * max(|lo|, |hi|, hi - lo)`` are merged.
    slope_rtol : float, default=1e-9
        A breakpoint is a knot when the slope of some output changes by more
        than ``slope_rtol`` times the largest absolute slope on the domain.
    max_pieces : int, optional
        Stop with :class:`~relumap_service.core.limits.WorkLimitExceeded` as soon
        as some layer would cut the domain into more pieces than this.
    budget : WorkBudget, optional
        A deadline, checked after every layer.

    Returns
    -------
    Knots1D

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
    abs_xtol = xtol * max(abs(lo), abs(hi), hi - lo)
    edges = np.array([lo, hi])
    slope = network.coefs[0].copy()
    offset = network.intercepts[0][None, :].copy()
    blocks: list[BoolArray] = []
    piecewise = network.hidden_activation != "identity"
    for w, b in zip(network.coefs[1:], network.intercepts[1:], strict=True):
        if piecewise:
            new_edges = _split_layer(edges, slope, offset, abs_xtol)
            if max_pieces is not None and new_edges.size - 1 > max_pieces:
                raise WorkLimitExceeded("max_pieces", new_edges.size - 1, max_pieces)
            if budget is not None:
                budget.check()
            mid = 0.5 * (new_edges[:-1] + new_edges[1:])
            parent = np.searchsorted(edges, mid, side="right") - 1
            slope, offset, edges = slope[parent], offset[parent], new_edges
            blocks = [block[parent] for block in blocks]
            on = slope * mid[:, None] + offset > 0.0
        else:
            on = np.ones(slope.shape, dtype=bool)
        blocks.append(on)
        gain = network.branch_slopes(on)
        both = np.concatenate([slope * gain, offset * gain]) @ w
        slope, offset = both[: edges.size - 1], both[edges.size - 1 :] + b
    n_pieces = edges.size - 1
    patterns = np.concatenate(blocks, axis=1) if blocks else np.zeros((n_pieces, 0), dtype=bool)

    # Neighbouring pieces with the same pattern carry the same affine map.
    same = np.all(patterns[1:] == patterns[:-1], axis=1)
    if same.any():
        keep = np.concatenate([[True], ~same])
        edges = np.concatenate([edges[:-1][keep], edges[-1:]])
        slope, offset, patterns = slope[keep], offset[keep], patterns[keep]

    change = patterns[1:] != patterns[:-1]
    boundary, column = np.nonzero(change)
    layer_of, unit_of = unit_labels(network)
    scale = float(np.abs(slope).max(initial=0.0))
    jump = np.abs(slope[1:] - slope[:-1]).max(axis=1, initial=0.0)
    is_knot = jump > slope_rtol * scale

    class_changes: FloatArray | None = None
    classes: IntArray | None = None
    kind = network.output_activation
    if (kind == "logistic" and network.n_outputs == 1) or kind == "softmax":
        class_changes, classes = _class_changes(edges, slope, offset, kind, abs_xtol)

    sizes = network.hidden_layer_sizes
    return Knots1D(
        lo=lo,
        hi=hi,
        x=edges[1:-1][is_knot],
        breakpoints=edges[1:-1][boundary],
        breakpoint_layer=layer_of[column],
        breakpoint_unit=unit_of[column],
        piece_lo=edges[:-1].copy(),
        piece_hi=edges[1:].copy(),
        slopes=slope,
        intercepts=offset,
        patterns=patterns,
        bound=max_knots_1d(sizes) if piecewise else 0,
        class_changes=class_changes,
        classes=classes,
        hidden_layer_sizes=sizes,
    )
