"""Exact arithmetic on a network's float64 weights, for the decisions floats cannot settle.

Every float64 is an integer times a power of two, so with ``E`` the smallest
exponent among the weights, biases, leaky slope and box, each of them is an
integer multiple of ``2**E``. A pre-activation of hidden layer ``l`` on a
region of fixed activation pattern is then an affine function of the input
whose coefficients are integers times ``2**((2 l - 1) E)`` (each layer
multiplies by a slope and a weight), computed here exactly with Python's
integers. Signs of such functions at intersections of such lines, and the
correctly rounded float of an intersection, follow from integer determinants.

The engine calls this only for the few tests whose floating-point value lies
within its rigorous error bound (adaptive precision, as in J. R. Shewchuk,
"Adaptive precision floating-point arithmetic and fast robust geometric
predicates", Discrete Comput. Geom. 18, 1997), so its cost is paid rarely.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, 1.0], [1.0, -1.0]]), np.ones((2, 1))],
...               [np.array([0.0, 0.1]), np.zeros(1)])
>>> ex = ExactNetwork(net, [-1.0, -1.0, 1.0, 1.0])
>>> a, b = ex.unit_line(0, 0, []), ex.unit_line(0, 1, [])
>>> ex.sign_at(ex.box_line(2), a, b)   # x - 1 < 0 at x = -0.05
-1
>>> [float(v) for v in ex.meeting_point(a, b)]
[-0.05, 0.05]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_service.core.network import Network

__all__ = ["ExactNetwork", "Line", "shifted_biases"]

# A line (or, in 1D, a point) a . x + c = 0 with integer coefficients: (a_1, ..., a_d, c).
Line = tuple[int, ...]
ObjectArray = NDArray[np.object_]
BoolArray = NDArray[np.bool_]


def _mantissas(values: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return integers ``m`` and ``k`` with ``values == m * 2**k`` and ``m`` odd (0, 0 for zero)."""
    fraction, exponent = np.frexp(values)  # exact: |fraction| in [0.5, 1) or 0
    m = (fraction * 2.0**53).astype(np.int64)  # exact: 53 significant bits
    k = exponent.astype(np.int64) - 53
    # Drop the trailing zero bits: the lowest set bit is a power of two, exact in float.
    low = m & -m
    zeros = np.log2(np.where(m == 0, 1, low).astype(np.float64)).astype(np.int64)
    return m >> zeros, np.where(m == 0, 0, k + zeros)


def _two_product(a: NDArray[np.float64], b: float) -> tuple[NDArray[np.float64], ...]:
    """Split ``a * b`` into an unevaluated sum ``p + e`` of two floats (Dekker, 1971)."""
    p = a * b
    split = 134217729.0  # 2**27 + 1
    c = split * a
    ah = c - (c - a)
    al = a - ah
    d = split * b
    bh = d - (d - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def shifted_biases(
    w: NDArray[np.float64], b: NDArray[np.float64], origin: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return ``b + origin @ w``, each entry correctly rounded.

    The first layer's biases seen from ``origin``: computing them once, exactly,
    keeps a far box as precise as one at the origin. Products are split into
    exact sums of two floats and summed by ``math.fsum``; values so large that
    the splitting could overflow are summed as fractions.

    Examples
    --------
    >>> shifted_biases(np.array([[1e16]]), np.array([1.0]), np.array([1.0 + 2**-52])).tolist()
    [1.0000000000000004e+16]
    """
    if not origin.any() and np.all(b != 0) and np.isfinite(b).all() and np.isfinite(w).all():
        # Every product is a zero, so each sum is its non-zero bias exactly.
        return np.array(b, dtype=np.float64)
    terms = [b[None, :]]
    for k in range(origin.size):
        terms += list(_two_product(w[k], float(origin[k])))
    stacked = np.concatenate([np.atleast_2d(t) for t in terms]).T.tolist()
    out = np.array([math.fsum(row) for row in stacked])
    large = np.flatnonzero(
        ~np.isfinite(out) | (np.abs(w).max(axis=0) * np.abs(origin).max() > 2.0**960)
    )
    for j in large.tolist():
        exact = Fraction(float(b[j])) + sum(
            (Fraction(float(origin[k])) * Fraction(float(w[k, j])) for k in range(origin.size)),
            Fraction(0),
        )
        out[j] = float(exact)
    return out


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


class ExactNetwork:
    """A network's weights and a domain as integers over one power of two.

    Parameters
    ----------
    network : Network
    domain : array-like of float
        Every coordinate of the domain's corners (they join the common exponent).
    """

    def __init__(self, network: Network, domain: ArrayLike) -> None:
        self.domain = np.asarray(domain, dtype=np.float64).ravel()
        self.network = network
        self.n_inputs = network.n_inputs
        self.activation = network.hidden_activation
        self._cache: dict[tuple[int, bytes], ObjectArray] = {}
        self._weights: dict[int, ObjectArray] = {}
        self._columns: dict[tuple[int, int], ObjectArray] = {}

    @cached_property
    def e0(self) -> int:
        """The common exponent: every weight, bias, slope and domain value is a multiple of it."""
        network = self.network
        alpha = network.negative_slope if network.hidden_activation == "leaky_relu" else 0.0
        values = [self.domain, np.array([alpha])]
        values += [np.asarray(w).ravel() for w in network.coefs]
        values += [np.asarray(b).ravel() for b in network.intercepts]
        flat = np.concatenate(values)
        if not np.all(np.isfinite(flat)):
            raise ValueError("exact arithmetic needs finite weights and domain")
        # The exponent of the lowest set bit of any of them, at most 0.
        _, exponents = _mantissas(flat[flat != 0.0])
        return min(int(exponents.min(initial=0)), 0)

    @cached_property
    def one(self) -> int:
        """The integer standing for 1.0."""
        return int(2 ** (-self.e0))

    def weights(self, layer: int) -> ObjectArray:
        """Weight matrix of ``layer`` as integers, converted on first use.

        A wide layer's are many Python integers (640,000 for 800 x 800): a
        unit's line needs only its column (:meth:`unit_line`).
        """
        out = self._weights.get(layer)
        if out is None:
            out = self._weights[layer] = self._ints(self.network.coefs[layer])
        return out

    @cached_property
    def biases(self) -> list[ObjectArray]:
        """Bias vectors as integers."""
        return [self._ints(b) for b in self.network.intercepts]

    @cached_property
    def alpha(self) -> int:
        """The leaky slope as an integer."""
        return self.integer(self.network.negative_slope)

    def integer(self, value: float) -> int:
        """Return ``value / 2**e0``, an integer."""
        numerator, denominator = float(value).as_integer_ratio()
        return numerator * (self.one // denominator)

    def _ints(self, array: ArrayLike) -> ObjectArray:
        values = np.asarray(array, dtype=np.float64)
        m, k = _mantissas(values.ravel())
        # value / 2**e0 = m * 2**(k - e0), k >= e0: Python integers, shifted element by element.
        out: ObjectArray = m.astype(object) << (k - self.e0).astype(object)
        return out.reshape(values.shape)

    def _slopes(self, on: BoolArray) -> ObjectArray:
        """Branch slopes of a layer's units, as integers over ``2**e0``."""
        if self.activation == "identity":
            off = self.one
        elif self.activation == "leaky_relu":
            off = self.alpha
        else:
            off = 0
        out = np.empty(on.shape, dtype=object)
        out[:] = [self.one if flag else off for flag in np.asarray(on).tolist()]
        return out

    def layer_map(self, layer: int, history: Sequence[ArrayLike]) -> ObjectArray:
        """Exact maps of hidden layer ``layer`` (from 0) given the patterns before it.

        Parameters
        ----------
        layer : int
            Index into ``network.coefs``: 0 is the first hidden layer's
            pre-activations, ``len(coefs) - 1`` the output logits.
        history : sequence of bool arrays
            Activation pattern of each earlier hidden layer.

        Returns
        -------
        ndarray of object of shape (n_inputs + 1, n_units)
            Integer coefficients (gradient rows, then the constant), all over
            the same power of two.
        """
        patterns = [np.asarray(p, dtype=bool) for p in history[:layer]]
        key = (layer, b"".join(np.packbits(p).tobytes() + b"|" for p in patterns))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if layer == 0:
            w, b = self.weights(0), self.biases[0]
            out = np.concatenate([w, b[None, :]], axis=0)
        else:
            parent = self.layer_map(layer - 1, patterns)
            slopes = self._slopes(patterns[layer - 1])
            scaled = parent * slopes[None, :]
            out = scaled.dot(self.weights(layer))
            # The parent's scale is 2**((2 layer - 1) e0); the product's 2**((2 layer + 1) e0).
            shift = self.one ** (2 * layer)
            out[-1, :] = out[-1, :] + self.biases[layer] * shift
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = out
        return out

    def unit_line(self, layer: int, unit: int, history: Sequence[ArrayLike]) -> Line:
        """Return the zero set of one unit's pre-activation, as integer coefficients.

        Only this unit's column of its layer is computed; the earlier layers'
        maps are computed once per pattern and cached.
        """
        held = self._weights.get(layer)
        if held is not None:
            weights = held[:, unit]
        elif (layer, unit) in self._columns:
            weights = self._columns[layer, unit]
        else:
            weights = self._columns[layer, unit] = self._ints(self.network.coefs[layer][:, unit])
        if layer == 0:
            column = np.append(weights, self.biases[0][unit])
        else:
            patterns = [np.asarray(p, dtype=bool) for p in history[:layer]]
            parent = self.layer_map(layer - 1, patterns)
            scaled = parent * self._slopes(patterns[layer - 1])[None, :]
            column = scaled.dot(weights)
            column[-1] = column[-1] + self.biases[layer][unit] * self.one ** (2 * layer)
        return tuple(int(v) for v in column.tolist())

    def box_line(self, side: int) -> Line:
        """Return a side of the box given as ``domain = (x_min, y_min, x_max, y_max)``.

        Side 0 is ``x = x_min``, 1 ``y = y_min``, 2 ``x = x_max``, 3 ``y = y_max``.
        """
        value = float(self.domain[side])
        if side % 2 == 0:
            return (self.one, 0, -self.integer(value))
        return (0, self.one, -self.integer(value))

    @staticmethod
    def sign_at(line: Line, first: Line, second: Line) -> int:
        """Sign of ``line``'s affine function at the intersection of two lines (2D)."""
        a1, b1, c1 = first
        a2, b2, c2 = second
        a, b, c = line
        det = a1 * b2 - a2 * b1
        if det == 0:
            raise ValueError("the two lines are parallel: they meet at no point")
        nx = b1 * c2 - b2 * c1
        ny = c1 * a2 - c2 * a1
        return _sign(a * nx + b * ny + c * det) * _sign(det)

    @staticmethod
    def meeting_point(first: Line, second: Line) -> tuple[Fraction, Fraction]:
        """Return the intersection of two lines, exactly."""
        a1, b1, c1 = first
        a2, b2, c2 = second
        det = a1 * b2 - a2 * b1
        if det == 0:
            raise ValueError("the two lines are parallel: they meet at no point")
        return Fraction(b1 * c2 - b2 * c1, det), Fraction(c1 * a2 - c2 * a1, det)

    @staticmethod
    def root(line: Line) -> Fraction:
        """Return the zero of a 1D affine function, exactly."""
        a, c = line
        return Fraction(-c, a)
