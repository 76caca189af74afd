"""Schema migrations (Alembic): the one way the store's tables are created and changed.

``upgrade(engine)`` brings any database to the newest revision: an empty one,
one at an older revision, or one made before migrations existed (by
``metadata.create_all``), which is stamped with the first revision first. Every
process may call it at start-up: a lock makes concurrent calls take turns (an
advisory lock on PostgreSQL, a file lock beside an SQLite file) and the second
finds nothing to do.

New revisions go in ``versions/`` as ``NNNN_what.py`` with ``down_revision``
naming the previous one; ``tests/deploy/test_migrations.py`` checks that the
newest revision creates exactly the tables the models declare.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

__all__ = ["current_revision", "head_revision", "upgrade"]

HERE = Path(__file__).resolve().parent
# The revision whose schema equals what create_all made before migrations existed.
BASELINE = "0001"
# Any constant shared by all relumap processes; names the PostgreSQL advisory lock.
_PG_LOCK_ID = 0x72656C756D6170  # "relumap"

log = logging.getLogger(__name__)


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """Return the newest revision in ``versions/``."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the revision a database is at, or None if it has none."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Let one process at a time migrate an SQLite file (PostgreSQL locks in the transaction)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl  # POSIX only; an SQLite file is shared on one machine anyway

    with open(f"{database}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade a database to ``revision`` (the newest by default).

    Parameters
    ----------
    engine : Engine
        The store's engine.
    revision : str, default="head"
        Target revision.

    Returns
    -------
    str or None
        The revision the database was at before, or None if it had none.
    """
    with _migration_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held until this transaction ends, so the next process sees our revision.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        before = MigrationContext.configure(connection).get_current_revision()
        target = head_revision() if revision == "head" else revision
        if before == target:
            return before
        config = _config(connection)
        if before is None and inspect(connection).has_table("models"):
            # Made by create_all before migrations existed: that is the baseline.
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
        log.info(
            "database schema upgraded",
            extra={"from_revision": before, "to_revision": target, "dialect": engine.dialect.name},
        )
        return before
