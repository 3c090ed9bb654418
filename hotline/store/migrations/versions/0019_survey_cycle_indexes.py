"""Indexes of the survey engine's idle cycle: new resolutions (tickets by status and resolution time), the
surveys' waits (by status and wait_until), a try by its outbox key, and the survey tries that reached nobody (a partial index of the
outbox).

Revision ID: 0019_survey_cycle_indexes
Revises: 0018_call_hour_waits
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_survey_cycle_indexes"
down_revision = "0018_call_hour_waits"
branch_labels = None
depends_on = None

_SURVEY_ENDED = "outbox.purpose = 'survey' AND outbox.status IN ('failed', 'cancelled')"


def upgrade() -> None:
    op.create_index("ix_tickets_status_resolved_at", "tickets", ["status", "resolved_at"])
    op.create_index("ix_surveys_status_wait_until", "surveys", ["status", "wait_until"])
    op.create_index("ix_survey_tries_page_key", "survey_tries", ["page_key"])
    op.create_index("ix_outbox_survey_ended", "outbox", ["created_at"], postgresql_where=sa.text(_SURVEY_ENDED),
                    sqlite_where=sa.text(_SURVEY_ENDED))


def downgrade() -> None:
    op.drop_index("ix_outbox_survey_ended", table_name="outbox")
    op.drop_index("ix_survey_tries_page_key", table_name="survey_tries")
    op.drop_index("ix_surveys_status_wait_until", table_name="surveys")
    op.drop_index("ix_tickets_status_resolved_at", table_name="tickets")
