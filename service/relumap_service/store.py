"""The model store: datasets, models and idempotency keys in a SQL database.

SQLAlchemy 2 keeps the same code for the embedded SQLite file and for
PostgreSQL. Models are stored as weights plus metadata (JSON), never pickled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = ["DatasetRecord", "ModelRecord", "Store", "new_id", "utcnow"]

STATUSES = ("queued", "running", "succeeded", "failed")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """Return a new random identifier (32 hex digits)."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware, even from SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use relumap_service.store.utcnow()")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""


class DatasetRecord(Base):
    """An uploaded or generated data set with its points."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # "upload" or "generated"
    n_samples: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    task_hint: Mapped[str] = mapped_column(String(20))
    classes: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    bounds: Mapped[dict[str, Any]] = mapped_column(JSON)
    generator: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    X: Mapped[list[list[float]]] = mapped_column(JSON)
    y: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelRecord(Base):
    """A fitted or hand-specified network and everything reported about it."""

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dataset_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("datasets.id"), nullable=True, index=True
    )
    source: Mapped[str] = mapped_column(String(20))  # "fit" or "manual"
    status: Mapped[str] = mapped_column(String(20), index=True)
    task: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IdempotencyRecord(Base):
    """The first response to a POST that carried an ``Idempotency-Key``."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets the API read while a worker writes; the busy timeout waits for
    # the writer instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """Access to the database behind the service.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Create any missing tables."""
        Base.metadata.create_all(self.engine)

    def ping(self) -> None:
        """Run a trivial query; raises if the database is unreachable."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close pooled connections (after a fork, or at shutdown)."""
        self.engine.dispose()

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

    def get_dataset(self, dataset_id: str) -> DatasetRecord | None:
        """Return one dataset, or None."""
        with self.session() as session:
            return session.get(DatasetRecord, dataset_id)

    def list_datasets(self, offset: int, limit: int) -> tuple[list[DatasetRecord], int]:
        """Return a page of datasets, newest first, and the total count."""
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(DatasetRecord)) or 0
            rows = session.scalars(
                select(DatasetRecord)
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
        """Delete a model; False if it was absent."""
        with self.session() as session:
            result = session.execute(delete(ModelRecord).where(ModelRecord.id == model_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def claim_model(self, model_id: str, lease_seconds: float) -> bool:
        """Move a queued model to ``running``; False if another worker has it or it is gone."""
        now = utcnow()
        with self.session() as session:
            result = session.execute(
                update(ModelRecord)
                .where(ModelRecord.id == model_id, ModelRecord.status == "queued")
                .values(
                    status="running",
                    started_at=now,
                    attempts=ModelRecord.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds),
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def renew_lease(self, model_id: str, lease_seconds: float) -> None:
        """Extend the lease of a running fit: its worker is alive."""
        with self.session() as session:
            session.execute(
                update(ModelRecord)
                .where(ModelRecord.id == model_id, ModelRecord.status == "running")
                .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
            )

    def finish_model(
        self, model_id: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> bool:
        """Record the outcome of a running fit: ``succeeded`` with a result or ``failed``."""
        with self.session() as session:
            outcome = session.execute(
                update(ModelRecord)
                .where(ModelRecord.id == model_id, ModelRecord.status == "running")
                .values(
                    status="failed" if error is not None else "succeeded",
                    result=result,
                    error=error,
                    finished_at=utcnow(),
                    lease_until=None,
                )
            )
            return bool(outcome.rowcount)  # type: ignore[attr-defined]

    # -- idempotency ------------------------------------------------------------------
    def get_idempotent(self, key: str) -> IdempotencyRecord | None:
        """Return what is stored for an idempotency key, or None."""
        with self.session() as session:
            return session.get(IdempotencyRecord, key)

    def reserve_idempotent(self, key: str, fingerprint: str) -> bool:
        """Claim a key for a request in progress; False if another request has it."""
        try:
            with self.session() as session:
                session.add(
                    IdempotencyRecord(
                        key=key, fingerprint=fingerprint, status_code=0, body=None, headers={}
                    )
                )
        except IntegrityError:
            return False
        return True

    def complete_idempotent(
        self, key: str, status_code: int, body: Any, headers: dict[str, str]
    ) -> None:
        """Store the response of the request that holds the key."""
        with self.session() as session:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.key == key)
                .values(status_code=status_code, body=body, headers=headers)
            )

    def release_idempotent(self, key: str) -> None:
        """Forget a key whose request failed, so that a retry runs again."""
        with self.session() as session:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key == key))
