"""Listener heartbeats: when each listener was last alive, so that a restart after a crash (kill -9, power
loss) is recorded as a listener outage from the last heartbeat.

Revision ID: 0004_listener_heartbeat
Revises: 0003_alerts
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0004_listener_heartbeat"
down_revision = "0003_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listener_heartbeats",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_listener_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("listener_heartbeats")
