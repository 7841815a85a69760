"""Engine configuration: SQLite pragmas, write locks, forked writers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store import Store, StoreConfigError, make_engine, upgrade_schema
from bot.store.engine import DB_FILENAME, _write_lock_of, write_transaction
from bot.store.limits import DatabaseLimits
from tests.store.helpers import new_conversation


def test_sqlite_default_file_and_pragmas(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    store = Store.from_url(None, data_dir)
    assert (data_dir / DB_FILENAME).exists()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2000  # DB_LOCK_TIMEOUT
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def test_sqlite_write_transactions_begin_immediate(tmp_path: Path) -> None:
    """A write transaction holds the write lock from BEGIN, so another connection's
    BEGIN IMMEDIATE (another process, say) cannot start until it commits."""
    import sqlite3

    store = Store.from_url(None, tmp_path)
    other = sqlite3.connect(tmp_path / DB_FILENAME, isolation_level=None, timeout=0)
    try:
        with write_transaction(store.engine) as conn:
            conn.exec_driver_sql("SELECT 1")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        with store.engine.connect() as conn:  # reads stay deferred
            conn.exec_driver_sql("SELECT 1")
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()
        store.dispose()


def test_sqlite_writers_in_forked_processes_queue_on_the_file_lock(tmp_path: Path) -> None:
    """gunicorn forks its workers after the master used the database: each worker must
    take the write lock for itself (a descriptor inherited across fork would share
    the master's lock), and a waiting writer goes once the holder lets go.

    The two processes hand over by events, not by sleeping, so a slow or busy machine
    cannot reorder them: the holder takes the lock only once the waiter has opened its
    store, and keeps it until the waiter has tried the file lock."""
    import fcntl
    import multiprocessing
    import time

    Store.from_url(None, tmp_path).dispose()  # the master, before forking
    fork = multiprocessing.get_context("fork")
    waiter_ready, holding, tried = fork.Event(), fork.Event(), fork.Event()
    released, got = fork.Value("d", 0.0), fork.Value("d", 0.0)
    excluded = fork.Value("i", 0)

    def holder() -> None:
        worker = Store.from_url(None, tmp_path)
        assert waiter_ready.wait(30)
        with write_transaction(worker.engine):
            holding.set()
            assert tried.wait(30)
            released.value = time.monotonic()
        worker.dispose()

    def waiter() -> None:
        worker = Store.from_url(None, tmp_path)
        waiter_ready.set()
        assert holding.wait(30)
        descriptor = _write_lock_of(worker.engine)._file()  # type: ignore[union-attr]
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            excluded.value = 1
        tried.set()
        with write_transaction(worker.engine):
            got.value = time.monotonic()
        worker.dispose()

    processes = [fork.Process(target=holder), fork.Process(target=waiter)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0]
    assert excluded.value == 1  # the holder's lock kept the waiter out
    assert released.value <= got.value  # ...until the holder let go


def test_unwritable_data_dir_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    target = blocker / "data"
    with pytest.raises(StoreConfigError) as info:
        Store.from_url(None, target)
    message = str(info.value)
    assert str(target) in message
    assert "DATA_DIR" in message and "DATABASE_URL" in message


def test_unwritable_sqlite_url_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreConfigError, match=str(blocker)):
        make_engine(f"sqlite:///{blocker}/sub/db.sqlite3", tmp_path)


def test_in_memory_sqlite_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreConfigError, match="in-memory"):
        make_engine("sqlite://", tmp_path)


def test_postgres_urls_use_psycopg3(tmp_path: Path) -> None:
    for url in ("postgres://u:p@db.example/app", "postgresql://u:p@db.example/app"):
        engine = make_engine(url, tmp_path)
        assert engine.url.drivername == "postgresql+psycopg"
        # A pool wait is bounded; pings before reuse are the watchdog's (bounded too).
        assert engine.pool.timeout() == DatabaseLimits().request_timeout  # type: ignore[attr-defined]
        engine.dispose()


def test_conversation_row_matches_columns() -> None:
    from dataclasses import fields

    from bot.store import ConversationRow
    from bot.store.statements import CONV_COLUMNS

    assert [c.name for c in CONV_COLUMNS] == [f.name for f in fields(ConversationRow)]


def test_store_prepares_engines_built_elsewhere(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    store = Store(engine)
    upgrade_schema(engine)
    cid = new_conversation(store)
    assert store.apply_step(cid, 1, {}).ok
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
