"""step paths: work items and feed notes name steps inside branches by path; a run may
wait for several agents at once (its branches'), kept as `|a|b|`

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PATH = sa.String(length=512)
NAME = sa.String(length=64)


WAITS = sa.String(length=4000)
ID = sa.String(length=128)


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.alter_column("waiting_for", existing_type=ID, type_=WAITS, existing_nullable=True)
    op.execute(
        "UPDATE instances SET waiting_for = '|' || waiting_for || '|' WHERE waiting_for IS NOT NULL"
    )
    with op.batch_alter_table("work", schema=None) as batch_op:
        batch_op.alter_column("step", existing_type=NAME, type_=PATH, existing_nullable=False)
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.alter_column("source", existing_type=NAME, type_=PATH, existing_nullable=False)
        batch_op.alter_column("dest", existing_type=NAME, type_=PATH, existing_nullable=False)


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT kind, id, waiting_for FROM instances WHERE waiting_for IS NOT NULL")
    )
    for kind, instance_id, waits in rows.fetchall():
        first = waits.strip("|").split("|")[0] or None  # the earlier layout kept one agent
        conn.execute(
            sa.text("UPDATE instances SET waiting_for = :w WHERE kind = :k AND id = :i"),
            {"w": first, "k": kind, "i": instance_id},
        )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.alter_column("waiting_for", existing_type=WAITS, type_=ID, existing_nullable=True)
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.alter_column("dest", existing_type=PATH, type_=NAME, existing_nullable=False)
        batch_op.alter_column("source", existing_type=PATH, type_=NAME, existing_nullable=False)
    with op.batch_alter_table("work", schema=None) as batch_op:
        batch_op.alter_column("step", existing_type=PATH, type_=NAME, existing_nullable=False)
