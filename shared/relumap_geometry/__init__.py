"""Results of the exact geometry that the client and the service's core share.

Activation patterns, affine maps, neuron diagnostics, decision boundaries,
the knots and pieces of a one-input model and the region map of a two-input one
are computed and written the same way on both sides of the API, so they are
written once, here. The package imports numpy and the standard library only:
the client (:mod:`relumap`) and the core (:mod:`relumap_service.core`) both
import it, and it imports neither, so the client still never imports the
service and the core still imports no web or storage library.

Examples
--------
>>> import numpy as np
>>> from relumap_geometry import pattern_strings, patterns_array
>>> pattern_strings(patterns_array(["10", "01"]))
['10', '01']
"""

from relumap_geometry.affine import AffineMap
from relumap_geometry.boundary import DecisionBoundary
from relumap_geometry.diagnostics import NeuronDiagnostics
from relumap_geometry.patterns import (
    pack_patterns,
    packed_pattern_strings,
    pattern_strings,
    patterns_array,
    unpack_patterns,
)
from relumap_geometry.pieces import Pieces1D, evaluate_pieces
from relumap_geometry.regions import RegionMap, areas_and_interior_points

__all__ = [
    "AffineMap",
    "DecisionBoundary",
    "NeuronDiagnostics",
    "Pieces1D",
    "RegionMap",
    "areas_and_interior_points",
    "evaluate_pieces",
    "pack_patterns",
    "packed_pattern_strings",
    "pattern_strings",
    "patterns_array",
    "unpack_patterns",
]
