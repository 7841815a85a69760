"""PostgreSQL schemas for the app's tests, kept and emptied between tests.

Each test that runs the app on PostgreSQL needs a database of its own. Creating a
schema, migrating it through every revision at the app's start and dropping it
afterwards cost about half a second a test; emptying the tables of a schema the app
already migrated costs a few milliseconds. A schema is reused only when it is exactly
as the app leaves it (at the newest revision, its tables emptied without waiting on a
lock); anything else is dropped and a new one made.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from bot.store.migrate import head
from tests.pg_server_lock import ServerLock

_TABLES = sa.text(
    "SELECT tablename FROM pg_tables WHERE schemaname = :schema AND tablename <> 'alembic_version'"
)
_SEQUENCES = sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = :schema")


class SchemaPool:
    """Schemas of one test process (each xdist worker has its own), handed out one per
    test and taken back empty."""

    def __init__(self, admin: sa.Engine, server: ServerLock) -> None:
        self._admin = admin
        self._server = server
        self._free: list[str] = []
        self._made: list[str] = []

    def take(self) -> str:
        if self._free:
            return self._free.pop()
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with self._admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        self._made.append(schema)
        return schema

    def give_back(self, schema: str) -> None:
        if self._emptied(schema):
            self._free.append(schema)
        else:
            self._drop(schema)

    def close(self) -> None:
        with self._server.shared():  # not while another worker has stopped the server
            for schema in list(self._made):
                self._drop(schema)

    def _emptied(self, schema: str) -> bool:
        """Empty ``schema``'s tables if it is at the newest revision; False when it is
        not (or has no revision table), or when a table is still locked (its rows stay
        then; the schema is dropped)."""
        try:
            with self._admin.begin() as conn:
                conn.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                revision = sa.text(f'SELECT version_num FROM "{schema}".alembic_version')
                if list(conn.execute(revision).scalars()) != [head()]:
                    return False
                # DELETE, not TRUNCATE: on tables of a few rows it is several times
                # faster (no new files); foreign keys are not checked meanwhile.
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                for table in conn.execute(_TABLES, {"schema": schema}).scalars():
                    conn.execute(sa.text(f'DELETE FROM "{schema}"."{table}"'))
                for sequence in conn.execute(_SEQUENCES, {"schema": schema}).scalars():
                    conn.execute(sa.text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))
            return True
        except sa.exc.DBAPIError:
            return False

    def _drop(self, schema: str) -> None:
        with self._admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if schema in self._made:
            self._made.remove(schema)
