"""Theoretical maximum numbers of pieces and linear regions of a ReLU network.

All counts are exact Python integers, so they stay correct for wide networks
whose bounds overflow 64-bit integers.

References
----------
.. [1] T. Zaslavsky, "Facing up to arrangements: face-count formulas for
   partitions of space by hyperplanes", Memoirs of the AMS 154 (1975).
.. [2] T. Serra, C. Tjandraatmadja and S. Ramalingam, "Bounding and counting
   linear regions of deep neural networks", ICML 2018, Theorem 1.

Examples
--------
>>> max_regions_one_layer(8)
37
>>> serra_bound((8,), 2)
37
>>> max_knots_1d((3, 3))
15
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb, prod

__all__ = [
    "max_knots_1d",
    "max_pieces_1d",
    "max_regions_one_layer",
    "serra_bound",
]


def _check_widths(hidden_layer_sizes: Sequence[int]) -> tuple[int, ...]:
    widths = tuple(int(n) for n in hidden_layer_sizes)
    if any(n < 0 for n in widths):
        raise ValueError(f"hidden layer sizes must be non-negative, got {widths}")
    return widths


def max_pieces_1d(hidden_layer_sizes: Sequence[int]) -> int:
    """Maximum number of affine pieces of a scalar-input ReLU network.

    On each piece of the first ``l - 1`` layers every unit of layer ``l`` is an
    affine function of ``x`` and so switches at most once, which splits each
    piece into at most ``n_l + 1``; hence at most ``prod_l (n_l + 1)`` pieces.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int
        Widths ``n_1, ..., n_L`` of the hidden layers.

    Returns
    -------
    int
        ``prod_l (n_l + 1)``; 1 for a network without hidden layers.

    Examples
    --------
    >>> max_pieces_1d((256, 256, 256))
    16974593
    """
    return prod(n + 1 for n in _check_widths(hidden_layer_sizes))


def max_knots_1d(hidden_layer_sizes: Sequence[int]) -> int:
    """Maximum number of knots of a scalar-input ReLU network.

    One fewer than :func:`max_pieces_1d`: ``n`` for one hidden layer of width ``n``.

    Examples
    --------
    >>> max_knots_1d((5,))
    5
    """
    return max_pieces_1d(hidden_layer_sizes) - 1


def max_regions_one_layer(n_hidden: int, n_inputs: int = 2) -> int:
    """Zaslavsky's count: regions of ``n`` hyperplanes in general position.

    An arrangement of ``n`` affine hyperplanes in general position in
    ``R^d`` has ``sum_{i=0}^{d} C(n, i)`` regions [1]_; in the plane this is
    ``1 + n + n (n - 1) / 2``. It is attained by a one-hidden-layer ReLU network
    whose neuron hyperplanes are in general position.

    Parameters
    ----------
    n_hidden : int
        Number of hyperplanes (hidden units).
    n_inputs : int, default=2
        Dimension ``d`` of the input space.

    Returns
    -------
    int

    Examples
    --------
    >>> max_regions_one_layer(3)
    7
    """
    if n_hidden < 0 or n_inputs < 0:
        raise ValueError(
            f"n_hidden and n_inputs must be non-negative, got {n_hidden} and {n_inputs}"
        )
    return sum(comb(n_hidden, i) for i in range(min(n_inputs, n_hidden) + 1))


def serra_bound(hidden_layer_sizes: Sequence[int], n_inputs: int, *, rank_drop: bool = True) -> int:
    r"""Upper bound on the linear regions of a deep rectifier network.

    Theorem 1 of Serra, Tjandraatmadja and Ramalingam [2]_: the number of
    regions is at most

    .. math:: \sum_{(j_1, \dots, j_L) \in J} \prod_{l=1}^{L} \binom{n_l}{j_l},

    with :math:`J = \{ j \in \mathbb{Z}^L : 0 \le j_l \le \min(n_0, n_1 - j_1,
    \dots, n_{l-1} - j_{l-1}, n_l) \}`. Instead of enumerating ``J`` this sums
    by dynamic programming over the running minimum
    ``m_l = min(n_0, n_1 - j_1, ..., n_l - j_l)``, which takes only ``n_0 + 1``
    values: ``O(L * n_0 * max n_l)`` big-integer operations.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int
        Widths ``n_1, ..., n_L``.
    n_inputs : int
        Input dimension ``n_0``.
    rank_drop : bool, default=True
        True for ReLU, where ``j_l`` active units leave an image of dimension at
        most ``n_l - j_l``. False drops the ``n_l - j_l`` terms, giving the weaker
        product of per-layer Zaslavsky counts, which also holds for leaky ReLU
        (whose layers are invertible, so the image dimension does not drop).

    Returns
    -------
    int
        The bound; 1 when there are no hidden layers.

    Examples
    --------
    >>> serra_bound((3, 3), 2)
    40
    >>> serra_bound((128, 128, 128), 2) > 10**11
    True
    """
    widths = _check_widths(hidden_layer_sizes)
    if n_inputs < 0:
        raise ValueError(f"n_inputs must be non-negative, got {n_inputs}")
    # counts[m] = sum of prod C(n_l, j_l) over prefixes whose running minimum is m.
    counts = [0] * (n_inputs + 1)
    counts[n_inputs] = 1
    for n in widths:
        binomials = [comb(n, j) for j in range(n + 1)]
        updated = [0] * (n_inputs + 1)
        for m, total in enumerate(counts):
            if total == 0:
                continue
            for j in range(min(m, n) + 1):
                m_next = min(m, n - j) if rank_drop else min(m, n)
                updated[m_next] += total * binomials[j]
        counts = updated
    return sum(counts)
