"""Monitor: alerts, alert calls, events and steps, the paging outbox, page attempts, incidents.

Revision ID: 0003_alerts
Revises: 0002_roster
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0003_alerts"
down_revision = "0002_roster"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("service_window", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(64)),
        sa.Column("caller_name", sa.String(128)),
        sa.Column("specialty", sa.String(64)),
        sa.Column("title", sa.Text()),
        sa.Column("ack_code", sa.String(16)),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("deadline_at", UtcDateTime(), nullable=False),
        sa.Column("missed_calls", sa.Integer(), nullable=False),
        sa.Column("last_missed_at", UtcDateTime()),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("repeat_no", sa.Integer(), nullable=False),
        sa.Column("step_base_at", UtcDateTime()),
        sa.Column("step_due_at", UtcDateTime()),
        sa.Column("acked_at", UtcDateTime()),
        sa.Column("acked_by", sa.String(128)),
        sa.Column("ack_until", UtcDateTime()),
        sa.Column("breached_at", UtcDateTime()),
        sa.Column("cleared_at", UtcDateTime()),
        sa.Column("cleared_by", sa.String(128)),
        sa.Column("resolved_at", UtcDateTime()),
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("resolution", sa.Text()),
        sa.Column("next_due_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_next_due_at", "alerts", ["next_due_at"])
    op.create_index("ix_alerts_state_caller", "alerts", ["state", "caller"])
    op.create_index("ix_alerts_opened_at", "alerts", ["opened_at"])
    op.create_index("ix_alerts_ack_code", "alerts", ["ack_code"])

    op.create_table(
        "alert_calls",
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"], name="fk_alert_calls_alert_id_alerts"),
        sa.PrimaryKeyConstraint("call_id", name="pk_alert_calls"),
    )
    op.create_index("ix_alert_calls_alert_id", "alert_calls", ["alert_id"])

    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16)),
        sa.Column("person", sa.String(128)),
        sa.Column("channel", sa.String(32)),
        sa.Column("step", sa.String(16)),
        sa.Column("detail", sa.Text()),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"], name="fk_alert_events_alert_id_alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])
    op.create_index("ix_alert_events_at", "alert_events", ["at"])

    op.create_table(
        "alert_steps",
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("done_at", UtcDateTime(), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"], name="fk_alert_steps_alert_id_alerts"),
        sa.PrimaryKeyConstraint("alert_id", "step", name="pk_alert_steps"),
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("alert_id", sa.String(32)),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("step", sa.String(16)),
        sa.Column("tier", sa.String(16)),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("fallback", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ack_url", sa.Text()),
        sa.Column("ack_code", sa.String(16)),
        sa.Column("caller", sa.String(64)),
        sa.Column("specialty", sa.String(64)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("provider_id", sa.String(128)),
        sa.Column("last_error", sa.Text()),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"], name="fk_outbox_alert_id_alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_alert_id", "outbox", ["alert_id"])

    op.create_table(
        "page_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("provider_id", sa.String(128)),
        sa.Column("error", sa.Text()),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Float()),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name="fk_page_attempts_outbox_id_outbox"),
        sa.PrimaryKeyConstraint("id", name="pk_page_attempts"),
    )
    op.create_index("ix_page_attempts_outbox_id", "page_attempts", ["outbox_id"])

    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("specialty", sa.String(64)),
        sa.Column("declared_by", sa.String(128), nullable=False),
        sa.Column("declared_at", UtcDateTime(), nullable=False),
        sa.Column("report_deadline_at", UtcDateTime(), nullable=False),
        sa.Column("reported_at", UtcDateTime()),
        sa.Column("reported_by", sa.String(128)),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"], name="fk_incidents_alert_id_alerts"),
        sa.PrimaryKeyConstraint("incident_id", name="pk_incidents"),
    )


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_index("ix_page_attempts_outbox_id", "page_attempts")
    op.drop_table("page_attempts")
    op.drop_index("ix_outbox_alert_id", "outbox")
    op.drop_index("ix_outbox_status_next_attempt_at", "outbox")
    op.drop_table("outbox")
    op.drop_table("alert_steps")
    op.drop_index("ix_alert_calls_alert_id", "alert_calls")
    op.drop_index("ix_alert_events_at", "alert_events")
    op.drop_index("ix_alert_events_alert_id", "alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alerts_ack_code", "alerts")
    op.drop_index("ix_alerts_opened_at", "alerts")
    op.drop_index("ix_alerts_state_caller", "alerts")
    op.drop_index("ix_alerts_next_due_at", "alerts")
    op.drop_table("alerts")
