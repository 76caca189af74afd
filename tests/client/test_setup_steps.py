"""The README's steps without Docker work as written, and a missing database is one line.

Runs ``relumap-service migrate`` as a shell would, against the PostgreSQL
server of the test machines (skipped where it is not reachable).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL, postgres_database

SERVICE = Path(sys.executable).with_name("relumap-service")
README = Path(__file__).resolve().parents[2] / "README.md"


def reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


pytestmark = pytest.mark.skipif(not reachable(), reason=f"no PostgreSQL at {POSTGRES_ADMIN_URL}")


def migrate(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELUMAP_")}
    env.update(RELUMAP_DATABASE_URL=database_url, RELUMAP_DATA_DIR=str(tmp_path))
    return subprocess.run(
        [str(SERVICE), "migrate"], capture_output=True, text=True, env=env, timeout=120
    )


def test_readme_creates_the_database_before_migrating() -> None:
    text = README.read_text()
    steps = text[text.index("### Without Docker") :].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in steps.strip().splitlines()]
    assert commands[0].startswith("createdb ")
    assert commands.index("relumap-service migrate") > 0


def test_migrate_on_a_missing_database_says_so_in_one_line(tmp_path: Path) -> None:
    name = f"relumap_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    done = migrate(url, tmp_path)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f'database "{name}" does not exist' in errors[0] and "createdb" in errors[0]


def test_migrate_on_a_created_database_upgrades_it(tmp_path: Path) -> None:
    with postgres_database() as url:
        done = migrate(url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("database at revision ")
