"""Imports point one way: client -> relumap_geometry <- core; the client never imports the service.

relumap_geometry holds the numpy-only result types the client and the core
share (activation patterns, affine maps, neuron diagnostics, decision
boundaries, the arrays of knots and region maps). It is a top-level package of the same
distribution, so the base (client-only) install has it, and it imports neither
side: the core does not load the HTTP client by using it, nor the client the
service.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "service" / "relumap_service" / "core"
CLIENT = REPO / "client" / "relumap"
GEOMETRY = REPO / "shared" / "relumap_geometry"
GEOMETRY_MAY_IMPORT = {"relumap_geometry", "numpy", *sys.stdlib_module_names}
FORBIDDEN_IN_CORE = {"flask", "flask_smorest", "marshmallow", "sqlalchemy", "huey", "webargs"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_no_web_or_storage_library(path: Path) -> None:
    assert not (_imported_roots(path) & FORBIDDEN_IN_CORE)


def test_importing_the_core_loads_no_web_or_storage_library() -> None:
    modules = [f"relumap_service.core.{p.stem}" for p in sorted(CORE.glob("*.py"))]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print(sorted(set(sys.modules) & {FORBIDDEN_IN_CORE!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("path", sorted(CLIENT.rglob("*.py")), ids=lambda p: p.name)
def test_client_never_imports_the_service(path: Path) -> None:
    assert "relumap_service" not in _imported_roots(path)


@pytest.mark.parametrize("path", sorted(GEOMETRY.rglob("*.py")), ids=lambda p: p.name)
def test_shared_geometry_imports_numpy_and_the_standard_library_only(path: Path) -> None:
    assert _imported_roots(path) <= GEOMETRY_MAY_IMPORT, _imported_roots(path) - GEOMETRY_MAY_IMPORT


def test_importing_the_shared_geometry_loads_neither_the_client_nor_the_service() -> None:
    code = (
        "import sys, relumap_geometry\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'relumap', 'relumap_service', 'requests', 'flask', 'pandas', 'matplotlib'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_client_and_the_core_use_the_shared_types_not_copies() -> None:
    import relumap
    import relumap_geometry
    import relumap_service.core as core

    # One class each: the core's is the shared one, the client's extends it with to_frame().
    assert core.DecisionBoundary is relumap_geometry.DecisionBoundary
    assert core.NeuronDiagnostics is relumap_geometry.NeuronDiagnostics
    assert core.AffineMap is relumap_geometry.AffineMap
    for name in ("DecisionBoundary", "NeuronDiagnostics", "AffineMap"):
        assert issubclass(getattr(relumap, name), getattr(relumap_geometry, name))
    # Knots and region maps: both sides extend the shared arrays.
    for knots in (relumap.Knots, core.Knots1D):
        assert issubclass(knots, relumap_geometry.Pieces1D)
    for regions in (relumap.Regions, core.Regions2D):
        assert issubclass(regions, relumap_geometry.RegionMap)
    # Nothing the shared package defines is defined again on either side.
    shared = {
        name
        for path in GEOMETRY.glob("*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and not node.name.startswith("_")
    }
    for root in (CORE, CLIENT):
        for path in root.rglob("*.py"):
            defined = {
                node.name
                for node in ast.parse(path.read_text()).body
                if isinstance(node, ast.ClassDef | ast.FunctionDef)
            }
            redefined = {name for name in defined & shared if not _extends_shared(path, name)}
            assert not redefined, f"{path.name} defines {sorted(redefined)} again"


def _extends_shared(path: Path, name: str) -> bool:
    """Whether ``class name(relumap_geometry.name)`` extends the shared class."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return any(ast.unparse(base) == f"relumap_geometry.{name}" for base in node.bases)
    return False
