"""``relumap-service`` installed without the ``service`` extra says which extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_without_the_service_extra_the_command_names_it(tmp_path: Path) -> None:
    # A bare interpreter: the standard library and relumap_service's sources only.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    run = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sys; from relumap_service.cli import main; sys.exit(main(sys.argv[1:]))",
            "worker",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO / "service"), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'relumap[service]'" in lines[0], run.stderr
    assert "flask" in lines[0]
