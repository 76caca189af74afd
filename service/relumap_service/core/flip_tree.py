"""A breadth-first tree of polygons whose activation patterns differ in one unit.

Below the first layer every polygon shares the first layer's single map, so
the maps of two polygons whose first-layer patterns differ in one unit
differ by that unit's one term
(:class:`relumap_service.core.layer_maps.LayerMaps`). Polygons on the two
sides of an edge on unit ``k``'s zero line are such a pair; the edges' tags
name the candidate units. A pattern's hash is the exclusive or of a random
64-bit word per unit, so the hash of a pattern with bit ``k`` flipped is
``hash ^ word[k]``: one lookup among the sorted hashes finds the neighbour,
and every pair found is checked on the patterns' bytes, so the tree is right
whatever the geometry or the hashes.

The tree is searched breadth first from a polygon near the box's centre (and
one more root for every part the edges do not connect): the polygons come
level by level, each with its parent in the level before, so a level's maps
are its parents' plus one term each, a few numpy passes per level.

Examples
--------
>>> import numpy as np
>>> bits = np.packbits(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], bool), axis=1)
>>> tree = flip_tree(bits, np.array([0, 1, 2, 3]), np.array([0, 1, 0, 1]), root=0)
>>> tree.rows.tolist(), tree.starts.tolist()
([0, 1, 3, 2], [0, 1, 3, 4])
>>> tree.parent.tolist(), tree.unit.tolist(), tree.on.tolist()
([-1, 0, 0, 0], [-1, 0, 1, 1], [False, True, True, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from relumap_service.core.bits import Bits, bit_at
from relumap_service.core.indexing import take_rows

__all__ = ["FlipTree", "flip_tree"]

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class FlipTree:
    """Rows level by level, each one unit's flip from its parent in the level before.

    Level ``l`` is ``rows[starts[l]:starts[l + 1]]``. For the row at position
    ``i`` of ``rows``: ``parent[i]`` is its parent's position within the
    previous level (-1 for a root), ``unit[i]`` the unit in which their
    patterns differ, and ``on[i]`` whether the row has that unit on.
    """

    rows: IntArray
    starts: IntArray
    parent: IntArray
    unit: IntArray
    on: BoolArray

    @property
    def n_levels(self) -> int:
        """Number of levels."""
        return int(self.starts.size - 1)


def _hashes(bits: Bits, seed: int = 0) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """Return a random word per bit of a row and each row's hash, their exclusive or."""
    n_bytes = bits.shape[1]
    word = np.random.default_rng(seed).integers(0, 2**63, n_bytes * 8, dtype=np.int64)
    word = word.astype(np.uint64)
    # Per byte position, the hash of each of its 256 values (bit 7 is the first unit).
    values = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(bool)
    table = np.zeros((n_bytes, 256), np.uint64)
    for j, w in enumerate(word.reshape(n_bytes, 8).T):
        table ^= np.where(values[:, j], w[:, None], np.uint64(0))
    code = np.zeros(bits.shape[0], np.uint64)
    for b in range(n_bytes):
        code ^= table[b][bits[:, b]]
    return word, code


def _flip_pairs(bits: Bits, rows: IntArray, units: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Return the pairs (row, neighbour, unit) of ``rows`` whose neighbour differs in ``units``."""
    word, code = _hashes(bits)
    order = np.argsort(code)
    target = code[rows] ^ word[units]
    at = np.minimum(np.searchsorted(code[order], target), code.size - 1)
    hit = (code[order[at]] == target).nonzero()[0]
    rows, units, other = rows[hit], units[hit], order[at[hit]]
    # The hashes point; the bytes decide, a chunk of pairs at a time: a copy
    # of every candidate's pattern would be the largest array of a big map's
    # first layer. (Comparing rows as one void value each is about twice as
    # slow as comparing their bytes.)
    same = np.empty(rows.size, bool)
    for lo in range(0, rows.size, _VERIFY_CHUNK):
        part = slice(lo, lo + _VERIFY_CHUNK)
        flipped = take_rows(bits, rows[part])
        column, bit = units[part] >> 3, (units[part] & 7).astype(np.uint8)
        flipped[np.arange(flipped.shape[0]), column] ^= np.uint8(128) >> bit
        same[part] = (flipped == take_rows(bits, other[part])).all(axis=1)
    return rows[same], other[same], units[same]


_VERIFY_CHUNK = 1 << 16


def flip_tree(bits: Bits, rows: IntArray, units: IntArray, root: int) -> FlipTree:
    """Build the breadth-first tree of rows of ``bits`` over one-unit flips.

    Parameters
    ----------
    bits : ndarray of uint8 of shape (n_rows, n_bytes)
        Packed activation patterns (:mod:`relumap_service.core.bits`).
    rows, units : ndarray of int of shape (n_candidates,)
        Candidate flips: row ``rows[i]`` may have a neighbour differing in
        unit ``units[i]`` alone (the unit of one of its edges' lines).
    root : int
        The first root; each part the flips found do not connect gets its
        lowest row as a root too.

    Returns
    -------
    FlipTree
    """
    n = bits.shape[0]
    source, target, unit = _flip_pairs(bits, rows, units)
    # A flip goes both ways.
    source, target = np.concatenate([source, target]), np.concatenate([target, source])
    unit = np.concatenate([unit, unit])
    graph = csr_matrix((np.ones(source.size, np.int8), (source, target)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    roots = np.unique(label, return_index=True)[1]
    roots[label[root]] = root
    roots = np.sort(roots)
    # Each pair once per direction, by source: a row's flips are indptr[r]:indptr[r + 1].
    by_source = np.argsort(source, kind="stable")
    source, target, unit = source[by_source], target[by_source], unit[by_source]
    indptr = np.searchsorted(source, np.arange(n + 1))
    seen = np.zeros(n, bool)
    seen[roots] = True
    position = np.zeros(n, np.int64)
    levels = [roots]
    parents = [np.full(roots.size, -1)]
    flips = [np.full(roots.size, -1)]
    while True:
        frontier = levels[-1]
        position[frontier] = np.arange(frontier.size)
        count = indptr[frontier + 1] - indptr[frontier]
        first = np.cumsum(count) - count
        at = np.repeat(indptr[frontier] - first, count) + np.arange(count.sum())
        new = ~seen[target[at]]
        at = at[new]
        # The first pair reaching each new row names its parent.
        reached, pick = np.unique(target[at], return_index=True)
        if reached.size == 0:
            break
        seen[reached] = True
        levels.append(reached)
        parents.append(position[source[at[pick]]])
        flips.append(unit[at[pick]])
    tree_rows = np.concatenate(levels)
    tree_unit = np.concatenate(flips)
    on = np.zeros(n, bool)
    moved = tree_unit >= 0
    on[moved] = bit_at(bits, tree_rows[moved], tree_unit[moved])
    return FlipTree(
        rows=tree_rows,
        starts=np.cumsum([0] + [level.size for level in levels]),
        parent=np.concatenate(parents),
        unit=tree_unit,
        on=on,
    )
