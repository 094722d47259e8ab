"""Types trusted when a version was registered, and who trusted them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch_op:
        batch_op.add_column(sa.Column("trusted_types", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("trusted_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch_op:
        batch_op.drop_column("trusted_by")
        batch_op.drop_column("trusted_types")
