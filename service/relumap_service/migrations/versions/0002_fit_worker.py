"""Record which worker runs a fit, and find expired leases by an index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``models.worker`` and an index on ``models.lease_until``."""
    # "host:pid" of the process that claimed the fit, for operators and logs.
    op.add_column("models", sa.Column("worker", sa.String(100), nullable=True))
    # The reaper looks up running models whose lease has passed.
    op.create_index("ix_models_lease_until", "models", ["lease_until"])


def downgrade() -> None:
    """Remove them."""
    op.drop_index("ix_models_lease_until", "models")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("worker")
