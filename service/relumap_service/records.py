"""The store's tables, as SQLAlchemy 2 declarative records.

The schema they declare is created and changed only by the migrations in
``relumap_service.migrations``; a test checks that the newest migration and
these records agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "STATUSES",
    "Base",
    "DatasetRecord",
    "DeploymentRecord",
    "IdempotencyRecord",
    "ModelRecord",
    "SnapshotRecord",
    "new_id",
    "utcnow",
]

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
    # One name per column of X (None in rows stored before names were kept).
    feature_names: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


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
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The names of the network's inputs, from its data set or as given.
    feature_names: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class SnapshotRecord(Base):
    """The weights of a model at one iteration of its fit (``snapshots`` fit parameter).

    ``weights`` holds every weight matrix then every intercept vector, in the
    model's shapes, as little-endian float64 (``core.snapshots.pack_weights``).
    Deleted with its model.
    """

    __tablename__ = "snapshots"

    model_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    iteration: Mapped[int] = mapped_column(Integer)
    loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    weights: Mapped[bytes] = mapped_column(LargeBinary)


class IdempotencyRecord(Base):
    """The first response to a POST that carried an ``Idempotency-Key``."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While the first request runs (status_code 0): past this, it is taken to be dead.
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeploymentRecord(Base):
    """The identity of this database: one row, made by the migration that adds the table."""

    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
