"""The base install is the client with requests and numpy only; extras add the rest.

One test really installs the package (``pip install .``) into a fresh virtual
environment and uses the client from there against the live service: it must
work, and every optional feature must fail with an ImportError naming its extra.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "client" / "relumap"
OPTIONAL = {"flask", "scikit-learn", "matplotlib", "pandas", "tqdm", "scipy", "sqlalchemy"}
EXTRAS = {"plot": "matplotlib", "sklearn": "scikit-learn", "pandas": "pandas", "progress": "tqdm"}
# What the client's modules may import at module level (sklearn.py is the sklearn extra);
# relumap_geometry, the numpy-only types shared with the core, is in the base install.
BASE_IMPORTS = {"requests", "numpy", "urllib3", "relumap", "relumap_geometry"}


def test_pyproject_declares_the_base_and_the_extras() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = ["requests", "urllib3", "numpy"]
    assert [Requirement(r).name for r in project["dependencies"]] == base
    extras = project["optional-dependencies"]
    for extra, package in EXTRAS.items():
        assert [Requirement(r).name for r in extras[extra]] == [package]
    assert project["scripts"]["relumap"] == "relumap.cli:main"


def _closure(name: str, seen: set[str]) -> set[str]:
    """Every distribution a requirement pulls in, from the installed metadata."""
    key = canonicalize_name(name)
    if key in seen:
        return seen
    seen.add(key)
    for line in importlib.metadata.requires(name) or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            _closure(requirement.name, seen)
    return seen


def test_the_installed_base_requirements_pull_in_nothing_optional() -> None:
    pulled = _closure("relumap", set())
    assert {"requests", "numpy", "urllib3"} <= pulled
    assert not pulled & OPTIONAL, pulled & OPTIONAL


@pytest.mark.parametrize(
    "path", sorted(p for p in CLIENT.glob("*.py") if p.name != "sklearn.py"), ids=lambda p: p.name
)
def test_client_modules_import_only_the_base_at_load(path: Path) -> None:
    stdlib = sys.stdlib_module_names
    for node in ast.parse(path.read_text()).body:  # module level only, not inside functions
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            root = name.split(".")[0]
            assert root in stdlib or root in BASE_IMPORTS, f"{path.name} imports {name}"


def test_py_typed_ships_with_the_package() -> None:
    assert (CLIENT / "py.typed").exists()
    assert (REPO / "shared" / "relumap_geometry" / "py.typed").exists()
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in package_data["package-data"]["relumap"]
    assert "py.typed" in package_data["package-data"]["relumap_geometry"]


USE_THE_BASE_INSTALL = textwrap.dedent(
    """
    import json, subprocess, sys
    import relumap

    url = sys.argv[1]
    report = {}
    with relumap.Client(url) as client:
        data = client.generate("abs", n_samples=60)
        model = client.fit(data, hidden_layer_sizes=[4], progress=False)
        report["status"] = model.status
        report["knots"] = model.knots().n_knots
        report["prediction"] = model.predict([[1.5]]).tolist()
        report["weights"] = model.weights().predict([[1.5]]).tolist()
        errors = {}
        for name, call in [
            ("plot", lambda: model.plot()),
            ("pandas", lambda: model.knots().to_frame()),
            ("progress", lambda: client.fit(data, hidden_layer_sizes=[2], progress=True)),
        ]:
            try:
                call()
            except ImportError as exc:
                errors[name] = str(exc)
        try:
            import relumap.sklearn
        except ImportError as exc:
            errors["sklearn"] = str(exc)
        report["errors"] = errors
    cli = subprocess.run(
        [sys.executable, "-m", "relumap.cli", "--url", url, "plot", model.id, "x.png"],
        capture_output=True, text=True,
    )
    report["cli"] = [cli.returncode, cli.stderr]
    optional = {"flask", "sklearn", "matplotlib", "pandas", "tqdm", "relumap_service"}
    report["loaded"] = sorted(optional & {m.split(".")[0] for m in sys.modules})
    import importlib.resources
    report["typed"] = all(
        (importlib.resources.files(package) / "py.typed").is_file()
        for package in ("relumap", "relumap_geometry")
    )
    print(json.dumps(report))
    """
)


@pytest.mark.slow
def test_base_install_in_a_fresh_venv(tmp_path: Path, live_url: str) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for tree in ("client", "service", "shared"):
        shutil.copytree(REPO / tree, source / tree, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {canonicalize_name(p["name"]) for p in json.loads(listed.stdout)}
    assert {"relumap", "requests", "numpy"} <= installed
    assert not installed & OPTIONAL, installed & OPTIONAL

    used = subprocess.run(
        [str(python), "-c", USE_THE_BASE_INSTALL, live_url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert used.returncode == 0, used.stderr
    report = json.loads(used.stdout)
    assert report["status"] == "succeeded" and report["knots"] >= 1
    assert report["prediction"] == pytest.approx(report["weights"], rel=1e-12)
    for extra in ("plot", "pandas", "progress", "sklearn"):
        assert f"pip install 'relumap[{extra}]'" in report["errors"][extra], extra
    code, stderr = report["cli"]
    assert code == 1 and "relumap[plot]" in stderr
    assert report["loaded"] == [] and report["typed"]

    # The service's command is installed too; without its extra it says which to install.
    service = subprocess.run(
        [str(venv / "bin" / "relumap-service"), "worker"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert service.returncode == 1 and "Traceback" not in service.stderr
    assert "pip install 'relumap[service]'" in service.stderr, service.stderr
