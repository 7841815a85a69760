"""Schema migrations (Alembic): `python -m bot db upgrade`, and every start-up.

Revisions live in `bot/store/migrations/versions`; the first is the schema as it
stood when migrations began. A database made before that (its tables and a
`schema_version` row, no `alembic_version`) is recognised and stamped with the first
revision, then upgraded like any other. Several processes may upgrade at once: on
SQLite the write transaction (BEGIN IMMEDIATE) serialises them, on PostgreSQL a
transaction-scoped advisory lock does; all DDL runs in that one transaction.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from bot.store.engine import write_transaction
from bot.store.errors import StoreConfigError
from bot.store.watchdog import unbounded

FIRST = "0001"


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "bot.store:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The newest revision this code knows (the scripts do not change under a process)."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def current(engine: sa.Engine) -> str | None:
    """The database's revision (None: not under migrations yet)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> str:
    """Take the database to the newest revision; returns it."""
    # DDL may take long and wait for another process's upgrade: no deadline, no
    # statement or lock timeout (bot.store.limits) for this transaction.
    with unbounded(), write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            conn.execute(sa.text("SET LOCAL lock_timeout = 0"))
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('llm-cost-bot schema'))"))
        at = MigrationContext.configure(conn).get_current_revision()
        if at == head():  # up to date: no need to load Alembic's environment and scripts
            return at
        if at is None and sa.inspect(conn).has_table("schema_version"):
            command.stamp(_config(conn), FIRST)  # made before migrations: that is 0001
        try:
            command.upgrade(_config(conn), "head")
        except CommandError as exc:
            raise StoreConfigError(
                f"the database schema is at revision {at}, which this code does not know "
                f"(its newest is {head()}); upgrade llm-cost-bot or point DATABASE_URL at "
                f"another database ({exc})"
            ) from None
    return head()
