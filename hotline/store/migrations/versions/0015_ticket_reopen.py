"""Tickets: a reopened ticket's resolution clock runs again from the reopen with what is left of its target;
the minutes counted before the reopen and when it ran again are kept on the clock row.

Revision ID: 0015_ticket_reopen
Revises: 0010_access
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0015_ticket_reopen"
down_revision = "0014_call_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_clocks") as batch:
        batch.add_column(sa.Column("carried_minutes", sa.Float()))
        batch.add_column(sa.Column("resumed_at", UtcDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("ticket_clocks") as batch:
        batch.drop_column("resumed_at")
        batch.drop_column("carried_minutes")
