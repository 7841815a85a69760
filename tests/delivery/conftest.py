"""The store fixtures (a fresh Store on SQLite and on PostgreSQL, a fake clock): the
deliverer's tests drive real outbox rows through them."""

from tests.store.conftest import (  # noqa: F401 - shared fixtures
    clock,
    db,
    pg_admin,
    pg_server,
    pg_server_lock,
    store,
)
