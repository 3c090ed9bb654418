"""Instance leases: the single active instance serving Twilio webhooks.

Revision ID: 0008_instance_lease
Revises: 0007_reports
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0008_instance_lease"
down_revision = "0007_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("renewed_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("instance_leases")
