"""Alembic environment: runs on the connection handed over by `hotline.store.base.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from hotline.store import models  # noqa: F401  (registers every table)
from hotline.store.base import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("alembic needs a connection or sqlalchemy.url")
        engine = create_engine(url)
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
