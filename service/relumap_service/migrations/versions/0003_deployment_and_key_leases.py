"""Give the database an identity, and in-progress idempotency keys a lease.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the ``deployment`` row and ``idempotency_keys.reserved_until``."""
    # One row: a random id made once per database. The fit queue's name carries
    # it, so workers of another deployment on the same Redis never take our fits.
    deployment = op.create_table(
        "deployment",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        deployment.insert().values(id=uuid.uuid4().hex, created_at=sa.func.current_timestamp())
    )
    # A request holding a key past this time was killed: a retry may take the key.
    op.add_column(
        "idempotency_keys",
        sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Remove them."""
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("reserved_until")
    op.drop_table("deployment")
