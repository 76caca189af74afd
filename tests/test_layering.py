"""The core is usable without the web stack, and the client never imports the service."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "service" / "relumap_service" / "core"
CLIENT = REPO / "client" / "relumap"
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
