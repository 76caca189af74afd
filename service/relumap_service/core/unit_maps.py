"""Every hidden unit as an affine function of the input, on each piece or region.

On a piece (1D) or region (2D) of constant activation pattern, each unit's
pre-activation is an affine function of the input, ``z = x @ A + a``, and so
is its activation ``s * z`` (``s`` the slope of the branch it is on). With
``A``, ``a`` of layer ``l``, layer ``l + 1`` has ``(A s) W + b`` and
``(a s) W + b``. The output is the sum of the last hidden layer's
*contributions*, ``W[j, o]`` times unit ``j``'s activation, plus the output
bias: this is how the units of a ReLU network add up to its function.

Layout as everywhere in the API: a map's ``gradient`` is ``n_rows x n_inputs``
(one row per unit), its ``intercept`` has one entry per unit.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, -1.0]]), np.array([[2.0], [3.0]])],
...               [np.zeros(2), np.array([0.5])])
>>> maps = unit_maps(net, np.array([[True, False]]))
>>> maps[0].activation_gradient[0].tolist()  # unit 1 is x, unit 2 is off
[[1.0], [0.0]]
>>> contributions(net, maps[-1]).gradient[0].tolist()  # output 1: 2 x, 0
[[[2.0], [0.0]]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.network import Network

__all__ = ["Contributions", "UnitMaps", "contributions", "unit_maps", "units_document"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class UnitMaps:
    """The affine maps of one hidden layer's units on each of ``n_rows`` pieces or regions.

    Attributes
    ----------
    gradient : ndarray of shape (n_rows, n_units, n_inputs)
        Of each unit's pre-activation.
    intercept : ndarray of shape (n_rows, n_units)
    activation_gradient : ndarray of shape (n_rows, n_units, n_inputs)
        Of each unit's activation (after ReLU, leaky ReLU or identity).
    activation_intercept : ndarray of shape (n_rows, n_units)
    """

    gradient: FloatArray
    intercept: FloatArray
    activation_gradient: FloatArray
    activation_intercept: FloatArray


@dataclass(frozen=True)
class Contributions:
    """What each unit of the last hidden layer adds to each output, per piece.

    Attributes
    ----------
    gradient : ndarray of shape (n_rows, n_outputs, n_units, n_inputs)
        ``W[j, o]`` times the gradient of unit ``j``'s activation.
    intercept : ndarray of shape (n_rows, n_outputs, n_units)
    output_bias : ndarray of shape (n_outputs,)
        So that ``gradient.sum(axis=2)`` and ``intercept.sum(axis=2) + output_bias``
        are the output's affine map.
    """

    gradient: FloatArray
    intercept: FloatArray
    output_bias: FloatArray


def unit_maps(network: Network, patterns: BoolArray) -> list[UnitMaps]:
    """Return each hidden layer's unit maps on pieces of known activation pattern.

    Parameters
    ----------
    network : Network
    patterns : ndarray of bool of shape (n_rows, n_hidden)
        Activation pattern of each piece or region, layer after layer (as
        ``/knots`` and ``/regions`` report it).

    Returns
    -------
    list of UnitMaps
        One per hidden layer.
    """
    patterns = np.asarray(patterns, dtype=bool)
    n_rows = patterns.shape[0]
    gradient = np.broadcast_to(
        np.eye(network.n_inputs), (n_rows, network.n_inputs, network.n_inputs)
    )
    intercept = np.zeros((n_rows, network.n_inputs))
    layers = []
    start = 0
    for w, b in zip(network.coefs[:-1], network.intercepts[:-1], strict=True):
        # (rows, in, units): transpose of the API's layout while composing.
        pre_g = gradient @ w
        pre_c = intercept @ w + b
        slopes = network.branch_slopes(patterns[:, start : start + w.shape[1]])
        start += w.shape[1]
        # "+ 0.0" turns the -0.0 of an off unit with a negative weight into 0.0.
        gradient, intercept = pre_g * slopes[:, None, :] + 0.0, pre_c * slopes + 0.0
        layers.append(
            UnitMaps(
                np.swapaxes(pre_g, 1, 2),
                pre_c,
                np.swapaxes(gradient, 1, 2),
                intercept,
            )
        )
    return layers


def contributions(network: Network, last: UnitMaps) -> Contributions:
    """Return each last-layer unit's contribution to each output, per piece.

    Parameters
    ----------
    network : Network
    last : UnitMaps
        The last hidden layer's maps (``unit_maps(...)[-1]``).
    """
    w = network.coefs[-1]  # (units, outputs)
    gradient = w.T[None, :, :, None] * last.activation_gradient[:, None, :, :]
    intercept = w.T[None, :, :] * last.activation_intercept[:, None, :]
    return Contributions(gradient, intercept, np.array(network.intercepts[-1]))


def units_document(
    network: Network, patterns: BoolArray, *, activation: bool, with_contributions: bool
) -> dict[str, Any]:
    """Return the JSON-ready ``units`` (and ``contributions``) of ``?include=units``.

    Parameters
    ----------
    network : Network
    patterns : ndarray of bool of shape (n_rows, n_hidden)
    activation : bool
        Report each unit's activation map (``/knots``), else its pre-activation map
        (``/regions``).
    with_contributions : bool
        Add ``contributions`` per row (``gradient`` n_outputs x n_units, a number
        per entry for one input; ``intercept`` n_outputs x n_units) and ``output_bias``.

    Returns
    -------
    dict
        ``units``: per row, per hidden layer, ``{"gradient", "intercept"}``.
    """
    layers = unit_maps(network, patterns)
    n_rows = np.asarray(patterns).shape[0]
    units = [
        [
            {
                "gradient": (m.activation_gradient if activation else m.gradient)[r].tolist(),
                "intercept": (m.activation_intercept if activation else m.intercept)[r].tolist(),
            }
            for m in layers
        ]
        for r in range(n_rows)
    ]
    document: dict[str, Any] = {"units": units}
    if with_contributions and layers:
        parts = contributions(network, layers[-1])
        # One input: each contribution's gradient is a number.
        gradient = parts.gradient[..., 0] if network.n_inputs == 1 else parts.gradient
        document["contributions"] = [
            {"gradient": gradient[r].tolist(), "intercept": parts.intercept[r].tolist()}
            for r in range(n_rows)
        ]
        document["output_bias"] = parts.output_bias.tolist()
    return document
