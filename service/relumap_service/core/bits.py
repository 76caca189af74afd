"""Activation patterns held as bits: rows of ``np.packbits``, one bit per hidden unit.

A region map holds one pattern per polygon, one bit per hidden unit of every
layer: for a million regions of a net of 1,600 hidden units, 200 MB as bits
against 1.6 GB as numpy booleans. The engine
(:mod:`relumap_service.core.regions`) keeps every per-polygon pattern in this
form: the current layer's patterns in the polygon store, which units' lines
cross each root and their signs on it, and the patterns of all finished layers
(the *history*), which becomes the map's ``packed_patterns``.

The layout is ``np.packbits(patterns, axis=1)`` (bit ``k`` of a row is bit
``7 - k % 8`` of byte ``k // 8``, unused bits of the last byte zero): the
.npz transport sends these bytes as they are, and a row's bytes compare and
hash as the pattern. Bytes rather than 64-bit words, because a row's length
then needs no padding beyond a byte, rows gather with plain indexing, and the
wire format needs no conversion.

Examples
--------
>>> import numpy as np
>>> bits = np.packbits(np.array([[True, False, True]]), axis=1)
>>> bit_at(bits, np.array([0]), np.array([2])).tolist()
[True]
>>> unpack_columns(bits, 1, 2).tolist()
[[False, True]]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BitColumns",
    "LayerPatterns",
    "append_bits",
    "bit_at",
    "n_bytes",
    "set_bits_at",
    "set_column",
    "unpack_columns",
]

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Bits = NDArray[np.uint8]


def n_bytes(n_bits: int) -> int:
    """Bytes of a row of ``n_bits`` bits."""
    return (n_bits + 7) // 8


def bit_at(bits: Bits, rows: IntArray, columns: IntArray) -> BoolArray:
    """Return bit ``columns[i]`` of row ``rows[i]`` for every ``i``."""
    shift = (7 - columns % 8).astype(np.uint8)
    out: BoolArray = ((bits[rows, columns // 8] >> shift) & 1).astype(bool)
    return out


def set_bits_at(bits: Bits, rows: IntArray, columns: IntArray) -> None:
    """Set bit ``columns[i]`` of row ``rows[i]`` for every ``i`` (``rows`` distinct)."""
    bits[rows, columns // 8] |= np.uint8(1) << (7 - columns % 8).astype(np.uint8)


def set_column(bits: Bits, column: int, on: BoolArray) -> None:
    """Set bit ``column`` of the first ``len(on)`` rows where ``on``."""
    byte = bits[: on.size, column // 8]
    byte |= on.view(np.uint8) << np.uint8(7 - column % 8)


def unpack_columns(bits: Bits, start: int, count: int) -> BoolArray:
    """Return bits ``start`` to ``start + count`` of every row of ``bits`` as booleans."""
    first, skip = divmod(start, 8)
    stop = n_bytes(start + count)
    out: BoolArray = np.unpackbits(bits[:, first:stop], axis=1, count=skip + count)[:, skip:].view(
        bool
    )
    return out


def append_bits(head: Bits, n_head: int, tail: Bits, n_tail: int) -> Bits:
    """Rows of ``n_head`` bits (``head``) followed by rows of ``n_tail`` bits (``tail``).

    Both packed; the result is ``np.packbits`` of the concatenated booleans,
    computed on the bytes.

    >>> a, b = np.array([[1, 0, 1]], bool), np.array([[1, 1, 0, 0, 0, 0, 0, 1, 1]], bool)
    >>> ab = append_bits(np.packbits(a, axis=1), 3, np.packbits(b, axis=1), 9)
    >>> bool(np.array_equal(ab, np.packbits(np.concatenate([a, b], axis=1), axis=1)))
    True
    """
    full, shift = divmod(n_head, 8)
    width = n_bytes(n_head + n_tail)
    out = np.empty((head.shape[0], width), np.uint8)
    out[:, :full] = head[:, :full]
    if shift == 0:
        out[:, full:] = tail[:, : width - full]
        return out
    # Bits past the head's end in its last byte are zero: the tail's first
    # byte fills them, and each tail byte spills into the next output byte.
    n_tail_bytes = n_bytes(n_tail)
    out[:, full:] = 0
    out[:, full] = head[:, full]
    out[:, full : full + n_tail_bytes] |= tail[:, :n_tail_bytes] >> np.uint8(shift)
    spill = min(n_tail_bytes, width - full - 1)
    out[:, full + 1 : full + 1 + spill] |= tail[:, :spill] << np.uint8(8 - shift)
    return out


class BitColumns:
    """Columns ``start`` to ``start + count`` of packed rows, read as booleans, rows on demand.

    ``columns[index]`` is the bool array (len(index), count); a layer's maps
    (:class:`relumap_service.core.layer_maps.LayerMaps`) read its parent
    layer's patterns this way from the packed history.
    """

    def __init__(self, bits: Bits, start: int, count: int) -> None:
        self.bits, self.start, self.count = bits, start, count

    def __getitem__(self, index: IntArray) -> BoolArray:
        return unpack_columns(self.bits[index], self.start, self.count)


class LayerPatterns:
    """Packed patterns of the finished layers, one row per polygon, split by layer on demand.

    Parameters
    ----------
    bits : ndarray of uint8 of shape (n_rows, n_bytes(sum(sizes)))
    sizes : tuple of int
        Units of each finished layer.
    """

    def __init__(self, bits: Bits, sizes: tuple[int, ...]) -> None:
        self.bits = bits
        self.sizes = sizes
        self.cuts = np.cumsum(sizes)[:-1] if sizes else np.zeros(0, np.int64)

    def row(self, i: int) -> list[BoolArray]:
        """Row ``i`` as one bool array per finished layer."""
        if not self.sizes:
            return []
        bits = np.unpackbits(self.bits[i], count=int(sum(self.sizes))).view(bool)
        return np.split(bits, self.cuts)
