"""Activation patterns: which hidden units are on, and how they are named.

An *activation pattern* is one boolean per hidden unit, True where the unit's
pre-activation is strictly positive (the unit is on its identity branch), in
the order of :meth:`Network.forward`: layer 1 first. Layers are numbered from 1
(layer 0 is the input, as in Serra et al. 2018); units from 0 within a layer.
Patterns are written as strings of ``0`` and ``1`` by
:func:`relumap_geometry.pattern_strings`, which the client reads them back with.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.network import Network

__all__ = ["unit_labels"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def unit_labels(network: Network) -> tuple[IntArray, IntArray]:
    """Name every hidden unit by its layer (from 1) and its index in the layer.

    Returns
    -------
    layer : ndarray of shape (n_hidden_total,)
        Hidden layer of each pattern column, numbered from 1.
    unit : ndarray of shape (n_hidden_total,)
        Index of the unit within its layer, from 0.

    Examples
    --------
    >>> net = Network([np.ones((1, 2)), np.ones((2, 1)), np.ones((1, 1))],
    ...               [np.zeros(2), np.zeros(1), np.zeros(1)])
    >>> [a.tolist() for a in unit_labels(net)]
    [[1, 1, 2], [0, 1, 0]]
    """
    sizes = network.hidden_layer_sizes
    layer = np.repeat(np.arange(1, len(sizes) + 1, dtype=np.int64), sizes)
    unit = np.concatenate([np.arange(n, dtype=np.int64) for n in sizes] or [np.zeros(0, np.int64)])
    return layer, unit
