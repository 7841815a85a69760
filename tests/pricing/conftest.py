"""The store's database fixtures (SQLite and PostgreSQL, a schema per test)."""

from tests.store.conftest import db, pg_admin, pg_server, pg_server_lock  # noqa: F401
