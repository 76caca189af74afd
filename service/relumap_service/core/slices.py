"""Restrict a network to a line or a plane through its input space.

A line ``x(s) = origin + s u`` or a plane ``x(s, t) = origin + s u + t v`` through
the ``d``-dimensional input space is an affine map from ``k = 1`` or ``2`` slice
coordinates into the inputs. Composed into the first layer it gives a network of
``k`` inputs whose pre-activations equal those of the full network at every
point of the slice, so its knots (``k = 1``) or activation regions (``k = 2``)
are exactly the full network's restricted to the slice. This is how SyReNN
(Sotoudeh and Thakur, "SyReNN: A Tool for Analyzing Deep Neural Networks",
TACAS 2021) partitions networks on low-dimensional subspaces; here it is done in
float64 and handed to the same engine as a 1- or 2-input model.

On each piece the full network's own affine map (its gradient in all ``d``
inputs, not only along the slice) follows from the piece's activation pattern:
:func:`affine_of_patterns`.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0], [2.0], [-1.0]]), np.ones((1, 1))], [[0.0], [0.0]])
>>> line = axis_slice(np.array([0.5, 1.0, 2.0]), [1])
>>> line.origin.tolist(), line.directions.tolist()
([0.5, 0.0, 2.0], [[0.0, 1.0, 0.0]])
>>> small = restrict(net, line.origin, line.directions)
>>> small.n_inputs, small.coefs[0].tolist(), small.intercepts[0].tolist()
(1, [[2.0]], [-1.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_service.core.network import Network

__all__ = ["AffineSlice", "affine_of_patterns", "axis_slice", "restrict"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Floats held at once by one chunk of affine_of_patterns (about 32 MB).
_CHUNK_FLOATS = 4_000_000


@dataclass(frozen=True)
class AffineSlice:
    """A line or a plane through input space: ``x = origin + coords @ directions``.

    Attributes
    ----------
    origin : ndarray of shape (n_features,)
        The point at slice coordinates 0.
    directions : ndarray of shape (k, n_features)
        One row per slice coordinate, ``k`` 1 (a line) or 2 (a plane).
    """

    origin: FloatArray
    directions: FloatArray

    def __post_init__(self) -> None:
        origin = np.asarray(self.origin, dtype=np.float64)
        directions = np.atleast_2d(np.asarray(self.directions, dtype=np.float64))
        if origin.ndim != 1 or directions.shape[1:] != origin.shape:
            raise ValueError(
                f"directions of shape {directions.shape} do not match an origin of "
                f"shape {origin.shape}; give one row of {origin.shape[0]} values per direction"
            )
        if directions.shape[0] not in (1, 2):
            raise ValueError(f"a slice has 1 or 2 directions, got {directions.shape[0]}")
        if not (np.all(np.isfinite(origin)) and np.all(np.isfinite(directions))):
            raise ValueError("the origin and directions of a slice must be finite")
        if np.linalg.matrix_rank(directions) < directions.shape[0]:
            what = "the direction is zero" if directions.shape[0] == 1 else "u and v are parallel"
            raise ValueError(f"{what}; a slice needs independent directions")
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "directions", directions)

    @property
    def n_dims(self) -> int:
        """Number of slice coordinates: 1 for a line, 2 for a plane."""
        return int(self.directions.shape[0])

    def points(self, coords: ArrayLike) -> FloatArray:
        """Map slice coordinates to input space.

        Parameters
        ----------
        coords : array-like of shape (n_points, k)

        Returns
        -------
        ndarray of shape (n_points, n_features)
        """
        c = np.asarray(coords, dtype=np.float64).reshape(-1, self.n_dims)
        out: FloatArray = self.origin + c @ self.directions
        return out


def axis_slice(reference: ArrayLike, axes: Sequence[int]) -> AffineSlice:
    """Return the line (one axis) or plane (two axes) through ``reference`` along features.

    The slice coordinates are the features' own values: the origin is
    ``reference`` with those features set to 0, the directions unit vectors.

    Parameters
    ----------
    reference : array-like of shape (n_features,)
    axes : sequence of 1 or 2 distinct feature indices

    Returns
    -------
    AffineSlice
    """
    point = np.array(reference, dtype=np.float64).reshape(-1)
    index = [int(a) for a in axes]
    if len(set(index)) != len(index) or not all(0 <= a < point.shape[0] for a in index):
        raise ValueError(
            f"axes {index} must be distinct feature indices in 0..{point.shape[0] - 1}"
        )
    point[index] = 0.0
    return AffineSlice(point, np.eye(point.shape[0])[index])


def restrict(network: Network, origin: ArrayLike, directions: ArrayLike) -> Network:
    """Compose the affine map ``coords -> origin + coords @ directions`` into the first layer.

    Parameters
    ----------
    network : Network
        A network of ``n_features`` inputs.
    origin : array-like of shape (n_features,)
    directions : array-like of shape (k, n_features)
        ``k`` 1 or 2.

    Returns
    -------
    Network
        ``k`` inputs, the same hidden layers, activations and outputs: its
        first layer is ``directions @ W1`` and ``origin @ W1 + b1``.
    """
    cut = AffineSlice(np.asarray(origin, dtype=np.float64), np.asarray(directions))
    if cut.origin.shape[0] != network.n_inputs:
        raise ValueError(
            f"the slice lives in {cut.origin.shape[0]} dimensions but the network "
            f"takes {network.n_inputs} inputs"
        )
    first, bias = network.coefs[0], network.intercepts[0]
    return Network(
        [cut.directions @ first, *network.coefs[1:]],
        [cut.origin @ first + bias, *network.intercepts[1:]],
        hidden_activation=network.hidden_activation,
        output_activation=network.output_activation,
        negative_slope=network.negative_slope,
    )


def affine_of_patterns(network: Network, patterns: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return the affine map of the logits on each pattern's activation region, in all inputs.

    On the region where the hidden units are on exactly as ``patterns[i]`` says,
    the network is ``gradients[i] @ x + intercepts[i]``: each hidden layer is
    multiplied by its units' branch slopes (1 on, 0 or the leaky slope off).

    Parameters
    ----------
    network : Network
    patterns : array-like of bool of shape (n_patterns, n_hidden_total)
        Columns in the order of :meth:`Network.forward`, layer 1 first.

    Returns
    -------
    gradients : ndarray of shape (n_patterns, n_outputs, n_inputs)
    intercepts : ndarray of shape (n_patterns, n_outputs)

    Examples
    --------
    >>> import numpy as np
    >>> net = Network([np.array([[1.0, -1.0], [2.0, 0.0]]), np.ones((2, 1))],
    ...               [np.zeros(2), [0.5]])
    >>> g, b = affine_of_patterns(net, [[True, False], [False, True]])
    >>> g.tolist(), b.tolist()
    ([[[1.0, 2.0]], [[-1.0, 0.0]]], [[0.5], [0.5]])
    """
    on = np.asarray(patterns, dtype=bool).reshape(-1, sum(network.hidden_layer_sizes))
    n, d, k = on.shape[0], network.n_inputs, network.n_outputs
    widest = max(w.shape[0] for w in network.coefs)
    chunk = max(1, _CHUNK_FLOATS // max(1, widest * (k + 1)))
    gradients = np.empty((n, k, d))
    intercepts = np.empty((n, k))
    ends = np.cumsum((0, *network.hidden_layer_sizes))
    coefs, biases, last = network.coefs, network.intercepts, len(network.coefs) - 1
    for start in range(0, n, chunk):
        part = on[start : start + chunk]
        m = part.shape[0]
        gains = [network.branch_slopes(part[:, ends[i] : ends[i + 1]]) for i in range(last)]
        # The constant term, forward through the layers.
        offset = np.broadcast_to(biases[0], (m, biases[0].shape[0]))
        for i in range(last):
            offset = (offset * gains[i]) @ coefs[i + 1] + biases[i + 1]
        # The gradient W1 diag(g1) W2 ... diag(g_L-1) W_L, from the output side: each
        # step costs (units x units x outputs) per pattern, not (inputs x units x units).
        back = np.broadcast_to(coefs[-1], (m, *coefs[-1].shape))
        for i in range(last - 1, -1, -1):
            back = coefs[i] @ (gains[i][:, :, None] * back)
        gradients[start : start + chunk] = np.transpose(back, (0, 2, 1))
        intercepts[start : start + chunk] = offset
    return gradients, intercepts
