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

__all__ = ["pattern_strings", "patterns_array"]

BoolArray = NDArray[np.bool_]


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
