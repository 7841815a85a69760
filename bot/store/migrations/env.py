"""Alembic's environment: migrations run on the connection `bot.store.migrate` hands in
(inside its transaction and lock), never on a URL of their own."""

from alembic import context

from bot.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE, SQLite's way
)
with context.begin_transaction():
    context.run_migrations()
