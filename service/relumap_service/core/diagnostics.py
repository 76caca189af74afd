"""Dead, always-active and data-starved hidden units, and affine networks.

A hidden unit is *dead on the domain* when it is off on every piece (1-D) or
region (2-D) of the exact partition, and *always active* when it is on
everywhere, where it only passes its input through (it acts linearly). Since
the partition is exact, both are exact statements about the whole domain,
not about samples. On training data the fraction of points where each unit
is on is also reported.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> from relumap_service.core.knots import knots_1d
>>> net = Network([np.ones((1, 3)), np.ones((3, 1))], [np.array([-10.0, 10.0, 10.0]), [0.0]])
>>> d = neuron_diagnostics(net, knots_1d(net, -4, 4))
>>> d.dead_units, d.always_active_units
([(1, 0)], [(1, 1), (1, 2)])
>>> d.affine_on_domain.gradient.tolist(), d.affine_on_domain.intercept.tolist()
([[2.0]], [20.0])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_geometry import AffineMap, NeuronDiagnostics, unpack_patterns
from relumap_service.core.knots import Knots1D
from relumap_service.core.network import Network
from relumap_service.core.patterns import unit_labels
from relumap_service.core.region_map import Regions2D

__all__ = ["AffineMap", "NeuronDiagnostics", "neuron_diagnostics"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def _affine(partition: Knots1D | Regions2D, network: Network) -> AffineMap | None:
    if network.hidden_activation == "identity":
        weight, bias = network.equivalent_linear_map()
        return AffineMap(np.ascontiguousarray(weight.T), bias)
    if isinstance(partition, Knots1D):
        if partition.n_knots:
            return None
        # All pieces share one map; take the widest, whose coefficients are best conditioned.
        p = int(np.argmax(partition.piece_hi - partition.piece_lo))
        return AffineMap(partition.slopes[p][:, None].copy(), partition.intercepts[p].copy())
    if partition.n_linear_regions != 1:
        return None
    p = int(np.argmax(partition.areas))
    return AffineMap(partition.gradients[p].copy(), partition.intercepts[p].copy())


def _ever_and_always_on(partition: Knots1D | Regions2D) -> tuple[BoolArray, BoolArray]:
    """Units on in some piece or region, and units on in all, from the patterns."""
    if isinstance(partition, Knots1D):
        patterns = partition.patterns
        return np.asarray(patterns.any(axis=0)), np.asarray(patterns.all(axis=0))
    # On the bits: OR and AND of the bytes of every region, unpacked once.
    packed, n = partition.packed_patterns, partition.n_hidden
    if packed.shape[0] == 0:
        return np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    ever = np.bitwise_or.reduce(packed, axis=0)[None]
    always = np.bitwise_and.reduce(packed, axis=0)[None]
    return unpack_patterns(ever, n)[0], unpack_patterns(always, n)[0]


def neuron_diagnostics(
    network: Network, knots_or_regions: Knots1D | Regions2D, X_train: ArrayLike | None = None
) -> NeuronDiagnostics:
    """Find dead and always-active hidden units and whether the network is affine.

    Parameters
    ----------
    network : Network
        The network the partition was computed for.
    knots_or_regions : Knots1D or Regions2D
        Exact partition of the domain (from :func:`knots_1d` or :func:`regions_2d`).
    X_train : array-like of shape (n_samples, n_inputs), optional
        Training inputs for the activity fractions.

    Returns
    -------
    NeuronDiagnostics

    Raises
    ------
    ValueError
        If the partition does not match the network's hidden layers.

    Examples
    --------
    >>> import numpy as np
    >>> from relumap_service.core.network import Network
    >>> from relumap_service.core.knots import knots_1d
    >>> net = Network([np.array([[1.0, -1.0]]), np.ones((2, 1))], [np.zeros(2), [0.0]])
    >>> d = neuron_diagnostics(net, knots_1d(net, -1, 1), X_train=[[-0.5], [0.2], [0.7]])
    >>> d.active_fraction.round(3).tolist()
    [0.667, 0.333]
    """
    if knots_or_regions.hidden_layer_sizes != network.hidden_layer_sizes:
        raise ValueError(
            f"the partition was computed for hidden layers {knots_or_regions.hidden_layer_sizes} "
            f"but the network has {network.hidden_layer_sizes}"
        )
    layer, unit = unit_labels(network)
    ever_on, always_on = _ever_and_always_on(knots_or_regions)
    active_fraction: FloatArray | None = None
    dead_on_data: BoolArray | None = None
    if X_train is not None:
        _, per_layer = network.forward(X_train, return_patterns=True)
        on = np.concatenate(per_layer, axis=1) if per_layer else np.zeros((0, 0), dtype=bool)
        if on.shape[0] == 0:
            raise ValueError("X_train has no rows; pass None to skip the data diagnostics")
        if network.hidden_activation == "identity":
            # An identity unit acts on every input, whatever its sign.
            on = np.ones_like(on)
        active_fraction = on.mean(axis=0)
        dead_on_data = np.logical_not(on.any(axis=0))
    return NeuronDiagnostics(
        layer=layer,
        unit=unit,
        dead_on_domain=np.logical_not(ever_on),
        always_active_on_domain=np.asarray(always_on),
        active_fraction=active_fraction,
        dead_on_data=dead_on_data,
        affine_on_domain=_affine(knots_or_regions, network),
    )
