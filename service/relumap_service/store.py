"""The model store: datasets, models and idempotency keys in a SQL database.

SQLAlchemy 2 keeps the same code for the embedded SQLite file and for
PostgreSQL (psycopg 3). Models are stored as weights plus metadata (JSON), never
pickled. The tables are created and changed by the migrations in
``relumap_service.migrations``, never by ``create_all``.

A running fit holds a lease: ``claim_model`` starts it and returns the attempt
number, which fences every later write of that attempt (``renew_lease``,
``finish_model``), so a worker that lost its lease can no longer touch the model.
``expire_leases`` re-queues or fails fits whose worker stopped renewing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, sessionmaker

from relumap_service.config import database_url
from relumap_service.records import (
    STATUSES,
    DatasetRecord,
    DeploymentRecord,
    IdempotencyRecord,
    ModelRecord,
    SnapshotRecord,
    new_id,
    utcnow,
)

__all__ = [
    "STATUSES",
    "Claim",
    "DatasetRecord",
    "ExpiredLease",
    "IdempotencyRecord",
    "ModelRecord",
    "SnapshotRecord",
    "Store",
    "new_id",
    "utcnow",
]


@dataclass(frozen=True)
class Claim:
    """A fit taken by a worker: the attempt number, the model, and its dataset if it is left."""

    attempt: int
    model: ModelRecord
    dataset: DatasetRecord | None


@dataclass(frozen=True)
class ExpiredLease:
    """A fit whose lease passed, and what the reaper did with it."""

    model_id: str
    attempt: int
    worker: str | None
    action: str  # "requeued" or "failed"


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets the API read while a worker writes; the busy timeout waits for
    # the writer instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# The store's sessions end with their statement, so an UPDATE or DELETE need
# not look for matching objects in the session (about 0.3 ms a statement).
UNSYNCHRONIZED = {"synchronize_session": False}


def _running_attempt(model_id: str, attempt: int) -> Any:
    """Return an UPDATE of a model that applies only while ``attempt`` holds it running."""
    return (
        update(ModelRecord)
        .where(
            ModelRecord.id == model_id,
            ModelRecord.status == "running",
            ModelRecord.attempts == attempt,
        )
        .execution_options(**UNSYNCHRONIZED)
    )


def _json_loads(text: str | bytes) -> Any:
    """Read a JSON column with orjson, or the standard library where only it can.

    orjson reads a model's weights about 5 times faster; the standard library
    also reads the NaN and Infinity it writes itself.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Store:
    """Access to the database behind the service.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL (``sqlite:///path`` or ``postgresql://...``, which
        uses psycopg 3).
    """

    def __init__(self, url: str) -> None:
        url = database_url(url)
        self.url = url
        options: dict[str, Any] = {"pool_pre_ping": True, "json_deserializer": _json_loads}
        if url.startswith("postgresql"):
            # Fail a health check or a request in seconds, not at the TCP timeout.
            options["connect_args"] = {"connect_timeout": 10, "application_name": "relumap"}
        self.engine: Engine = create_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._deployment_id: str | None = None
        self._sqlite_file = self._sqlite_identity()

    def _sqlite_identity(self) -> tuple[int, int] | None:
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        try:
            found = os.stat(database)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    @classmethod
    def open(cls, config: dict[str, Any]) -> Store:
        """Open the configured store, migrating it or checking its schema as configured."""
        Path(config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        store = cls(config["DATABASE_URL"])
        if config["MIGRATE_ON_START"]:
            store.migrate()
        else:
            store.check_schema()
        return store

    def migrate(self) -> str | None:
        """Upgrade the schema to the newest migration; return the revision it was at."""
        from relumap_service.migrations import upgrade

        return upgrade(self.engine)

    def check_schema(self) -> None:
        """Raise if the database is not at the newest migration (when start-up does not migrate)."""
        from relumap_service.migrations import current_revision, head_revision

        current, head = current_revision(self.engine), head_revision()
        if current != head:
            raise RuntimeError(
                f"the database schema is at revision {current or 'none'} and this version of "
                f"relumap needs {head}: run `relumap-service migrate`, or set "
                "RELUMAP_MIGRATE_ON_START=true"
            )

    def deployment_id(self) -> str:
        """Return the identity of this database, made once by its migration (32 hex digits)."""
        if self._deployment_id is None:
            with self.session() as session:
                found = session.scalar(select(DeploymentRecord.id).order_by(DeploymentRecord.id))
            if found is None:
                raise RuntimeError(
                    "the database has no deployment identity: run `relumap-service migrate`"
                )
            self._deployment_id = found
        return self._deployment_id

    def check_same_database(self) -> None:
        """Raise if the database is no longer the one this store opened.

        An SQLite file that was deleted or replaced keeps its old contents for
        whoever still has it open: writes there are lost. For any database, an
        identity other than the one first read means another deployment's.
        """
        if self._sqlite_file is not None:
            before = self._sqlite_file
            now = self._sqlite_identity()
            if now != before:
                raise RuntimeError(
                    f"the database file {self.engine.url.database} was deleted or replaced "
                    "since this process opened it"
                )
        if self._deployment_id is not None:
            with self.session() as session:
                found = session.scalar(select(DeploymentRecord.id).order_by(DeploymentRecord.id))
            if found != self._deployment_id:
                raise RuntimeError(
                    f"the database now has identity {found}, not {self._deployment_id}: "
                    "it was replaced since this process opened it"
                )

    def ping(self) -> None:
        """Run a trivial query; raises if the database is unreachable."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self, *, close: bool = True) -> None:
        """Drop pooled connections: at shutdown, or with ``close=False`` in a forked child.

        A forked child must not use (nor close) the connections its parent opened.
        """
        self.engine.dispose(close=close)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    # -- datasets ---------------------------------------------------------------------
    def add(self, record: DatasetRecord | ModelRecord) -> None:
        """Insert a new dataset or model."""
        with self.session() as session:
            session.add(record)

    def get_dataset(self, dataset_id: str, *, points: bool = True) -> DatasetRecord | None:
        """Return one dataset, or None; with ``points=False`` its ``X`` is not read."""
        options = () if points else (defer(DatasetRecord.X, raiseload=True),)
        with self.session() as session:
            return session.get(DatasetRecord, dataset_id, options=options)

    def list_datasets(self, offset: int, limit: int) -> tuple[list[DatasetRecord], int]:
        """Return a page of datasets, newest first, and the total count."""
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(DatasetRecord)) or 0
            # A summary needs neither the points nor the labels: never read them.
            rows = session.scalars(
                select(DatasetRecord)
                .options(defer(DatasetRecord.X, raiseload=True))
                .options(defer(DatasetRecord.y, raiseload=True))
                .order_by(DatasetRecord.created_at.desc(), DatasetRecord.id)
                .offset(offset)
                .limit(limit)
            ).all()
            return list(rows), total

    def count_models_of(self, dataset_id: str) -> int:
        """Return how many models were fitted on a dataset."""
        with self.session() as session:
            query = select(func.count()).where(ModelRecord.dataset_id == dataset_id)
            return session.scalar(query) or 0

    def delete_dataset(self, dataset_id: str, *, cascade: bool) -> bool:
        """Delete a dataset (and with ``cascade`` its models); False if it was absent."""
        with self.session() as session:
            if cascade:
                models = select(ModelRecord.id).where(ModelRecord.dataset_id == dataset_id)
                session.execute(delete(SnapshotRecord).where(SnapshotRecord.model_id.in_(models)))
                session.execute(delete(ModelRecord).where(ModelRecord.dataset_id == dataset_id))
            result = session.execute(delete(DatasetRecord).where(DatasetRecord.id == dataset_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- models -----------------------------------------------------------------------
    def get_model(self, model_id: str) -> ModelRecord | None:
        """Return one model, or None."""
        with self.session() as session:
            return session.get(ModelRecord, model_id)

    def list_models(
        self,
        offset: int,
        limit: int,
        *,
        dataset_id: str | None = None,
        status: str | None = None,
    ) -> tuple[list[ModelRecord], int]:
        """Return a page of models, newest first, optionally filtered, and the total count."""
        conditions = []
        if dataset_id is not None:
            conditions.append(ModelRecord.dataset_id == dataset_id)
        if status is not None:
            conditions.append(ModelRecord.status == status)
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(ModelRecord).where(*conditions))
            rows = session.scalars(
                select(ModelRecord)
                .where(*conditions)
                .order_by(ModelRecord.created_at.desc(), ModelRecord.id)
                .offset(offset)
                .limit(limit)
            ).all()
            return list(rows), total or 0

    def delete_model(self, model_id: str) -> bool:
        """Delete a model and its snapshots; False if it was absent."""
        with self.session() as session:
            # The foreign key cascades too; this does not rely on SQLite's pragma.
            session.execute(delete(SnapshotRecord).where(SnapshotRecord.model_id == model_id))
            result = session.execute(delete(ModelRecord).where(ModelRecord.id == model_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def list_snapshots(self, model_id: str) -> list[SnapshotRecord]:
        """Return a model's snapshots in order, with their weights."""
        with self.session() as session:
            rows = session.scalars(
                select(SnapshotRecord)
                .where(SnapshotRecord.model_id == model_id)
                .order_by(SnapshotRecord.idx)
            ).all()
            return list(rows)

    def get_snapshot(self, model_id: str, index: int) -> SnapshotRecord | None:
        """Return one snapshot with its weights, or None."""
        with self.session() as session:
            return session.get(SnapshotRecord, (model_id, index))

    def claim_model(self, model_id: str, lease_seconds: float, worker: str = "") -> Claim | None:
        """Move a queued model to ``running`` under a lease, and read what its fit needs.

        Returns
        -------
        Claim or None
            The attempt number, which fences this attempt's later writes, the
            model and its dataset, read in the same transaction; None if another
            worker has the model or it is gone.
        """
        now = utcnow()
        with self.session() as session:
            attempt = session.scalar(
                update(ModelRecord)
                .where(ModelRecord.id == model_id, ModelRecord.status == "queued")
                .values(
                    status="running",
                    started_at=now,
                    attempts=ModelRecord.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    worker=worker[:100] or None,
                )
                .returning(ModelRecord.attempts)
                .execution_options(**UNSYNCHRONIZED)
            )
            if attempt is None:
                return None
            model = session.get_one(ModelRecord, model_id)
            dataset = session.get(DatasetRecord, model.dataset_id) if model.dataset_id else None
            return Claim(attempt, model, dataset)

    def holds_attempt(self, model_id: str, attempt: int) -> bool:
        """Return True while ``attempt`` still runs the model (not deleted, lease not lost)."""
        with self.session() as session:
            found = session.execute(
                select(ModelRecord.status, ModelRecord.attempts).where(ModelRecord.id == model_id)
            ).first()
        return found is not None and tuple(found) == ("running", attempt)

    def stale_queued_models(self, older_than: float) -> list[str]:
        """Return the models ``queued`` since more than ``older_than`` seconds ago."""
        since = utcnow() - timedelta(seconds=older_than)
        with self.session() as session:
            rows = session.scalars(
                select(ModelRecord.id).where(
                    ModelRecord.status == "queued", ModelRecord.created_at < since
                )
            ).all()
        return list(rows)

    def _update_attempt(self, model_id: str, attempt: int, **values: Any) -> bool:
        """Update a model only while ``attempt`` still holds it ``running``.

        The attempt number fences writes: a worker that lost its lease (its fit
        was re-queued or failed by the reaper) changes nothing.
        """
        with self.session() as session:
            result = session.execute(_running_attempt(model_id, attempt).values(**values))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def renew_lease(self, model_id: str, lease_seconds: float, attempt: int) -> bool:
        """Extend the lease of a running attempt; False if the attempt lost it."""
        return self._update_attempt(
            model_id, attempt, lease_until=utcnow() + timedelta(seconds=lease_seconds)
        )

    def finish_model(
        self,
        model_id: str,
        attempt: int,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        snapshots: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Record the outcome of a running attempt: ``succeeded`` with a result or ``failed``.

        ``snapshots`` (``iteration``, ``loss``, ``weights`` bytes each) are stored
        with the outcome, in order.

        Returns False, and changes nothing, if the attempt lost its lease or the
        model was deleted.
        """
        values = {
            "status": "failed" if error is not None else "succeeded",
            "result": result,
            "error": error,
            "finished_at": utcnow(),
            "lease_until": None,
        }
        with self.session() as session:
            changed = session.execute(_running_attempt(model_id, attempt).values(**values))
            if not changed.rowcount:  # type: ignore[attr-defined]
                return False
            if snapshots:  # in the same transaction: never a model succeeded without them
                session.execute(
                    delete(SnapshotRecord)
                    .where(SnapshotRecord.model_id == model_id)
                    .execution_options(**UNSYNCHRONIZED)
                )
                session.add_all(
                    SnapshotRecord(
                        model_id=model_id,
                        idx=index,
                        iteration=int(snapshot["iteration"]),
                        loss=snapshot.get("loss"),
                        weights=snapshot["weights"],
                    )
                    for index, snapshot in enumerate(snapshots)
                )
            return True

    def requeue_model(self, model_id: str, attempt: int) -> bool:
        """Put a running attempt back to ``queued`` (its worker is shutting down)."""
        return self._update_attempt(
            model_id, attempt, status="queued", lease_until=None, started_at=None
        )

    def fail_queued_model(self, model_id: str, error: str) -> bool:
        """Fail a queued model that cannot be queued (the queue is unreachable)."""
        with self.session() as session:
            result = session.execute(
                update(ModelRecord)
                .where(ModelRecord.id == model_id, ModelRecord.status == "queued")
                .values(status="failed", error=error, finished_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def expire_leases(self, max_attempts: int, lease_seconds: float) -> list[ExpiredLease]:
        """Re-queue or fail the running fits whose lease has passed.

        A fit that has had fewer than ``max_attempts`` attempts goes back to
        ``queued`` (the caller enqueues it again); the others end ``failed`` with
        an error that names the lease. Each change is conditional on the row
        being unchanged, so several reapers may run at once.

        Parameters
        ----------
        max_attempts : int
            Attempts a fit gets in all (``FIT_MAX_ATTEMPTS``).
        lease_seconds : float
            The lease (``FIT_LEASE_SECONDS``), named in the error message.

        Returns
        -------
        list of ExpiredLease
            What was done, one entry per model.
        """
        now = utcnow()
        with self.session() as session:
            expired = session.execute(
                select(ModelRecord.id, ModelRecord.attempts, ModelRecord.worker).where(
                    ModelRecord.status == "running", ModelRecord.lease_until < now
                )
            ).all()
        done = []
        for model_id, attempts, worker in expired:
            requeue = attempts < max_attempts
            values: dict[str, Any]
            if requeue:
                values = {"status": "queued", "lease_until": None, "started_at": None}
            else:
                values = {
                    "status": "failed",
                    "lease_until": None,
                    "finished_at": now,
                    "error": (
                        f"the worker running this fit ({worker or 'unknown'}) stopped renewing "
                        f"its {lease_seconds:g}-second lease (RELUMAP_FIT_LEASE_SECONDS): it was "
                        f"killed or its machine is gone; attempt {attempts} of {max_attempts} "
                        "(RELUMAP_FIT_MAX_ATTEMPTS). Fit the model again."
                    ),
                }
            with self.session() as session:
                result = session.execute(
                    update(ModelRecord)
                    .where(
                        ModelRecord.id == model_id,
                        ModelRecord.status == "running",
                        ModelRecord.attempts == attempts,
                        ModelRecord.lease_until < now,
                    )
                    .values(**values)
                )
            if result.rowcount:  # type: ignore[attr-defined]
                action = "requeued" if requeue else "failed"
                done.append(ExpiredLease(model_id, attempts, worker, action))
        return done

    def count_models_by_status(self) -> dict[str, int]:
        """Return how many models are in each status (all statuses, zeros included)."""
        with self.session() as session:
            rows = session.execute(
                select(ModelRecord.status, func.count()).group_by(ModelRecord.status)
            ).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: int(count) for status, count in rows})
        return counts

    # -- idempotency ------------------------------------------------------------------
    def get_idempotent(self, key: str) -> IdempotencyRecord | None:
        """Return what is stored for an idempotency key, or None."""
        with self.session() as session:
            return session.get(IdempotencyRecord, key)

    def reserve_idempotent(self, key: str, fingerprint: str, lease_seconds: float) -> bool:
        """Claim a key for a request in progress; False if another request has it.

        A reservation lasts ``lease_seconds``: a request that was killed before it
        completed or released its key does not hold it for ever, and a retry
        after that takes it over.
        """
        now = utcnow()
        until = now + timedelta(seconds=lease_seconds)
        try:
            with self.session() as session:
                session.add(
                    IdempotencyRecord(
                        key=key,
                        fingerprint=fingerprint,
                        status_code=0,
                        body=None,
                        headers={},
                        reserved_until=until,
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.session() as session:
            result = session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.status_code == 0,
                    (IdempotencyRecord.reserved_until < now)
                    | IdempotencyRecord.reserved_until.is_(None),
                )
                .values(fingerprint=fingerprint, reserved_until=until, created_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def complete_idempotent(
        self, key: str, status_code: int, body: Any, headers: dict[str, str]
    ) -> None:
        """Store the response of the request that holds the key."""
        with self.session() as session:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.key == key)
                .values(status_code=status_code, body=body, headers=headers, reserved_until=None)
            )

    def release_idempotent(self, key: str) -> None:
        """Forget a key whose request failed, so that a retry runs again."""
        with self.session() as session:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key == key))
