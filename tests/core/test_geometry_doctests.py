"""The examples in the geometry modules' docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "adjacency",
    "boundary",
    "bounds",
    "clipping",
    "diagnostics",
    "exact",
    "indexing",
    "knots",
    "layer_maps",
    "limits",
    "parallel_regions",
    "patterns",
    "region_map",
    "regions",
    "slices",
    "subdivision",
    "verify",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"relumap_service.core.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
