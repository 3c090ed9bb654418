"""Roster edits: overrides made together (a swap, a web edit) share a batch, so that undo takes them back
together; per-person secret calendar feeds (only a hash of the token is stored; revocable); handover
acknowledgements (the incoming person confirms taking over a shift); override and swap requests waiting
for a manager's approval.

Revision ID: 0005_roster_edits
Revises: 0004_listener_heartbeat
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0005_roster_edits"
down_revision = "0004_listener_heartbeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("roster_overrides", sa.Column("batch", sa.String(32)))
    op.create_index("ix_roster_overrides_batch", "roster_overrides", ["batch"])
    op.create_table(
        "roster_feeds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_roster_feeds"),
        sa.ForeignKeyConstraint(["person_id"], ["roster_people.id"], ondelete="CASCADE",
                                name="fk_roster_feeds_person_id_roster_people"),
        sa.UniqueConstraint("token_hash", name="uq_roster_feeds_token_hash"),
    )
    op.create_table(
        "roster_handover_acks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("shift_start", UtcDateTime(), nullable=False),
        sa.Column("acked_at", UtcDateTime(), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_handover_acks"),
        sa.UniqueConstraint("tier", "person", "shift_start", name="uq_roster_handover_acks_tier"),
    )


    op.create_table(
        "roster_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", UtcDateTime()),
        sa.Column("batch", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name="pk_roster_requests"),
    )
    op.create_index("ix_roster_requests_state", "roster_requests", ["state"])


def downgrade() -> None:
    op.drop_index("ix_roster_requests_state", "roster_requests")
    op.drop_table("roster_requests")
    op.drop_table("roster_handover_acks")
    op.drop_table("roster_feeds")
    op.drop_index("ix_roster_overrides_batch", "roster_overrides")
    with op.batch_alter_table("roster_overrides") as batch:
        batch.drop_column("batch")
