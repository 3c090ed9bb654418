"""Real-PBX fixes: the outbox names the channel that delivered a page (`delivered_via`).

Revision ID: 0009_pbx
Revises: 0008_instance_lease
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_pbx"
down_revision = "0008_instance_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("delivered_via", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("delivered_via")
