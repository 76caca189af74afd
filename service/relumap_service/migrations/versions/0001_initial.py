"""The first schema: datasets, models and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("n_features", sa.Integer, nullable=False),
        sa.Column("task_hint", sa.String(20), nullable=False),
        sa.Column("classes", sa.JSON, nullable=True),
        sa.Column("bounds", sa.JSON, nullable=False),
        sa.Column("generator", sa.JSON, nullable=True),
        sa.Column("X", sa.JSON, nullable=False),
        sa.Column("y", sa.JSON, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id"), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("task", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_until", _TIMESTAMP, nullable=True),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=True),
        sa.Column("finished_at", _TIMESTAMP, nullable=True),
    )
    op.create_index("ix_models_dataset_id", "models", ["dataset_id"])
    op.create_index("ix_models_status", "models", ["status"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=True),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("idempotency_keys")
    op.drop_index("ix_models_status", "models")
    op.drop_index("ix_models_dataset_id", "models")
    op.drop_table("models")
    op.drop_table("datasets")
