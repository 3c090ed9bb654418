"""Reports: an index on raw_events.last_at (the retention purge), one on calls (direction, started_at, outcome)
for the answer-rate GROUP BY, and the issued monthly quality reports (frozen, versioned).

Revision ID: 0007_reports
Revises: 0006_tickets
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0007_reports"
down_revision = "0006_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_raw_events_last_at", "raw_events", ["last_at"])
    op.create_index("ix_calls_direction_started_at", "calls", ["direction", "started_at", "outcome"])
    op.create_table(
        "quality_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.UniqueConstraint("month", "version", name="uq_quality_reports_month_version"),
    )


def downgrade() -> None:
    op.drop_table("quality_reports")
    op.drop_index("ix_calls_direction_started_at", "calls")
    op.drop_index("ix_raw_events_last_at", "raw_events")
