"""Affine maps from the input to a layer's pre-activations, one per root polygon.

On a polygon of constant activation pattern for layers ``1..l-1`` every
pre-activation of layer ``l`` is an affine function of the input point
``(x, y)``: row ``r`` of the maps, of shape (3, n_units), holds its
x-gradient, y-gradient and offset. The maps of layer ``l + 1`` follow from
those of layer ``l``: scale unit ``j`` by its branch slope on the polygon and
multiply by the weights, ``(maps[root] * slope) @ W + b``.

A table of maps costs ``24 * n_units`` bytes per polygon; for wide layers over
many polygons that dominates the memory of a region map, so a layer's maps are
kept as a table only when it is small and otherwise computed on demand, chunk
by chunk, from the previous layer's maps.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, 0.0], [0.0, 2.0]]), np.ones((2, 1))], [np.zeros(2), [1.0]])
>>> first = LayerMaps.first(net)
>>> first.rows(np.array([0])).tolist()
[[[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]]
>>> out = LayerMaps(net, first, np.array([0, 0]), np.array([[True, True], [True, False]]),
...                 net.coefs[1], net.intercepts[1])
>>> out.rows(np.array([0, 1]))[:, :, 0].tolist()
[[1.0, 2.0, 1.0], [1.0, 0.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.network import Network

__all__ = ["LayerMaps"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# Elements per temporary array when computing maps chunk by chunk.
CHUNK = 1 << 19


class LayerMaps:
    """The maps of one layer, as a table or computed from the previous layer.

    Parameters
    ----------
    network : Network
    parent : LayerMaps or None
        Maps of the previous layer; None when ``table`` is given.
    parent_root : ndarray of int of shape (n_rows,)
        Row of ``parent`` whose polygon contains each of these polygons.
    on : ndarray of bool of shape (n_rows, n_parent_units)
        Activation pattern of the previous layer on each polygon.
    w : ndarray of shape (n_parent_units, n_units)
    b : ndarray of shape (n_units,)
    table : ndarray of shape (n_rows, 3, n_units), optional
        The maps themselves.
    """

    def __init__(
        self,
        network: Network,
        parent: LayerMaps | None,
        parent_root: IntArray,
        on: BoolArray,
        w: FloatArray,
        b: FloatArray,
        table: FloatArray | None = None,
    ) -> None:
        self.network, self.parent, self.parent_root, self.on = network, parent, parent_root, on
        self.w, self.b, self.table = w, b, table

    @classmethod
    def first(cls, network: Network) -> LayerMaps:
        """Build the first layer's maps on the whole box: its weights and biases."""
        w, b = network.coefs[0], network.intercepts[0]
        table = np.concatenate([w, b[None]])[None]
        return cls(network, None, np.zeros(1, np.int64), np.ones((1, 2), bool), w, b, table)

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

    def rows(self, index: IntArray) -> FloatArray:
        """Return the maps of polygons ``index``, of shape (len(index), 3, n_units)."""
        if self.table is not None:
            out: FloatArray = self.table[index]
            return out
        assert self.parent is not None
        parents = self.parent_root[index]
        if self.parent.table is not None:
            source = self.parent.table[parents]
        else:
            # Polygons sharing a root share its maps: compute each root once.
            unique, inverse = np.unique(parents, return_inverse=True)
            source = self.parent.rows(unique)[inverse]
        source *= self.network.branch_slopes(self.on[index])[:, None, :]
        n_in = source.shape[2]
        out = (source.reshape(-1, n_in) @ self.w).reshape(index.shape[0], 3, self.n_units)
        out[:, 2] += self.b
        return out

    def chunks(self) -> Iterator[tuple[int, FloatArray]]:
        """Yield ``(start, maps)`` for consecutive chunks of rows."""
        step = max(1, CHUNK // (3 * max(self.n_units, self.w.shape[0], 1)))
        for lo in range(0, self.n_rows, step):
            hi = min(lo + step, self.n_rows)
            if self.table is not None:
                yield lo, self.table[lo:hi]
            else:
                yield lo, self.rows(np.arange(lo, hi))

    def as_table(self, budget: float = np.inf) -> LayerMaps:
        """Return these maps held as a table if that takes at most ``budget`` bytes."""
        if self.table is not None or self.nbytes > budget:
            return self
        table = np.empty((self.n_rows, 3, self.n_units))
        # In root order, so that each chunk needs few rows of the parent.
        order = np.argsort(self.parent_root, kind="stable")
        step = max(1, CHUNK // (3 * max(self.n_units, self.w.shape[0], 1)))
        for lo in range(0, self.n_rows, step):
            index = order[lo : lo + step]
            table[index] = self.rows(index)
        return LayerMaps(self.network, None, self.parent_root, self.on, self.w, self.b, table)

    def scale_bound(self, parent_scale: float) -> float:
        """Bound the scale of these maps from the largest scale of the parent's.

        A unit's scale on the box (:meth:`LineTolerance.scale`, a sum of
        absolute values of linear functions of the maps) is at most the
        parent's largest scale times the 1-norm of the unit's weights, plus its
        bias, since every branch slope is at most 1 in absolute value.
        """
        return float(parent_scale * np.abs(self.w).sum(axis=0).max(initial=0.0)) + float(
            np.abs(self.b).max(initial=0.0)
        )
