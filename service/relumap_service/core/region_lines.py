"""The lines of a region map and the decisions made on them, certified.

Every edge of the map lies on a line: a side of the box or a hidden unit's
zero line on a root polygon. :class:`LineTable` keeps each line's computed
coefficients (relative to the box's centre) with a bound on their rounding
error and how to know it exactly; :class:`SignEngine` decides the sign of an
affine function at polygon vertices in float64 where the value exceeds its
rigorous bound and with integers (:class:`relumap_service.core.exact.ExactNetwork`)
where it does not, and counts the decisions each way for the certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.bits import LayerPatterns, bit_at
from relumap_service.core.exact import ExactNetwork, Line
from relumap_service.core.indexing import nonzero_2d
from relumap_service.core.layer_maps import UNIT_ROUNDOFF as U
from relumap_service.core.network import Network
from relumap_service.core.region_map import Box

__all__ = ["SAFETY", "DecisionCounts", "LineTable", "SignEngine"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
SignArray = NDArray[np.int8]

# Bounds are computed in floating point too; this factor covers their own rounding.
SAFETY = 1.0 + 2.0**-20


@dataclass
class DecisionCounts:
    """Decisions made, by floating point and by exact arithmetic."""

    float_signs: int = 0
    exact_signs: int = 0
    exact_points: int = 0
    float_maps: int = 0
    exact_maps: int = 0


class LineTable:
    """Every line an edge lies on: computed coefficients, error bounds and provenance.

    A line's row is ``(a, b, c, w, n, t)``: its coefficients, then the terms
    of the intersection bound (:meth:`bound_terms`).

    Coefficients ``(a, b, c)`` are of ``a u_x + b u_y + c`` in coordinates
    ``u = x - origin``. Lines 0-3 are the box's sides ``x = x_min``,
    ``y = y_min``, ``x = x_max``, ``y = y_max``; later ones are a hidden unit's
    zero line on a root polygon, recorded as (layer, unit, root) with the
    patterns of the earlier layers of every root of that layer.
    """

    WIDTH = 6

    def __init__(self, box: Box, origin: FloatArray, exact: ExactNetwork) -> None:
        (x0, y0), (x1, y1) = box
        sides = [x0 - origin[0], y0 - origin[1], x1 - origin[0], y1 - origin[1]]
        # One row per line: a, b, c, then the terms of the intersection bound
        # (see intersect), so that a pair of lines is two gathers.
        self.rows = np.zeros((64, 6))
        for i, side in enumerate(sides):
            self.rows[i, i % 2] = 1.0
            self.rows[i, 2] = -side
            self.bound_terms(
                np.array([U * abs(side)]), np.array([1.0 + abs(side)]), self.rows[i : i + 1, 3:]
            )
        self.size = 4
        # (layer, unit, root) of every unit's line.
        self.source = np.zeros((3, 64), np.int64)
        # Patterns of the earlier layers of every root, as bits, one per layer
        # (rows: that layer's roots), and where each layer's units start in them.
        self.histories: list[LayerPatterns] = []
        self.layer_starts = np.zeros(1, np.int64)
        self.exact_network = exact
        self._exact: dict[int, Line] = {}
        self.origin = origin

    @property
    def coef(self) -> FloatArray:
        """Coefficients ``(a, b, c)`` of every line, shape (size, 3)."""
        return self.rows[: self.size, :3]

    @staticmethod
    def bound_terms(err: FloatArray, norm: FloatArray, out: FloatArray) -> None:
        """Write the intersection bound terms ``(w, n, t)`` of lines into ``out`` (n, 3).

        ``w = e + u n`` and ``t = n + 2 w``, with ``e`` (``err``) the largest
        coefficient error and ``n`` (``norm``) the coefficients' 1-norm (see
        :meth:`intersect`).
        """
        w = err + U * norm
        out[:, 0] = w
        out[:, 1] = norm
        out[:, 2] = norm + 2 * w

    def add(self, rows: FloatArray, layer: int, unit: IntArray, roots: IntArray) -> IntArray:
        """Record the zero lines of ``unit[i]`` on ``roots[i]`` and return their ids.

        ``rows`` (n, WIDTH) are their rows: coefficients and :meth:`bound_terms`.
        """
        n = roots.size
        start = self.size
        if start + n > self.rows.shape[0]:
            grow = max(n, self.rows.shape[0])
            self.rows = np.concatenate([self.rows, np.zeros((grow, self.WIDTH))])
            self.source = np.concatenate([self.source, np.zeros((3, grow), np.int64)], axis=1)
        end = start + n
        self.rows[start:end] = rows
        source = self.source[:, start:end]
        source[0] = layer
        source[1] = unit
        source[2] = roots
        self.size = end
        return np.arange(start, end)

    def exact(self, line: int) -> Line:
        """Return the line's exact integer coefficients, in the input's own coordinates."""
        out = self._exact.get(line)
        if out is None:
            if line < 4:
                out = self.exact_network.box_line(line)
            else:
                layer, unit, root = (int(v) for v in self.source[:, line])
                out = self.exact_network.unit_line(layer, unit, self.histories[layer].row(root))
            self._exact[line] = out
        return out

    def bends(self, first: IntArray, second: IntArray) -> BoolArray:
        """Which pairs of corners are one point where a unit's zero line bends, provably.

        ``first`` and ``second`` (n, 2) are the two lines through each corner.
        A unit's pre-activation is continuous: on two roots whose activation
        patterns differ only in the unit whose line ``E`` separates them, its
        maps differ by a multiple of that unit's pre-activation, which is zero
        on ``E``. So the unit's lines on the two roots meet ``E`` at the same
        point, exactly, with no arithmetic needed.
        """
        out = np.zeros(first.shape[0], dtype=bool)
        match = first[:, :, None] == second[:, None, :]
        single = match.sum(axis=(1, 2)) == 1
        rows = np.flatnonzero(single)
        if rows.size == 0:
            return out
        at_first, at_second = (
            np.nonzero(match[rows].any(axis=2))[1],
            np.nonzero(match[rows].any(axis=1))[1],
        )
        edge = first[rows, at_first]
        one, other = first[rows, 1 - at_first], second[rows, 1 - at_second]
        layer, unit, root = self.source[:, one]
        ok = (edge >= 4) & (one >= 4) & (other >= 4) & (one != other)
        ok &= (layer == self.source[0, other]) & (unit == self.source[1, other])
        for level in np.unique(layer[ok]).tolist():
            history = self.histories[level].bits
            pick = np.flatnonzero(ok & (layer == level))
            if history.shape[1] == 0:
                ok[pick] = False
                continue
            # The patterns differ in one bit, that of the edge's unit.
            differ = history[root[pick]] ^ history[self.source[2, other[pick]]]
            sizes = self.layer_starts
            column = sizes[self.source[0, edge[pick]]] + self.source[1, edge[pick]]
            one = np.bitwise_count(differ).sum(axis=1, dtype=np.int64) == 1
            ok[pick] = one & bit_at(differ, np.arange(pick.size), column)
        out[rows] = ok
        return out

    def intersect(
        self, first: IntArray, second: IntArray, extent: float, counts: DecisionCounts
    ) -> tuple[FloatArray, FloatArray]:
        """Meeting points of pairs of lines (local coordinates) and their error bounds.

        Each pair must meet inside the box, whose points have ``|x|, |y| <=
        extent``. Cramer's rule in floating point: ``x = n_x / d``, ``y = n_y /
        d`` with ``d``, ``n_x``, ``n_y`` 2x2 determinants of the coefficients.
        With each line's coefficients within ``e`` of the exact ones and ``n``
        their 1-norm, every determinant is within ``E = e1 n2 + e2 n1 + 2 e1
        e2 + 2u n1 n2 <= w1 t2 + w2 n1`` of its exact value (``w = e + u n``,
        ``t = n + 2 w``). With ``d'``, ``n_x'`` the computed determinants,
        ``n_x' / d' - x = (dn - x dd) / d'``, so each coordinate is within
        ``(1 + extent) E / |d'|`` plus the division's rounding. A vertex's
        error depends only on its two lines, never on earlier vertices. Where
        ``|d'|`` is not safely above ``E`` (nearly parallel lines), the point
        is computed exactly and rounded.
        """
        r1, r2 = self.rows[first], self.rows[second]
        a1, b1, k1, w1, n1 = r1[:, 0], r1[:, 1], r1[:, 2], r1[:, 3], r1[:, 4]
        a2, b2, k2, w2, t2 = r2[:, 0], r2[:, 1], r2[:, 2], r2[:, 3], r2[:, 5]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            det = a1 * b2
            det -= a2 * b1
            points = np.empty((first.size, 2))
            x, y = points[:, 0], points[:, 1]
            np.subtract(b1 * k2, b2 * k1, out=x)
            np.subtract(k1 * a2, k2 * a1, out=y)
            points /= det[:, None]
            bound = w1 * t2
            bound += w2 * n1
            ad = np.abs(det)
            error = bound * ((1 + extent) * SAFETY)
            error /= ad
            error += (2 * U * SAFETY) * extent
            bound *= 2
            safe = ad > bound
        if safe.all():
            return points, error
        bad = (~safe).nonzero()[0]
        counts.exact_points += bad.size
        for i in bad.tolist():
            gx, gy = self.exact_network.meeting_point(
                self.exact(int(first[i])), self.exact(int(second[i]))
            )
            points[i] = float(gx - Fraction(self.origin[0])), float(gy - Fraction(self.origin[1]))
            error[i] = 2 * U * float(np.abs(points[i]).max())
        return points, error


class SignEngine:
    """State of one region-map computation."""

    def __init__(self, network: Network, box: Box) -> None:
        (x0, y0), (x1, y1) = box
        self.network = network
        self.origin = np.array([x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2])
        self.exact_network = ExactNetwork(network, [x0, y0, x1, y1])
        self.lines = LineTable(box, self.origin, self.exact_network)
        self.counts = DecisionCounts()

    def settle(
        self,
        sign: SignArray,
        tags: NDArray[np.int32],
        counts: IntArray,
        line_of: tuple[int, int | IntArray, IntArray, LayerPatterns],
    ) -> SignArray:
        """Decide exactly the signs floating point left open (0) at polygons' vertices.

        ``sign`` (n, width) holds the signs of one affine function per polygon
        at its vertices, 0 where the computed value was within its error
        bound; padding repeats the first vertex. ``line_of = (layer, units,
        roots, history)`` names each function's unit (or one unit for all)
        and root polygon, for the exact arithmetic.
        """
        n_valid = int(counts.sum())
        if np.count_nonzero(sign) == sign.size:
            self.counts.float_signs += n_valid
            return sign
        valid = np.arange(sign.shape[1]) < counts[:, None]
        unsure_row, unsure_col = nonzero_2d((sign == 0) & valid)
        self.counts.float_signs += n_valid - unsure_row.size
        self.counts.exact_signs += unsure_row.size
        if unsure_row.size:
            layer, units, roots, history = line_of
            unit_of = np.broadcast_to(np.asarray(units), roots.shape)
            cache: dict[tuple[int, int], Line] = {}
            for r, k in zip(unsure_row.tolist(), unsure_col.tolist(), strict=True):
                key = (int(unit_of[r]), int(roots[r]))
                f = cache.get(key)
                if f is None:
                    f = self.exact_network.unit_line(layer, key[0], history.row(key[1]))
                    cache[key] = f
                before = int(tags[r, k - 1 if k > 0 else counts[r] - 1])
                after = int(tags[r, k])
                sign[r, k] = self.exact_network.sign_at(
                    f, self.lines.exact(before), self.lines.exact(after)
                )
            # Padding repeats the first vertex's sign.
            sign[~valid] = np.repeat(sign[:, 0], sign.shape[1] - counts)
        return sign
