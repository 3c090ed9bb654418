"""Call ledger: calls, raw events, listener outages.

Revision ID: 0001_calls
Revises:
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0001_calls"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("caller", sa.String(64)),
        sa.Column("caller_name", sa.String(128)),
        sa.Column("called", sa.String(64)),
        sa.Column("queue", sa.String(64)),
        sa.Column("specialty", sa.String(64)),
        sa.Column("menu", sa.String(8)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("answered_by", sa.String(64)),
        sa.Column("hung_up_by", sa.String(16)),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("staff_reached_at", UtcDateTime()),
        sa.Column("answered_at", UtcDateTime()),
        sa.Column("ended_at", UtcDateTime()),
        sa.Column("wait_seconds", sa.Float()),
        sa.Column("talk_seconds", sa.Float()),
        sa.Column("estimated", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("call_id", name="pk_calls"),
    )
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
    op.create_index("ix_calls_caller", "calls", ["caller"])
    op.create_index("ix_calls_called", "calls", ["called"])
    op.create_table(
        "raw_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("call_id", sa.String(64)),
        sa.Column("first_at", UtcDateTime()),
        sa.Column("last_at", UtcDateTime()),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(40), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_raw_events"),
        sa.UniqueConstraint("digest", name="uq_raw_events_digest"),
    )
    op.create_index("ix_raw_events_call_id", "raw_events", ["call_id"])
    op.create_index("ix_raw_events_first_at", "raw_events", ["first_at"])
    op.create_table(
        "listener_outages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime()),
        sa.Column("reason", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_listener_outages"),
    )


def downgrade() -> None:
    op.drop_table("listener_outages")
    op.drop_index("ix_raw_events_first_at", "raw_events")
    op.drop_index("ix_raw_events_call_id", "raw_events")
    op.drop_table("raw_events")
    op.drop_index("ix_calls_called", "calls")
    op.drop_index("ix_calls_caller", "calls")
    op.drop_index("ix_calls_started_at", "calls")
    op.drop_table("calls")
