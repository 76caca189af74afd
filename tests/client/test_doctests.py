"""The examples in the client's docstrings run (those that need no service)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import relumap

MODULES = sorted(m.name for m in pkgutil.iter_modules(relumap.__path__, "relumap."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
