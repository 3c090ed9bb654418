"""Reports' roll-up: a histogram of the offered calls' waits beside each call_hours row (call_hour_waits),
in tenths of a second rounded up, from which the reports take the 90th percentile without reading the
calls. The histogram is derived data: the upgrade forgets the roll-up's state, so that it is rebuilt
(`hotline serve` / `listen` / `demo` at start, or `hotline report rollup --rebuild`); until then the
reports read the calls. The downgrade drops the table (and the state, for the same reason).

Revision ID: 0018_call_hour_waits
Revises: 0017_privacy_sign_on
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0018_call_hour_waits"
down_revision = "0017_privacy_sign_on"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_hour_waits",
        sa.Column("hour_start", UtcDateTime(), nullable=False),
        sa.Column("specialty", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("called", sa.String(64), nullable=False),
        sa.Column("wait_step", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour_start", "specialty", "agent", "called", "wait_step", name="pk_call_hour_waits"),
    )
    op.execute("DELETE FROM call_rollup_state")  # rebuilt with the histogram at the next start


def downgrade() -> None:
    op.drop_table("call_hour_waits")
    op.execute("DELETE FROM call_rollup_state")
