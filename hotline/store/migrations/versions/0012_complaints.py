"""Complaints (投诉): when a ticket's complaint was made, its source, first reply and agreed deadline; the
《客户投诉反馈表》 of each complaint and its saved versions.

Revision ID: 0012_complaints
Revises: 0010_access
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0012_complaints"
down_revision = "0011_surveys"
branch_labels = None
depends_on = None

_FIELDS = ("complaint", "investigation", "cause", "measures", "feedback", "confirmation")


def upgrade() -> None:
    op.add_column("tickets", sa.Column("complained_at", UtcDateTime()))
    op.add_column("tickets", sa.Column("complaint_source", sa.String(16)))
    op.add_column("tickets", sa.Column("complaint_replied_at", UtcDateTime()))
    op.add_column("tickets", sa.Column("complaint_due_at", UtcDateTime()))
    # complaints opened before: made when their ticket was opened
    op.execute("UPDATE tickets SET complained_at = opened_at WHERE ticket_type = 'complaint'")
    op.create_index("ix_tickets_complained_at", "tickets", ["complained_at"])
    op.create_table(
        "complaint_forms",
        sa.Column("ticket_id", sa.String(32), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False) for name in _FIELDS),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"], name="fk_complaint_forms_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_complaint_forms"),
    )
    op.create_table(
        "complaint_form_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False) for name in _FIELDS),
        sa.Column("saved_by", sa.String(128), nullable=False),
        sa.Column("saved_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"],
                                name="fk_complaint_form_versions_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_complaint_form_versions"),
        sa.UniqueConstraint("ticket_id", "version", name="uq_complaint_form_versions_ticket_id_version"),
    )
    op.create_index("ix_complaint_form_versions_ticket_id", "complaint_form_versions", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_complaint_form_versions_ticket_id", table_name="complaint_form_versions")
    op.drop_table("complaint_form_versions")
    op.drop_table("complaint_forms")
    op.drop_index("ix_tickets_complained_at", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for name in ("complaint_due_at", "complaint_replied_at", "complaint_source", "complained_at"):
            batch.drop_column(name)
