"""Tickets: tickets, linked calls, missed calls not yet linked, timeline, SLA clocks, the day's counter,
the caller directory, the knowledge base (with an FTS5 trigram index on SQLite).

Revision ID: 0006_tickets
Revises: 0005_roster_edits
"""

import sqlalchemy as sa
from alembic import op

from hotline.store.base import UtcDateTime

revision = "0006_tickets"
down_revision = "0005_roster_edits"
branch_labels = None
depends_on = None

# the desk's lists (partial indexes; the queries in services/tickets/desk.py use the same literal predicates)
_OPEN = "tickets.status IN ('new', 'in_progress', 'escalated')"
_LIVE = "tickets.open_caller IS NOT NULL"
_OVERDUE = "ticket_clocks.breached_at IS NOT NULL AND ticket_clocks.done_at IS NULL"
_PARTIAL = [
    ("ix_tickets_open_opened_at", ["opened_at"], _OPEN),
    ("ix_tickets_open_assignee", ["assignee", "opened_at"], _OPEN),
    ("ix_tickets_open_tier", ["tier", "opened_at"], _OPEN),
    ("ix_tickets_live_opened_at", ["opened_at"], _LIVE),
    ("ix_tickets_live_assignee", ["assignee", "opened_at"], _LIVE),
]

_FTS = [
    "CREATE VIRTUAL TABLE kb_fts USING fts5(search_text, tokenize='trigram')",
    "CREATE TRIGGER kb_articles_ai AFTER INSERT ON kb_articles BEGIN "
    "INSERT INTO kb_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER kb_articles_ad AFTER DELETE ON kb_articles BEGIN "
    "DELETE FROM kb_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER kb_articles_au AFTER UPDATE OF search_text ON kb_articles BEGIN "
    "DELETE FROM kb_fts WHERE rowid = old.id; "
    "INSERT INTO kb_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("caller_key", sa.String(32), nullable=False),
        sa.Column("open_caller", sa.String(32)),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("caller_name", sa.String(128)),
        sa.Column("ticket_type", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("specialty", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(128)),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text()),
        sa.Column("cause", sa.Text()),
        sa.Column("service_window", sa.String(8), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("first_contact_at", UtcDateTime(), nullable=False),
        sa.Column("responded_at", UtcDateTime()),
        sa.Column("work_started_at", UtcDateTime()),
        sa.Column("resolved_at", UtcDateTime()),
        sa.Column("closed_at", UtcDateTime()),
        sa.Column("confirmed_by", sa.String(128)),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("vendor_started_at", UtcDateTime()),
        sa.Column("vendor_ended_at", UtcDateTime()),
        sa.Column("major_reported_at", UtcDateTime()),
        sa.Column("incident_id", sa.String(32)),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_tickets"),
        sa.UniqueConstraint("open_caller", name="uq_tickets_open_caller"),
    )
    op.create_index("ix_tickets_caller_key_opened_at", "tickets", ["caller_key", "opened_at"])
    op.create_index("ix_tickets_status_opened_at", "tickets", ["status", "opened_at"])
    op.create_index("ix_tickets_opened_at", "tickets", ["opened_at"])
    for name, columns, where in _PARTIAL:
        op.create_index(name, "tickets", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))

    op.create_table(
        "ticket_calls",
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("staff", sa.String(128)),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"], name="fk_ticket_calls_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("call_id", name="pk_ticket_calls"),
    )
    op.create_index("ix_ticket_calls_ticket_id", "ticket_calls", ["ticket_id"])

    op.create_table(
        "ticket_missed_calls",
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("caller_key", sa.String(32), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=False),
        sa.Column("specialty", sa.String(64)),
        sa.PrimaryKeyConstraint("call_id", name="pk_ticket_missed_calls"),
    )
    op.create_index("ix_ticket_missed_calls_caller_key", "ticket_missed_calls", ["caller_key"])

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("field", sa.String(32)),
        sa.Column("old", sa.Text()),
        sa.Column("new", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"], name="fk_ticket_events_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_events"),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])

    op.create_table(
        "ticket_clocks",
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("clock", sa.String(16), nullable=False),
        sa.Column("service_window", sa.String(8), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("warn_at", UtcDateTime()),
        sa.Column("done_at", UtcDateTime()),
        sa.Column("minutes", sa.Float()),
        sa.Column("met", sa.Boolean()),
        sa.Column("warned_at", UtcDateTime()),
        sa.Column("breached_at", UtcDateTime()),
        sa.Column("next_due_at", UtcDateTime()),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"], name="fk_ticket_clocks_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("ticket_id", "clock", name="pk_ticket_clocks"),
    )
    op.create_index("ix_ticket_clocks_next_due_at", "ticket_clocks", ["next_due_at"])
    op.create_index("ix_ticket_clocks_overdue", "ticket_clocks", ["ticket_id"], postgresql_where=sa.text(_OVERDUE),
                    sqlite_where=sa.text(_OVERDUE))

    op.create_table(
        "ticket_counters",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_ticket_counters"),
    )

    op.create_table(
        "callers",
        sa.Column("caller_key", sa.String(32), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128)),
        sa.Column("organisation", sa.String(128)),
        sa.Column("notes", sa.Text()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("caller_key", name="pk_callers"),
    )

    op.create_table(
        "ticket_pushes",
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("remote_id", sa.String(64)),
        sa.Column("pushed_version", UtcDateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("next_attempt_at", UtcDateTime()),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"], name="fk_ticket_pushes_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_ticket_pushes"),
    )

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.Column("specialty", sa.String(64)),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128)),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("published_by", sa.String(128)),
        sa.Column("published_at", UtcDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_kb_articles"),
    )
    op.create_index("ix_kb_articles_status_specialty", "kb_articles", ["status", "specialty"])

    op.create_table(
        "kb_article_tickets",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name="fk_kb_article_tickets_article_id_kb_articles"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.ticket_id"], name="fk_kb_article_tickets_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("article_id", "ticket_id", name="pk_kb_article_tickets"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in _FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("kb_articles_au", "kb_articles_ad", "kb_articles_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS kb_fts")
    op.drop_table("kb_article_tickets")
    op.drop_index("ix_kb_articles_status_specialty", "kb_articles")
    op.drop_table("kb_articles")
    op.drop_table("ticket_pushes")
    op.drop_table("callers")
    op.drop_table("ticket_counters")
    op.drop_index("ix_ticket_clocks_overdue", "ticket_clocks")
    op.drop_index("ix_ticket_clocks_next_due_at", "ticket_clocks")
    op.drop_table("ticket_clocks")
    op.drop_index("ix_ticket_events_ticket_id", "ticket_events")
    op.drop_table("ticket_events")
    op.drop_index("ix_ticket_missed_calls_caller_key", "ticket_missed_calls")
    op.drop_table("ticket_missed_calls")
    op.drop_index("ix_ticket_calls_ticket_id", "ticket_calls")
    op.drop_table("ticket_calls")
    for name, _, _ in _PARTIAL:
        op.drop_index(name, "tickets")
    op.drop_index("ix_tickets_status_opened_at", "tickets")
    op.drop_index("ix_tickets_opened_at", "tickets")
    op.drop_index("ix_tickets_caller_key_opened_at", "tickets")
    op.drop_table("tickets")
