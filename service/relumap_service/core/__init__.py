"""Pure-numpy core: networks, geometry, fitting, metrics and datasets.

Nothing in this package imports flask, marshmallow or SQLAlchemy, so it can be
used on its own.
"""

from relumap_service.core.boundary import DecisionBoundary, decision_boundary
from relumap_service.core.bounds import (
    max_knots_1d,
    max_pieces_1d,
    max_regions_one_layer,
    serra_bound,
)
from relumap_service.core.diagnostics import AffineMap, NeuronDiagnostics, neuron_diagnostics
from relumap_service.core.knots import Knots1D, knots_1d
from relumap_service.core.network import Network
from relumap_service.core.regions import RegionLimitExceeded, Regions2D, regions_2d

__all__ = [
    "AffineMap",
    "DecisionBoundary",
    "Knots1D",
    "Network",
    "NeuronDiagnostics",
    "RegionLimitExceeded",
    "Regions2D",
    "decision_boundary",
    "knots_1d",
    "max_knots_1d",
    "max_pieces_1d",
    "max_regions_one_layer",
    "neuron_diagnostics",
    "regions_2d",
    "serra_bound",
]
