"""Satisfaction surveys (回访): surveys, their tries and answers.

Revision ID: 0011_surveys
Revises: 0010_access
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0011_surveys"
down_revision = "0010_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("survey_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("caller_key", sa.String(32), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("way", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("specialty", sa.String(64)),
        sa.Column("staff", sa.String(128)),
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("resolved_at", UtcDateTime(), nullable=False),
        sa.Column("due_by", UtcDateTime(), nullable=False),
        sa.Column("next_try_at", UtcDateTime()),
        sa.Column("wait_until", UtcDateTime()),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("answered_at", UtcDateTime()),
        sa.Column("answered_via", sa.String(16)),
        sa.Column("recorded_by", sa.String(128)),
        sa.Column("solved", sa.Boolean()),
        sa.Column("score", sa.Integer()),
        sa.Column("full_score", sa.Integer(), nullable=False),
        sa.Column("complaint_ticket_id", sa.String(32)),
        sa.Column("ended_at", UtcDateTime()),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("survey_id", name="pk_surveys"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"], name="fk_surveys_ticket_id_tickets"),
        sa.UniqueConstraint("ticket_id", name="uq_surveys_ticket_id"),
    )
    op.create_index("ix_surveys_status_next_try_at", "surveys", ["status", "next_try_at"])
    op.create_index("ix_surveys_resolved_at", "surveys", ["resolved_at"])
    op.create_index("ix_surveys_caller_key", "surveys", ["caller_key"])
    op.create_table(
        "survey_tries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("try_no", sa.Integer(), nullable=False),
        sa.Column("way", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("page_key", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("ended_at", UtcDateTime()),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_survey_tries"),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.survey_id"], name="fk_survey_tries_survey_id_surveys"),
        sa.UniqueConstraint("survey_id", "round", "try_no", name="uq_survey_tries_try"),
    )
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(32), nullable=False),
        sa.Column("question_text", sa.Text(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_answers"),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.survey_id"], name="fk_survey_answers_survey_id_surveys"),
        sa.UniqueConstraint("survey_id", "question", name="uq_survey_answers_question"),
    )


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("survey_tries")
    op.drop_index("ix_surveys_caller_key", table_name="surveys")
    op.drop_index("ix_surveys_resolved_at", table_name="surveys")
    op.drop_index("ix_surveys_status_next_try_at", table_name="surveys")
    op.drop_table("surveys")
