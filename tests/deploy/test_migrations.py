"""Migrations create and upgrade the schema on SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from relumap_service.app import create_app
from relumap_service.migrations import current_revision, head_revision, upgrade
from relumap_service.records import Base
from relumap_service.store import Store
from tests.conftest import backend_settings

SCRIPT = Path(sys.executable).with_name("relumap-service")


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    with backend_settings(backend) as settings:
        url = settings.get("DATABASE_URL", f"sqlite:///{tmp_path / 'relumap.db'}")
        store = Store(url)
        yield store
        store.dispose()


def test_newest_revision_creates_exactly_the_declared_tables(store: Store) -> None:
    assert upgrade(store.engine) is None
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrading_twice_changes_nothing(store: Store) -> None:
    upgrade(store.engine)
    assert upgrade(store.engine) == head_revision()


def test_downgrade_to_nothing_and_back(store: Store) -> None:
    from alembic import command

    from relumap_service.migrations import _config

    upgrade(store.engine)
    with store.engine.begin() as connection:
        command.downgrade(_config(connection), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    upgrade(store.engine)
    assert {"datasets", "models", "idempotency_keys"} <= set(
        inspect(store.engine).get_table_names()
    )


def test_a_database_made_before_migrations_is_adopted_with_its_rows(store: Store) -> None:
    # The first release made its tables with create_all: the schema of revision 0001
    # and no alembic_version table.
    upgrade(store.engine, "0001")
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO datasets (id, name, source, n_samples, n_features, task_hint, "
                "bounds, \"X\", y, created_at) VALUES ('a' , 'old', 'upload', 1, 1, "
                "'regression', '{}', '[[0.0]]', '[1.0]', CURRENT_TIMESTAMP)"
            )
        )
    assert current_revision(store.engine) is None
    assert upgrade(store.engine) is None
    assert current_revision(store.engine) == head_revision()
    assert store.get_dataset("a") is not None
    assert "worker" in {c["name"] for c in inspect(store.engine).get_columns("models")}


def test_concurrent_start_ups_migrate_once(store: Store) -> None:
    stores = [Store(store.url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def start(one: Store) -> None:
        barrier.wait()
        try:
            one.migrate()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(one,)) for one in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for one in stores:
        one.dispose()
    assert errors == []
    assert current_revision(store.engine) == head_revision()


def test_without_migrate_on_start_an_old_schema_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="relumap-service migrate"):
        # A database with no schema yet (make_app would copy a migrated one).
        create_app({"DATA_DIR": str(tmp_path), "MIGRATE_ON_START": False, "EMBEDDED_WORKER": False})


def _cli(*args: str, env: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_migrate_command_upgrades_and_checks(tmp_path: Path) -> None:
    env = {**os.environ, "RELUMAP_DATA_DIR": str(tmp_path)}
    env.pop("RELUMAP_DATABASE_URL", None)
    before = _cli("migrate", "--check", env=env)
    assert before.returncode == 1 and "revision none" in before.stdout
    done = _cli("migrate", env=env)
    assert done.returncode == 0, done.stderr
    assert f"revision {head_revision()} (was empty)" in done.stdout
    after = _cli("migrate", "--check", env=env)
    assert after.returncode == 0 and (tmp_path / "relumap.db").exists()
