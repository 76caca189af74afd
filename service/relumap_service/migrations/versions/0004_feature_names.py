"""Keep the names of the input features with data sets and models.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``datasets.feature_names`` and ``models.feature_names``."""
    # Null in rows stored before: the API then reports x1, x2, ... (x for one feature).
    op.add_column("datasets", sa.Column("feature_names", sa.JSON, nullable=True))
    op.add_column("models", sa.Column("feature_names", sa.JSON, nullable=True))


def downgrade() -> None:
    """Remove them."""
    with op.batch_alter_table("models") as batch:
        batch.drop_column("feature_names")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("feature_names")
