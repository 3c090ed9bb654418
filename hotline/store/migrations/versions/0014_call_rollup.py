"""Reports' roll-up: answer-rate figures per UTC hour, specialty, agent and called number (call_hours),
and the thresholds it was counted with (call_rollup_state). Empty until `hotline report rollup --rebuild`
or the listener's start builds it; the reports read the calls until then.

Revision ID: 0014_call_rollup
Revises: 0010_access
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0014_call_rollup"
down_revision = "0013_call_legs"
branch_labels = None
depends_on = None

COUNTS = ("answered", "abandoned", "timeout", "busy", "ivr_abandoned", "failed", "short_abandoned",
          "answered_within", "wait_count")


def upgrade() -> None:
    op.create_table(
        "call_hours",
        sa.Column("hour_start", UtcDateTime(), nullable=False),
        sa.Column("specialty", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("called", sa.String(64), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.Column("wait_sum", sa.Float(), nullable=False),
        sa.Column("talk_count", sa.Integer(), nullable=False),
        sa.Column("talk_sum", sa.Float(), nullable=False),
        sa.Column("answer_wait_count", sa.Integer(), nullable=False),
        sa.Column("answer_wait_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("hour_start", "specialty", "agent", "called", name="pk_call_hours"),
    )
    op.create_table(
        "call_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("short_abandon_seconds", sa.Float(), nullable=False),
        sa.Column("service_level_seconds", sa.Float(), nullable=False),
        sa.Column("built_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_rollup_state"),
    )


def downgrade() -> None:
    op.drop_table("call_rollup_state")
    op.drop_table("call_hours")
