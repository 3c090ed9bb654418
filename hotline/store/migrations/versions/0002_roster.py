"""Duty roster: people, rotations, dated shifts, overrides, working-day calendar, handover notes,
change log.

Revision ID: 0002_roster
Revises: 0001_calls
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0002_roster"
down_revision = "0001_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_people",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("mobile", sa.String(32), nullable=False),
        sa.Column("extension", sa.String(16), nullable=False),
        sa.Column("email", sa.String(128), nullable=False),
        sa.Column("wecom", sa.String(64), nullable=False),
        sa.Column("dingtalk", sa.String(64), nullable=False),
        sa.Column("feishu", sa.String(64), nullable=False),
        sa.Column("channels", sa.String(256), nullable=False),
        sa.Column("specialties", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_people"),
        sa.UniqueConstraint("name", name="uq_roster_people_name"),
    )
    op.create_table(
        "roster_rotations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("every", sa.String(8), nullable=False),
        sa.Column("anchor", sa.Date(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("shifts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_rotations"),
        sa.UniqueConstraint("name", name="uq_roster_rotations_name"),
    )
    op.create_table(
        "roster_shifts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("start_at", UtcDateTime(), nullable=False),
        sa.Column("end_at", UtcDateTime(), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_shifts"),
        sa.ForeignKeyConstraint(["person_id"], ["roster_people.id"], ondelete="RESTRICT",
                                name="fk_roster_shifts_person_id_roster_people"),
    )
    op.create_index("ix_roster_shifts_day", "roster_shifts", ["day"])
    op.create_index("ix_roster_shifts_start_at", "roster_shifts", ["start_at"])
    op.create_table(
        "roster_overrides",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("start_at", UtcDateTime(), nullable=False),
        sa.Column("end_at", UtcDateTime(), nullable=False),
        sa.Column("replaced_id", sa.Integer()),
        sa.Column("replacement_id", sa.Integer()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_overrides"),
        sa.ForeignKeyConstraint(["replaced_id"], ["roster_people.id"], ondelete="RESTRICT",
                                name="fk_roster_overrides_replaced_id_roster_people"),
        sa.ForeignKeyConstraint(["replacement_id"], ["roster_people.id"], ondelete="RESTRICT",
                                name="fk_roster_overrides_replacement_id_roster_people"),
    )
    op.create_index("ix_roster_overrides_start_at", "roster_overrides", ["start_at"])
    op.create_table(
        "roster_calendar",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_roster_calendar"),
    )
    op.create_table(
        "roster_calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("confirmed_by", sa.String(64), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_roster_calendar_years"),
    )
    op.create_table(
        "roster_handover_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("written_at", UtcDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_handover_notes"),
    )
    op.create_index("ix_roster_handover_notes_written_at", "roster_handover_notes", ["written_at"])
    op.create_table(
        "roster_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_changes"),
    )
    op.create_index("ix_roster_changes_at", "roster_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_roster_changes_at", "roster_changes")
    op.drop_table("roster_changes")
    op.drop_index("ix_roster_handover_notes_written_at", "roster_handover_notes")
    op.drop_table("roster_handover_notes")
    op.drop_table("roster_calendar_years")
    op.drop_table("roster_calendar")
    op.drop_index("ix_roster_overrides_start_at", "roster_overrides")
    op.drop_table("roster_overrides")
    op.drop_index("ix_roster_shifts_start_at", "roster_shifts")
    op.drop_index("ix_roster_shifts_day", "roster_shifts")
    op.drop_table("roster_shifts")
    op.drop_table("roster_rotations")
    op.drop_table("roster_people")
