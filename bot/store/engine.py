"""Engine construction: SQLite (embedded default, WAL) or PostgreSQL (psycopg 3).

SQLite concurrency: Python's ``sqlite3`` driver is switched out of its legacy
transaction handling (``isolation_level = None``) and SQLAlchemy emits ``BEGIN``
itself in a ``begin`` event. Write transactions (opened through
:func:`write_transaction`) use ``BEGIN IMMEDIATE`` so the write lock is taken up
front: racing writers, in threads or processes, wait on ``busy_timeout`` and are
serialized instead of failing with "database is locked" when a read transaction
tries to upgrade. Within one process, writers also queue on a plain lock so they
do not spin in SQLite's busy handler.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.store.errors import StoreConfigError, StoreError

DB_FILENAME = "llm-cost-bot.sqlite3"
SQLITE_BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "llm_cost_bot_write"
"""Execution option that marks a connection's transaction as a write (BEGIN IMMEDIATE)."""

_locks_guard = threading.Lock()
_sqlite_write_locks: dict[str, threading.Lock] = {}


def make_engine(url: str | None, data_dir: Path, **engine_kw: Any) -> sa.Engine:
    """Build the engine for ``url`` or, when it is empty, ``<data_dir>/llm-cost-bot.sqlite3``.

    Extra keyword arguments go to :func:`sqlalchemy.create_engine`. Raises
    :class:`StoreConfigError` when the SQLite file cannot be created or written.
    """
    # Parameters hold user text: keep them out of exception messages and logs.
    engine_kw = {"hide_parameters": True, **engine_kw}
    if not url:
        return _sqlite_engine(Path(data_dir) / DB_FILENAME, engine_kw)
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise StoreConfigError(
                f"DATABASE_URL {url!r} names an in-memory SQLite database, which cannot be "
                "shared between threads or processes; give a file path "
                "(sqlite:///path/to/file.sqlite3) or unset DATABASE_URL to use DATA_DIR"
            )
        return _sqlite_engine(Path(database), engine_kw)
    if parsed.get_backend_name() == "postgresql":
        kw: dict[str, Any] = {
            "pool_pre_ping": True,
            "pool_size": 5,
            "max_overflow": 10,
            "pool_recycle": 1800,
        }
        kw.update(engine_kw)
        # A database that is down must fail fast ("try again"), not hang a request.
        kw["connect_args"] = {"connect_timeout": 5, **engine_kw.get("connect_args", {})}
        return sa.create_engine(parsed, **kw)
    return sa.create_engine(parsed, **engine_kw)


def is_sqlite(engine: sa.Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a write transaction (``BEGIN IMMEDIATE`` on SQLite); commit on success.

    Do not nest write transactions on the same SQLite database in one thread.
    """
    lock = _write_lock_of(engine)
    if lock is not None and not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000 * 6):
        raise StoreError("timed out waiting for the SQLite write lock held by another thread")
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn
    finally:
        if lock is not None:
            lock.release()


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` (Heroku style) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_engine(path: Path, engine_kw: dict[str, Any]) -> sa.Engine:
    path = path.expanduser().absolute()
    _check_writable(path)
    engine = sa.create_engine(f"sqlite:///{path}", **engine_kw)
    prepare_sqlite(engine)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").all()
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreConfigError(_unwritable(path, exc.orig or exc)) from exc
    return engine


def _lock_key(engine: sa.Engine) -> str:
    return str(Path(engine.url.database or "").absolute())


_engine_locks: weakref.WeakKeyDictionary[sa.Engine, threading.Lock | None] = (
    weakref.WeakKeyDictionary()
)


def _write_lock_of(engine: sa.Engine) -> threading.Lock | None:
    """The process-wide write lock of an SQLite database file (None for other databases);
    looked up once per engine, as it sits on every write's path."""
    try:
        return _engine_locks[engine]
    except KeyError:
        lock = _sqlite_write_locks.get(_lock_key(engine)) if is_sqlite(engine) else None
        _engine_locks[engine] = lock
        return lock


def _check_writable(path: Path) -> None:
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreConfigError(_unwritable(directory, exc)) from exc
    target = path if path.exists() else directory
    if not os.access(target, os.W_OK):
        raise StoreConfigError(_unwritable(target, PermissionError("not writable")))


def _unwritable(path: Path, exc: BaseException) -> str:
    return (
        f"cannot use {path} for the SQLite database ({exc}); make that directory writable, "
        "or set DATA_DIR to a writable directory, or set DATABASE_URL to a PostgreSQL database"
    )


def prepare_sqlite(engine: sa.Engine) -> None:
    """Install the SQLite connection settings and BEGIN handling on ``engine`` (idempotent).

    :func:`make_engine` does this; the Store also calls it for engines built elsewhere.
    """
    if engine.dialect.name != "sqlite" or event.contains(engine, "begin", _on_begin):
        return
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    if engine.url.database not in (None, "", ":memory:"):
        engine.dispose()  # connections opened before now lack the settings
    with _locks_guard:
        _sqlite_write_locks.setdefault(_lock_key(engine), threading.Lock())


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module; _on_begin emits it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_begin(conn: sa.Connection) -> None:
    # Straight to the driver: this runs before every transaction, and SQLAlchemy's
    # statement machinery would cost more than the statement itself.
    write = conn.get_execution_options().get(WRITE_OPTION)
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
