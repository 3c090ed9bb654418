"""Calls: the legs of a transferred call (who, queue, answered, ended, talk, transfer) as JSON text.

Revision ID: 0013_call_legs
Revises: 0010_access
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_call_legs"
down_revision = "0012_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("legs", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("legs")
