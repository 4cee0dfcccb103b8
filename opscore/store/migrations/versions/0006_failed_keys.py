"""failed_keys: failed authentications per client address, counted by every process

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_keys",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("client"),
    )
    with op.batch_alter_table("failed_keys", schema=None) as batch_op:
        batch_op.create_index("ix_failed_keys_opened", ["opened"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("failed_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_failed_keys_opened")
    op.drop_table("failed_keys")
