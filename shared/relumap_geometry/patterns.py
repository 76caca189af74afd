"""Activation patterns written as strings of ``0`` and ``1``, and read back.

An *activation pattern* is one boolean per hidden unit, True where the unit's
pre-activation is strictly positive, layer 1 first. The API writes each pattern
as a string, ``"0110"``, one character per unit.

Examples
--------
>>> import numpy as np
>>> pattern_strings(np.array([[True, False], [False, False]]))
['10', '00']
>>> patterns_array(["10", "00"]).tolist()
[[True, False], [False, False]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "pack_patterns",
    "packed_pattern_strings",
    "pattern_strings",
    "patterns_array",
    "unpack_patterns",
]

BoolArray = NDArray[np.bool_]
PackedArray = NDArray[np.uint8]

# Rows unpacked at a time to write packed patterns as strings.
_STRING_CHUNK = 1 << 14


def pack_patterns(patterns: BoolArray) -> PackedArray:
    """Pack activation patterns into bits: ``np.packbits`` of each row.

    >>> pack_patterns(np.array([[True, False, True]])).tolist()
    [[160]]
    """
    out: PackedArray = np.packbits(np.asarray(patterns, dtype=bool), axis=1)
    return out


def unpack_patterns(packed: PackedArray, n_hidden: int) -> BoolArray:
    """Unpack rows of bits (:func:`pack_patterns`) into (n_rows, n_hidden) booleans.

    >>> unpack_patterns(np.array([[160]], np.uint8), 3).tolist()
    [[True, False, True]]
    """
    packed = np.asarray(packed, dtype=np.uint8)
    if n_hidden == 0:
        return np.zeros((packed.shape[0], 0), dtype=bool)
    out: BoolArray = np.unpackbits(packed, axis=1, count=n_hidden).view(bool)
    return out


def packed_pattern_strings(packed: PackedArray, n_hidden: int) -> list[str]:
    """Write packed activation patterns as strings of ``0`` and ``1``, a chunk of rows at a time.

    >>> packed_pattern_strings(np.array([[160], [64]], np.uint8), 3)
    ['101', '010']
    """
    out: list[str] = []
    for lo in range(0, packed.shape[0], _STRING_CHUNK):
        out += pattern_strings(unpack_patterns(packed[lo : lo + _STRING_CHUNK], n_hidden))
    return out


def pattern_strings(patterns: BoolArray) -> list[str]:
    """Write each activation pattern as a string of ``0`` and ``1``.

    Parameters
    ----------
    patterns : ndarray of bool of shape (n_patterns, n_hidden_total)

    Returns
    -------
    list of str
        One string of length ``n_hidden_total`` per row.
    """
    patterns = np.asarray(patterns, dtype=bool)
    if patterns.shape[0] == 0:
        return []
    width = patterns.shape[1]
    if width == 0:
        return [""] * patterns.shape[0]
    # One bytes object for all rows, cut into strings: no Python loop per bit.
    raw = np.where(patterns, ord("1"), ord("0")).astype(np.uint8).tobytes()
    return [raw[i : i + width].decode("ascii") for i in range(0, len(raw), width)]


def patterns_array(strings: Sequence[str]) -> BoolArray:
    """Read activation patterns ``["0101", ...]`` into a bool array.

    Parameters
    ----------
    strings : sequence of str
        Strings of ``0`` and ``1``, all of the same length ``n_hidden_total``.

    Returns
    -------
    ndarray of bool of shape (n_patterns, n_hidden_total)
    """
    width = len(strings[0]) if strings else 0
    joined = np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8)
    result: BoolArray = joined.reshape(len(strings), width) == ord("1")
    return result
