"""Affine maps from the input to a layer's pre-activations, one per root polygon.

On a polygon of constant activation pattern for layers ``1..l-1`` every
pre-activation of layer ``l`` is an affine function of the input point
``(x, y)``: row ``r`` of the maps, of shape (3, n_units), holds its
x-gradient, y-gradient and offset. The maps of layer ``l + 1`` follow from
those of layer ``l``: scale unit ``j`` by its branch slope on the polygon and
multiply by the weights, ``(maps[root] * slope) @ W + b``.

Each map comes with a rigorous bound on its rounding error, entry by entry,
of the form ``scale[r, i] * colnorm[j] + RHO * |map[r, i, j]|``: a number per
row of a polygon's map times the 1-norm of unit ``j``'s incoming weights, plus
a relative part. With ``M`` the parent's maps and ``s`` the slopes, the
computed ``fl((M s) W + b)`` differs from the exact map by at most
``sum_k (E_k s_k + gamma_n |M_k s_k|) |W_kj| + u |result|`` (N. J. Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002, section 3.5;
``u = 2**-53``, ``gamma_n = n u / (1 - n u)``, taken here as ``2 n u``), which
is at most ``max_k (E_k s_k + gamma_n |M_k s_k|)`` times the 1-norm of column
``j``: one maximum per row instead of a second matrix product. The engine
decides a sign in floating point only when the value exceeds such a bound.

A table of maps costs ``24 * n_units`` bytes per polygon; for wide
layers over many polygons that dominates the memory of a region map, so a
layer's maps are kept as a table only when it is small and otherwise computed
on demand, chunk by chunk, from the previous layer's maps.

When every polygon shares one parent map (the second layer, whose parent is
the first layer's single map ``P``) and the layer has ``FLIP_MIN_WEIGHTS``
weights or more, two polygons' maps differ only in the units where their
patterns differ: ``maps[r] = maps[h] + sum_k (s_rk - s_hk)
P_k W_k``. A sweep over all rows (:meth:`LayerMaps.chunks`) follows a
flip tree (``tree``, :mod:`relumap_service.core.flip_tree`): level by level,
each row is its parent's plus one term (a few numpy passes a level, or a row
at a time for wide layers, ``ROW_BY_ROW``). Rows
asked for one by one (:meth:`LayerMaps.rows`) come in a locality order
(``order``, a Hilbert curve through the polygons' centres, where consecutive
rows differ in a few units): the first row of a chunk (and of every ``RUN``
rows) is computed by the product, and each next one from the row before it,
the differences by one sparse product and then a running sum, which costs a
few units' work a row instead of all of them. Each rounding adds ``2u`` times
``max_k |P_ik|`` (and the bias's share on the offset row) times the column
norm to the bound: the sums of any subset of the terms are bounded by the sum
of their absolute values.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, 0.0], [0.0, 2.0]]), np.ones((2, 1))], [np.zeros(2), [1.0]])
>>> first = LayerMaps.first(net, net.intercepts[0])
>>> first.rows(np.array([0]))[0].tolist()
[[[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]]
>>> out = LayerMaps(net, first, np.array([0, 0]), np.array([[True, True], [True, False]]),
...                 net.coefs[1], net.intercepts[1])
>>> out.rows(np.array([0, 1]))[0][:, :, 0].tolist()
[[1.0, 2.0, 1.0], [1.0, 0.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

# At import: the processes mapping strips fork from a server that imported
# this, and would each import it again on their first layer.
from scipy.sparse import csr_matrix

from relumap_service.core.bits import BitColumns
from relumap_service.core.flip_tree import FlipTree
from relumap_service.core.indexing import nonzero_2d
from relumap_service.core.network import Network

__all__ = ["LayerMaps"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# Elements per temporary array when computing maps chunk by chunk.
CHUNK = 1 << 19
# Rows computed from their neighbours' (see the module's docstring) for layers
# whose weights are at least this many (below, the product costs less).
FLIP_MIN_WEIGHTS = 128 * 128
# Longest run of rows computed each from the one before it: the bound grows with
# the run (on 2-128-128-1, unbounded runs along a Hilbert curve tripled the largest
# vertex error bound).
RUN = 256
# A flip tree's level of more than this many chunks of rows is not kept: the
# next level is computed by the product (see LayerMaps._tree_chunks).
KEEP_ROWS = 16
# From this many units, a flip tree's rows are summed one by one (a Python
# loop): 2.9x faster than whole-chunk gathers for 800 units, 1.7x for 256;
# for 128, the loop's overhead outweighs what it saves.
ROW_BY_ROW = 256
# Unit roundoff of float64.
UNIT_ROUNDOFF = 2.0**-53
# The relative part of every map's error bound: the rounding of the last addition.
RHO = 2 * UNIT_ROUNDOFF


class LayerMaps:
    """The maps of one layer, as a table or computed from the previous layer.

    Parameters
    ----------
    network : Network
    parent : LayerMaps or None
        Maps of the previous layer; None when ``table`` is given.
    parent_root : ndarray of int of shape (n_rows,)
        Row of ``parent`` whose polygon contains each of these polygons.
    on : ndarray of bool of shape (n_rows, n_parent_units), or BitColumns
        Activation pattern of the previous layer on each polygon; ``on[index]``
        gives the rows' booleans (:class:`relumap_service.core.bits.BitColumns`
        reads them from packed bits).
    w : ndarray of shape (n_parent_units, n_units)
    b : ndarray of shape (n_units,)
    table : ndarray of shape (n_rows, 3, n_units), optional
        The maps themselves.
    scale : ndarray of shape (n_rows, 3), optional
        The per-row part of the maps' error bounds; given with ``table``.
    order : ndarray of int of shape (n_rows,), optional
        The rows in an order where neighbours come together (a locality
        order); tables and chunks are built in it.
    tree : FlipTree, optional
        With one parent map, the rows level by level, each one flip from its
        parent (:mod:`relumap_service.core.flip_tree`): chunks then follow
        the tree instead of ``order``.
    """

    def __init__(
        self,
        network: Network,
        parent: LayerMaps | None,
        parent_root: IntArray,
        on: BoolArray | BitColumns,
        w: FloatArray,
        b: FloatArray,
        table: FloatArray | None = None,
        scale: FloatArray | None = None,
        order: IntArray | None = None,
        tree: FlipTree | None = None,
    ) -> None:
        self.network, self.parent, self.parent_root, self.on = network, parent, parent_root, on
        self.w, self.b, self.table, self.scale, self.order = w, b, table, scale, order
        self.tree = tree
        self.colnorm = np.abs(w).sum(axis=0)
        self._largest: FloatArray | None = None
        self._rank: IntArray | None = None
        self._flip_terms: tuple[FloatArray, FloatArray, FloatArray] | None = None
        # gamma_{n+2} of the product with W, doubled to cover the rounding of the bound
        # itself, plus the parent's relative part and a slope's rounding.
        self.gamma = 2 * (w.shape[0] + 2) * UNIT_ROUNDOFF + RHO + UNIT_ROUNDOFF

    @classmethod
    def first(cls, network: Network, constant: FloatArray) -> LayerMaps:
        """Build the first layer's maps in coordinates centred on a point ``origin``.

        With ``x = origin + u`` the pre-activations are ``u W + (b + origin W)``;
        ``constant`` is ``b + origin W`` rounded once (computed exactly by the
        caller), so far boxes are as precise as near ones.
        """
        w, b = network.coefs[0], network.intercepts[0]
        table = np.concatenate([w, constant[None]])[None]
        on = np.ones((1, 2), bool)
        return cls(network, None, np.zeros(1, np.int64), on, w, b, table, np.zeros((1, 3)))

    def errors(
        self, maps: FloatArray, scale: FloatArray, units: IntArray | None = None
    ) -> FloatArray:
        """Error bounds of ``maps`` (n, 3, n_units), or of one unit each if ``units`` (n,)."""
        if units is None:
            out: FloatArray = scale[:, :, None] * self.colnorm + RHO * np.abs(maps)
        else:
            out = scale * self.colnorm[units][:, None] + RHO * np.abs(maps)
        return out

    @property
    def n_rows(self) -> int:
        """Number of polygons (rows)."""
        return int(self.parent_root.shape[0] if self.table is None else self.table.shape[0])

    @property
    def n_units(self) -> int:
        """Number of units of the layer."""
        return int(self.w.shape[1])

    @property
    def nbytes(self) -> int:
        """Size of the table, held or not."""
        return 24 * self.n_rows * self.n_units

    def rows(self, index: IntArray) -> tuple[FloatArray, FloatArray]:
        """Return the maps of polygons ``index`` and the per-row part of their error bounds.

        Shapes (len(index), 3, n_units) and (len(index), 3). Neighbours in
        ``index`` should come together (see ``order``): with one parent map,
        rows are computed from their neighbours'.
        """
        if self.table is not None:
            assert self.scale is not None
            return self.table[index], self.scale[index]
        flips = self._flips() if index.size > 1 else None
        if flips is not None:
            return self._rows_by_flips(index, *flips)
        return self._product_rows(index)

    @property
    def rank(self) -> IntArray:
        """Position of each row in ``order``."""
        if self._rank is None:
            assert self.order is not None
            self._rank = np.empty_like(self.order)
            self._rank[self.order] = np.arange(self.order.size)
        return self._rank

    def _flips(self) -> tuple[FloatArray, FloatArray, FloatArray] | None:
        """With one parent map ``P``: each parent unit's terms, and the scales of their bound.

        ``terms[k]`` is ``P_k W_k`` flattened to ``3 * n_units``; each term a
        row adds to the one it is computed from adds ``2u flip_scale`` per
        rounding to its bound, and ``extra`` (the parent's own error on the
        term), both per map row (see :meth:`_rows_by_flips`). None when rows
        do not share one parent map, or when the scales are not finite.
        """
        parent = self.parent
        if parent is None or parent.table is None or parent.table.shape[0] != 1:
            return None
        if self.network.hidden_activation == "identity":
            return None  # every row has the same map
        if self.w.size < FLIP_MIN_WEIGHTS:
            return None
        if self._flip_terms is None:
            assert parent.scale is not None
            p = parent.table[0]
            terms = (p.T[:, :, None] * self.w[:, None, :]).reshape(self.w.shape[0], -1)
            # |b_j| <= beta cn_j wherever cn_j > 0; a unit with cn_j = 0 only ever adds zeros.
            used = self.colnorm > 0
            beta = float(np.max(np.abs(self.b[used]) / self.colnorm[used], initial=0.0))
            flip_scale = parent.largest()[0].copy()
            flip_scale[2] += beta * (1 + 4 * UNIT_ROUNDOFF)
            extra = parent.scale[0] * float(parent.colnorm.max(initial=0.0))
            extra *= 1 + 4 * UNIT_ROUNDOFF
            self._flip_terms = (terms, flip_scale, extra)
        flip_scale, extra = self._flip_terms[1:]
        if not (np.isfinite(flip_scale).all() and np.isfinite(extra).all()):
            return None
        return self._flip_terms

    def _rows_by_flips(
        self, index: IntArray, terms: FloatArray, flip_scale: FloatArray, extra: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`rows`, each from the one before it: one sparse product, then running sums.

        The first row of every ``RUN``, and a row whose pattern differs from
        the one before it in over an eighth of the parent's units (the
        locality order jumped), are computed by the product; each run after
        one adds the differences of consecutive rows, one after the other.
        """
        n, n_parent = index.size, self.w.shape[0]
        on = self.on[index]
        diff = np.zeros_like(on)
        np.not_equal(on[1:], on[:-1], out=diff[1:])
        count = diff.sum(axis=1)
        head = count > n_parent // 8
        head[::RUN] = True
        diff[head], count[head] = False, 0
        direct = head.nonzero()[0]
        maps, bound = self._product_rows(index[direct])
        out = np.empty((n, 3, self.n_units))
        flat = out.reshape(n, -1)
        rows, units = nonzero_2d(diff)
        if rows.size:
            on_slope, off_slope = self.network.branch_slopes(np.array([True, False]))
            step = np.where(on[rows, units], on_slope - off_slope, off_slope - on_slope)
            indptr = np.concatenate([[0], np.cumsum(count)])
            flat[...] = csr_matrix((step, units, indptr), shape=(n, n_parent)) @ terms
        out[direct] = maps
        # The running sums, row after row: np.cumsum along the rows walks each
        # column down in turn, several times slower.
        for r in (~head).nonzero()[0].tolist():
            flat[r] += flat[r - 1]
        # Row r of a run adds its ``steps`` rows' differences, ``flipped`` terms
        # in all (a unit may come back): at most that many roundings of terms,
        # the same of the sums within the differences and ``steps`` of the
        # running sum, each within 2u flip_scale of the column norm, and the
        # parent's error on each term added.
        run = np.cumsum(head) - 1
        flipped = np.cumsum(count)
        flipped -= flipped[direct][run]
        steps = np.arange(n) - direct[run]
        scale = bound[run]
        moved = (steps > 0).nonzero()[0]
        grow = (2 * flipped[moved] + steps[moved] + 8) * (2 * UNIT_ROUNDOFF)
        scale[moved] += grow[:, None] * flip_scale + flipped[moved, None] * extra
        return out, scale

    def _tree_chunks(
        self,
        tree: FlipTree,
        step: int,
        terms: FloatArray,
        flip_scale: FloatArray,
        extra: FloatArray,
    ) -> Iterator[tuple[IntArray, FloatArray, FloatArray, FloatArray]]:
        """:meth:`chunks` along a flip tree: each level's maps are its parents' plus one term.

        The first level, every ``RUN``-th after it and a level after one too
        large to keep (over ``KEEP_ROWS`` chunks of rows) are computed by the
        product; the bound is :meth:`_rows_by_flips`'s with one unit flipped
        a step. Small levels share a chunk: levels are written one after the
        other into it, and a level larger than a chunk is cut into chunks.
        """
        n_units, width = self.n_units, 3 * self.n_units
        on_slope, off_slope = self.network.branch_slopes(np.array([True, False]))
        # A flip's term with its step's sign: the rows gain it or lose it.
        n_parent = terms.shape[0]
        step_terms = np.empty((2 * n_parent, terms.shape[1]))
        np.multiply(terms, on_slope - off_slope, out=step_terms[:n_parent])
        np.negative(step_terms[:n_parent], out=step_terms[n_parent:])
        signed = np.where(tree.on, tree.unit, tree.unit + n_parent)

        def chunk(
            lo: int, hi: int, flat: FloatArray, scale: FloatArray
        ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
            maps = flat.reshape(hi - lo, 3, n_units)
            return tree.rows[lo:hi], maps, scale, np.maximum(maps.max(axis=2), -maps.min(axis=2))

        prev: FloatArray | None = None
        prev_head = np.zeros((0, 3))
        steps = 0  # levels since the last one computed by the product
        buffer, buffer_scale = np.empty((step, width)), np.empty((step, 3))
        filled = buffer_start = 0
        for level in range(tree.n_levels):
            first, last = int(tree.starts[level]), int(tree.starts[level + 1])
            n = last - first
            steps = 0 if prev is None or steps + 1 == RUN else steps + 1
            if filled and filled + n > step:
                yield chunk(buffer_start, first, buffer[:filled], buffer_scale[:filled])
                buffer, buffer_scale, filled = np.empty((step, width)), np.empty((step, 3)), 0
            big, keep = n > step, n <= KEEP_ROWS * step
            if not big:
                buffer_start = first if not filled else buffer_start
                rows, rows_scale = buffer[filled : filled + n], buffer_scale[filled : filled + n]
                filled += n
            elif keep:  # a level of its own, yielded chunk by chunk
                rows, rows_scale = np.empty((n, width)), np.empty((n, 3))
            heads = np.empty((n, 3))
            grow = (3 * steps + 8) * (2 * UNIT_ROUNDOFF) * flip_scale + steps * extra
            for lo in range(0, n, step):
                hi = min(lo + step, n)
                index = tree.rows[first + lo : first + hi]
                if keep:
                    out, out_scale = rows[lo:hi], rows_scale[lo:hi]
                else:
                    out, out_scale = np.empty((hi - lo, width)), np.empty((hi - lo, 3))
                if steps == 0:
                    maps, heads[lo:hi] = self._product_rows(index)
                    out[...] = maps.reshape(hi - lo, width)
                    out_scale[...] = heads[lo:hi]
                else:
                    assert prev is not None
                    parent = tree.parent[first + lo : first + hi]
                    kin = signed[first + lo : first + hi]
                    if n_units >= ROW_BY_ROW:
                        # Each row read and written once: gathering the terms
                        # and the parents into temporaries, then adding, moves
                        # each row about three times as often.
                        add = np.add
                        for row, p, k in zip(out, parent.tolist(), kin.tolist(), strict=True):
                            add(prev[p], step_terms[k], out=row)
                    else:
                        out[...] = step_terms[kin]
                        out += prev[parent]
                    heads[lo:hi] = prev_head[parent]
                    np.add(heads[lo:hi], grow, out=out_scale)
                if big:
                    yield chunk(first + lo, first + hi, out, out_scale)
            prev, prev_head = (rows, heads) if keep else (None, heads)
        if filled:
            yield chunk(buffer_start, int(tree.starts[-1]), buffer[:filled], buffer_scale[:filled])

    def _product_rows(self, index: IntArray) -> tuple[FloatArray, FloatArray]:
        """:meth:`rows` by the product of each row's parent map, scaled, with ``W``."""
        assert self.parent is not None
        parents = self.parent_root[index]
        if self.parent.table is not None:
            assert self.parent.scale is not None
            source, source_scale = self.parent.table[parents], self.parent.scale[parents]
            largest = self.parent.largest()[parents]
        else:
            # Polygons sharing a root share its maps: compute each root once, the
            # roots in the parent's locality order, so that its runs are neighbours.
            if self.parent.order is None:
                unique, inverse = np.unique(parents, return_inverse=True)
            else:
                ranks, inverse = np.unique(self.parent.rank[parents], return_inverse=True)
                unique = self.parent.order[ranks]
            maps, scale = self.parent.rows(unique)
            source, source_scale = maps[inverse], scale[inverse]
            largest = np.maximum(maps.max(axis=2), -maps.min(axis=2))[inverse]
        slopes = self.network.branch_slopes(self.on[index])[:, None, :]
        source *= slopes
        n_in, n = source.shape[2], index.shape[0]
        out = (source.reshape(-1, n_in) @ self.w).reshape(n, 3, self.n_units)
        out[:, 2] += self.b
        # max_k (E_k s_k + gamma |M_k s_k|), with E_k = scale cn_k + RHO |M_k|, is at
        # most gamma max_k |M_k| + scale max_k cn_k (slopes are at most 1), both
        # known per parent row.
        bound = self.gamma * largest
        bound += source_scale * float(self.parent.colnorm.max(initial=0.0))
        return out, bound

    def largest(self) -> FloatArray:
        """Largest ``|map|`` of each row of the table over the units, shape (n_rows, 3)."""
        if self._largest is None:
            assert self.table is not None
            self._largest = np.maximum(self.table.max(axis=2), -self.table.min(axis=2))
        return self._largest

    def chunks(self) -> Iterator[tuple[IntArray, FloatArray, FloatArray, FloatArray]]:
        """Yield ``(index, maps, scale, largest)`` for chunks of rows, every row once.

        ``largest`` (n, 3) is the largest ``|map|`` of each row over the units.
        A table is read in its rows' order; maps computed on demand follow
        the flip tree if given, else ``order`` if given, else their roots.
        """
        step = max(1, CHUNK // (3 * max(self.n_units, self.w.shape[0], 1)))
        if self.table is not None:
            assert self.scale is not None
            for lo in range(0, self.n_rows, step):
                hi = min(lo + step, self.n_rows)
                yield np.arange(lo, hi), self.table[lo:hi], self.scale[lo:hi], self.largest()[lo:hi]
            return
        flips = self._flips() if self.tree is not None else None
        if flips is not None:
            assert self.tree is not None
            yield from self._tree_chunks(self.tree, step, *flips)
            return
        # In root order, so that each chunk needs few rows of the parent (in the
        # parent's locality order, if it has one), or in this layer's own.
        if self.order is not None:
            order = self.order
        elif self.parent is not None and self.parent.order is not None:
            order = np.argsort(self.parent.rank[self.parent_root], kind="stable")
        else:
            order = np.argsort(self.parent_root, kind="stable")
        for lo in range(0, self.n_rows, step):
            index = order[lo : lo + step]
            maps, scale = self.rows(index)
            yield index, maps, scale, np.maximum(maps.max(axis=2), -maps.min(axis=2))

    def as_table(self, budget: float = np.inf) -> LayerMaps:
        """Return these maps held as a table if that takes at most ``budget`` bytes."""
        if self.table is not None or self.nbytes > budget:
            return self
        table = np.empty((self.n_rows, 3, self.n_units))
        scale = np.empty((self.n_rows, 3))
        for index, maps, row_scale, _ in self.chunks():
            table[index], scale[index] = maps, row_scale
        return LayerMaps(
            self.network, None, self.parent_root, self.on, self.w, self.b, table, scale
        )
