"""The database check behind `/healthz` (bot/store/health.py): a write that commits, on
SQLite and PostgreSQL; a SQLite file removed or replaced under the app; a database that
cannot take the write; a connection opened while the file was read-only."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store import Store
from bot.store.engine import DB_FILENAME
from bot.store.health import HEALTH_KEY, DatabaseState, FileIdentity, check, sqlite_file
from bot.store.schema import seen_events
from tests.store.conftest import Database
from tests.store.helpers import FakeClock, SQLiteOpener, read_only


def health_row(store: Store) -> datetime | None:
    with store.engine.connect() as conn:
        query = sa.select(seen_events.c.seen_at).where(seen_events.c.key == HEALTH_KEY)
        return conn.execute(query).scalar_one_or_none()


def same_instant(stored: datetime | None, expected: datetime) -> bool:
    """SQLite gives the stored time back without its zone."""
    return stored is not None and stored.replace(tzinfo=None) == expected.replace(tzinfo=None)


def test_a_working_database_is_ok_and_each_check_commits_a_write(
    store: Store, clock: FakeClock
) -> None:
    assert store.health() is DatabaseState.OK
    assert same_instant(health_row(store), clock())
    later = clock.advance(seconds=30)
    assert store.health() is DatabaseState.OK
    assert same_instant(health_row(store), later)  # the same row, moved on


def test_the_sqlite_file_removed_under_the_app(tmp_path: Path, clock: FakeClock) -> None:
    store = Database("sqlite", None, tmp_path / "data").make_store(clock=clock)
    opened = sqlite_file(store.engine)
    assert opened is not None and opened.still_there()
    Path(opened.path).unlink()
    assert not opened.still_there()
    assert store.health() is DatabaseState.FILE_REPLACED
    store.dispose()


def test_the_sqlite_file_replaced_by_another(tmp_path: Path, clock: FakeClock) -> None:
    store = Database("sqlite", None, tmp_path / "data").make_store(clock=clock)
    opened = sqlite_file(store.engine)
    assert opened is not None
    copy = tmp_path / "copy.db"
    shutil.copyfile(opened.path, copy)
    copy.replace(opened.path)  # same path, another file
    assert store.health() is DatabaseState.FILE_REPLACED
    store.dispose()


@pytest.mark.parametrize("refused_at", ["write", "begin"])
def test_a_connection_opened_while_the_file_was_read_only_is_not_kept(
    tmp_path: Path, clock: FakeClock, refused_at: str
) -> None:
    """SQLite opens a file it cannot write read-only, and such a connection stays read-only
    after the file is writable again: it is replaced at its first checkout after that,
    even one that only read, so the first check then draws a connection that writes."""
    store = Database("sqlite", None, tmp_path / "data").make_store(clock=clock)
    assert store.health() is DatabaseState.OK
    path = Path(store.engine.url.database or "")
    with closing(sqlite3.connect(path)) as other:
        if refused_at == "write":
            store.engine.dispose()  # closes the file for good: nothing else has it open
        # Another connection keeps the write-ahead log in place (as the app's others do).
        other.execute("SELECT count(*) FROM seen_events").fetchall()
        if refused_at == "begin":
            # Closed while another holds the file: SQLite keeps the read-write descriptor
            # and the next connection reuses it, so only its log is read-only.
            store.engine.dispose()
        with read_only([path, path.with_name(path.name + "-wal")]):
            assert store.health() is DatabaseState.UNWRITABLE  # a new, read-only connection
            health_row(store)  # another, which only reads
        assert store.health() is DatabaseState.OK
        assert same_instant(health_row(store), clock())
    store.dispose()


@pytest.mark.parametrize("refused_at", ["write", "begin"])
def test_a_connection_refused_a_write_as_read_only_is_dropped(
    tmp_path: Path, clock: FakeClock, refused_at: str
) -> None:
    """However a connection came to be read-only (the file became writable between SQLite
    opening it and the check that flags it), the write SQLite refuses drops it."""
    Database("sqlite", None, tmp_path / "data").make_store().dispose()  # the schema
    opener = SQLiteOpener(tmp_path / "data" / DB_FILENAME, refuse_at=refused_at)
    store = Store.from_url(None, tmp_path / "data", engine_kw={"creator": opener}, clock=clock)
    opener.read_only = True
    store.engine.dispose()  # the next check opens a read-only connection
    assert store.health() is DatabaseState.UNWRITABLE
    opener.read_only = False
    assert store.health() is DatabaseState.OK
    store.dispose()


def test_a_database_without_the_schema_is_not_writable(tmp_path: Path, clock: FakeClock) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.connect():
        pass  # the file exists from the first connection
    opened = sqlite_file(engine)
    assert opened is not None
    assert check(engine, opened, clock()) is DatabaseState.UNWRITABLE
    engine.dispose()


def test_a_server_that_refuses_connections_is_not_writable(clock: FakeClock) -> None:
    engine = sa.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        connect_args={"connect_timeout": 1},
        poolclass=sa.NullPool,
    )
    assert sqlite_file(engine) is None  # no file to watch on PostgreSQL
    assert check(engine, None, clock()) is DatabaseState.UNWRITABLE


def test_a_path_that_names_nothing_has_no_identity(tmp_path: Path) -> None:
    assert FileIdentity.of(str(tmp_path / "absent.db")) is None
