"""Alembic environment: runs the migrations against the URL set by tickets.storage.db.migrate."""

from alembic import context

from tickets.storage.db import create_db_engine
from tickets.storage.schema import metadata

config = context.config


def run_migrations_online() -> None:
    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
