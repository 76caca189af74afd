"""Re-derive a region map's or knot list's patterns and maps with rational arithmetic.

Independently of the floating-point path that built them, every region (or
piece) is checked at an exact interior point: the exact average of its
reported vertices (piece ends), a rational number. The network's
pre-activations there are computed exactly, layer by layer, from the
float64 weights (:class:`relumap_service.core.exact.ExactNetwork`): their
signs give the activation pattern, and the exact affine map of that pattern
is compared with the reported one.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> from relumap_service.core.regions import regions_2d
>>> net = Network([np.array([[1.0, 1.0], [1.0, -1.0]]), np.ones((2, 1))],
...               [np.array([0.0, 0.5]), np.zeros(1)])
>>> verify_regions(net, regions_2d(net, ((-1, -1), (1, 1)))).to_dict()["agree"]
True
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from relumap_service.core.exact import ExactNetwork
from relumap_service.core.knots import Knots1D
from relumap_service.core.network import Network
from relumap_service.core.region_map import Regions2D

__all__ = ["Verification", "verify_knots", "verify_regions"]


@dataclass(frozen=True)
class Verification:
    """The outcome of an exact re-derivation.

    Attributes
    ----------
    checked : int
        Regions (or pieces) checked.
    patterns_agree : int
        Those whose exact activation pattern at the interior point equals the reported one.
    on_boundary : int
        Those whose interior point lies exactly on some unit's zero set (no
        pattern can be read there; only possible for regions thinner than the
        reported coordinates' error).
    max_map_error : float
        Largest difference between a reported affine map and the exact one,
        relative to the exact map's size.
    """

    checked: int
    patterns_agree: int
    on_boundary: int
    max_map_error: float

    @property
    def agree(self) -> bool:
        """Every pattern agrees and every map is within 1e-9 of the exact one."""
        return self.patterns_agree == self.checked and self.max_map_error <= 1e-9

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome as a JSON-ready dictionary."""
        return {
            "checked": self.checked,
            "patterns_agree": self.patterns_agree,
            "on_boundary": self.on_boundary,
            "max_map_error": self.max_map_error,
            "agree": self.agree,
        }


def _exact_pattern(
    exact: ExactNetwork, point: list[Fraction], n_layers: int
) -> tuple[list[np.ndarray], bool]:
    """Activation pattern at an exact point, and whether some unit is exactly zero there."""
    history: list[np.ndarray] = []
    zero = False
    for layer in range(n_layers):
        maps = exact.layer_map(layer, history)
        values = [
            sum((int(maps[k, j]) * point[k] for k in range(len(point))), Fraction(0))
            + int(maps[-1, j])
            for j in range(maps.shape[1])
        ]
        zero = zero or any(v == 0 for v in values)
        on = (
            np.array([v > 0 for v in values])
            if exact.activation != "identity"
            else np.ones(len(values), dtype=bool)
        )
        history.append(on)
    return history, zero


def _map_error(exact: ExactNetwork, history: list[np.ndarray], reported: np.ndarray) -> float:
    """Relative difference of a reported map (gradient rows, then constant) from the exact one."""
    last = len(exact.network.coefs) - 1
    scale = Fraction(1, exact.one ** (2 * last + 1))
    true = np.array(
        [[float(int(v) * scale) for v in row] for row in exact.layer_map(last, history)]
    )
    size = float(np.abs(true).max(initial=0.0)) or 1.0
    return float(np.abs(reported - true).max(initial=0.0)) / size


def verify_regions(network: Network, regions: Regions2D) -> Verification:
    """Check every region's pattern and affine map at an exact interior point."""
    (x0, y0), (x1, y1) = regions.box
    exact = ExactNetwork(network, [x0, y0, x1, y1])
    n_layers = len(network.coefs) - 1
    agree = boundary = 0
    worst = 0.0
    for i, polygon in enumerate(regions.polygons):
        point = [
            sum((Fraction(v) for v in polygon[:, k].tolist()), Fraction(0)) / len(polygon)
            for k in range(2)
        ]
        history, zero = _exact_pattern(exact, point, n_layers)
        boundary += zero
        if np.array_equal(
            np.concatenate(history) if history else np.zeros(0, bool), regions.pattern(i)
        ):
            agree += 1
        reported = np.vstack([regions.gradients[i].T, regions.intercepts[i][None, :]])
        worst = max(worst, _map_error(exact, history, reported))
    return Verification(regions.n_regions, agree, boundary, worst)


def verify_knots(network: Network, knots: Knots1D) -> Verification:
    """Check every piece's pattern and affine map at its exact midpoint."""
    exact = ExactNetwork(network, [knots.lo, knots.hi])
    n_layers = len(network.coefs) - 1
    agree = boundary = 0
    worst = 0.0
    for i in range(knots.n_pieces):
        point = [(Fraction(float(knots.piece_lo[i])) + Fraction(float(knots.piece_hi[i]))) / 2]
        history, zero = _exact_pattern(exact, point, n_layers)
        boundary += zero
        if np.array_equal(
            np.concatenate(history) if history else np.zeros(0, bool), knots.patterns[i]
        ):
            agree += 1
        reported = np.vstack([knots.slopes[i][None, :], knots.intercepts[i][None, :]])
        worst = max(worst, _map_error(exact, history, reported))
    return Verification(knots.n_pieces, agree, boundary, worst)
