"""Privacy and sign-on: single sign-ons in progress (shared by workers, kept over a restart) and the
recordings hotline knows of (for their retention).

Revision ID: 0017_privacy_sign_on
Revises: 0010_access
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0017_privacy_sign_on"
down_revision = "0015_ticket_reopen"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_sign_on_pending",
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("verifier", sa.String(128), nullable=False),
        sa.Column("next_path", sa.Text(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name="pk_access_sign_on_pending"),
    )
    op.create_index("ix_access_sign_on_pending_expires_at", "access_sign_on_pending", ["expires_at"])
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("recording_sid", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64)),
        sa.Column("url", sa.Text()),
        sa.Column("duration_seconds", sa.Float()),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("purged_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        sa.UniqueConstraint("recording_sid", name="uq_recordings_recording_sid"),
    )
    op.create_index("ix_recordings_recorded_at", "recordings", ["recorded_at"])
    op.create_index("ix_recordings_call_id", "recordings", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_recordings_call_id", "recordings")
    op.drop_index("ix_recordings_recorded_at", "recordings")
    op.drop_table("recordings")
    op.drop_index("ix_access_sign_on_pending_expires_at", "access_sign_on_pending")
    op.drop_table("access_sign_on_pending")
