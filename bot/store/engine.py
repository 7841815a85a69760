"""Engine construction: SQLite (embedded default, WAL) or PostgreSQL (psycopg 3).

SQLite concurrency: Python's ``sqlite3`` driver is switched out of its legacy
transaction handling (``isolation_level = None``) and SQLAlchemy emits ``BEGIN``
itself in a ``begin`` event. Write transactions (opened through
:func:`write_transaction`) use ``BEGIN IMMEDIATE`` so the write lock is taken up
front: racing writers, in threads or processes, wait on ``busy_timeout`` and are
serialized instead of failing with "database is locked" when a read transaction
tries to upgrade. Writers also queue on a lock (a plain one between threads,
``flock`` between processes) so they do not sleep in SQLite's busy handler.

Hot statements skip SQLAlchemy's Connection: :func:`driver_transaction` runs them
on a pooled DBAPI connection (see :mod:`bot.store.driver`).

A SQLite connection opened while the file or its write-ahead log cannot be written is
read-only for good (SQLite falls back to opening them read-only and never reopens). So
a connection opened while they were not writable is replaced at its first checkout
after they are again, and one whose write SQLite refuses as read-only is dropped from
the pool, not given back (on both paths).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.store import watchdog
from bot.store.driver import as_sqlalchemy_error
from bot.store.errors import StoreConfigError, StoreError
from bot.store.limits import DatabaseLimits

DB_FILENAME = "llm-cost-bot.sqlite3"
#: Writers in other threads queue this many SQLite busy timeouts at most (outside a
#: request, whose own deadline is shorter).
WRITE_LOCK_WAITS = 6
WRITE_OPTION = "llm_cost_bot_write"
"""Execution option that marks a connection's transaction as a write (BEGIN IMMEDIATE)."""

#: SQLite's result code for a write refused by a read-only connection (its extended
#: variants, such as a moved file's, mean something else and are left alone).
SQLITE_READONLY = 8
#: Connection-record flag: opened while the SQLite files were not writable.
OPENED_UNWRITABLE = "llm_cost_bot_opened_unwritable"

_locks_guard = threading.Lock()
_busy_timeout_ms: weakref.WeakKeyDictionary[sa.Engine, int] = weakref.WeakKeyDictionary()


class _WriteLock:
    """Serializes SQLite writers: threads on a plain lock, processes on ``flock`` of a
    file beside the database. Both wake the next writer as soon as the lock is free,
    where SQLite's own busy handler would sleep and poll (up to 100 ms a turn). The
    kernel drops a process's file lock when it dies; it is held for the length of a
    write transaction (a retention run's may be long), so within a request the wait
    for it is bounded by the request's budget."""

    def __init__(self, path: str) -> None:
        self._path = path + "-writelock"
        self._fd: int | None = None
        self._after_fork()

    def _after_fork(self) -> None:
        # A child process gets neither the parent's lock state (another thread of the
        # parent may have held it) nor its descriptor (which would share its lock).
        self._thread_lock = threading.Lock()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # the child's copy only: the parent keeps its lock
        self._fd = None

    def acquire(self, timeout: float, bounded: bool = False) -> bool:
        """Take both locks within ``timeout``; the file lock's wait is bounded by it only
        when ``bounded`` (a request), else it waits for the holder to finish."""
        deadline = time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=timeout):
            return False
        try:
            fd = self._file()
        except OSError:  # without file locks SQLite's busy handler still serializes
            return True
        if not bounded:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
            return True
        pause = 0.001
        while True:  # flock has no timeout: poll, from 1 ms up to 20 ms a turn
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() + pause > deadline:
                    self._thread_lock.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
            except OSError:
                return True

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd


_sqlite_write_locks: dict[str, _WriteLock] = {}


def _reset_write_locks_in_child() -> None:
    for lock in _sqlite_write_locks.values():
        lock._after_fork()


os.register_at_fork(after_in_child=_reset_write_locks_in_child)


def make_engine(
    url: str | None, data_dir: Path, limits: DatabaseLimits | None = None, **engine_kw: Any
) -> sa.Engine:
    """Build the engine for ``url`` or, when it is empty, ``<data_dir>/llm-cost-bot.sqlite3``,
    with the time ``limits`` (`bot.store.limits`) on its connections.

    Extra keyword arguments go to :func:`sqlalchemy.create_engine`. Raises
    :class:`StoreConfigError` when the SQLite file cannot be created or written.
    """
    limits = limits or DatabaseLimits()
    # Parameters hold user text: keep them out of exception messages and logs.
    engine_kw = {"hide_parameters": True, **engine_kw}
    if not url:
        return _sqlite_engine(Path(data_dir) / DB_FILENAME, engine_kw, limits)
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
        return _sqlite_engine(Path(database), engine_kw, limits)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed, engine_kw, limits)
    return sa.create_engine(parsed, **engine_kw)


def _postgres_engine(url: sa.URL, engine_kw: dict[str, Any], limits: DatabaseLimits) -> sa.Engine:
    """PostgreSQL with every wait bounded: the pool's (``pool_timeout``), the connect's,
    and each checked-out connection's (`bot.store.watchdog`, which also pings a pooled
    connection before reuse, with a bound that SQLAlchemy's ``pool_pre_ping`` lacks)."""
    kw: dict[str, Any] = {
        "pool_size": 5,
        "max_overflow": 10,
        "pool_recycle": 1800,
        "pool_timeout": limits.request_timeout,
    }
    kw.update(engine_kw)
    given = dict(engine_kw.get("connect_args", {}))
    # Server settings travel in `options`; keep a caller's or the URL's (a search_path).
    options = str(given.pop("options", None) or url.query.get("options") or "")
    kw["connect_args"] = {**limits.postgres_connect_args(options), **given}
    guarded = url.get_driver_name() == "psycopg"  # the watchdog reads psycopg's socket
    if not guarded:
        kw.setdefault("pool_pre_ping", True)  # another driver: unbounded, but checked
    engine = sa.create_engine(url.difference_update_query(["options"]), **kw)
    if guarded:
        watchdog.install(engine, limits)
    return engine


def is_sqlite(engine: sa.Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a write transaction (``BEGIN IMMEDIATE`` on SQLite); commit on success.

    Do not nest write transactions on the same SQLite database in one thread.
    """
    with _write_locked(engine), engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextmanager
def _write_locked(engine: sa.Engine) -> Iterator[None]:
    """Hold the SQLite database's write lock (nothing for other databases)."""
    lock = _write_lock_of(engine)
    if lock is None:
        yield
        return
    wait = _busy_timeout_ms.get(engine, DatabaseLimits().sqlite_busy_timeout_ms) / 1000
    wait *= WRITE_LOCK_WAITS
    left = watchdog.remaining()
    bounded = left is not None and left != math.inf
    if left is not None and bounded:
        wait = max(0.0, min(wait, left))  # the request's budget
    if not lock.acquire(timeout=wait, bounded=bounded):
        raise StoreError(
            "timed out waiting for the SQLite write lock held by another thread or process"
        )
    try:
        yield
    finally:
        lock.release()


@contextmanager
def driver_transaction(engine: sa.Engine, *, write: bool = True) -> Iterator[Any]:
    """A transaction on a pooled DBAPI connection, for statements run on the driver
    (:mod:`bot.store.driver`): ``BEGIN IMMEDIATE`` under the write lock on SQLite for
    writes; commit on success, roll back on error. Driver errors come out as
    ``sqlalchemy.exc.DBAPIError``; a connection the error shows to be dead is dropped
    from the pool. Reads without ``write`` run each statement on its own."""
    dialect = engine.dialect
    with _write_locked(engine) if write else contextlib.nullcontext():
        try:
            fairy = engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:
            raise as_sqlalchemy_error(exc, dialect) from exc
        driver = fairy.driver_connection
        try:
            if write and dialect.name == "sqlite":
                driver.execute("BEGIN IMMEDIATE")
            yield driver
            if write:
                fairy.commit()
        except BaseException as exc:
            _give_back(fairy, dialect, exc)
            if isinstance(exc, dialect.loaded_dbapi.Error):
                raise as_sqlalchemy_error(exc, dialect) from exc
            raise
        finally:
            fairy.close()


def _give_back(fairy: Any, dialect: sa.Dialect, exc: BaseException) -> None:
    """After an error: roll back, or drop a connection that is gone or read-only."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, dialect.loaded_dbapi.Error) and (
        _read_only_connection(original)
        or dialect.is_disconnect(original, fairy.driver_connection, None)
    ):
        fairy.invalidate(original)
        return
    try:
        fairy.rollback()
    except dialect.loaded_dbapi.Error as rollback_error:
        fairy.invalidate(rollback_error)


def _read_only_connection(error: BaseException) -> bool:
    """SQLite refused a write because this connection has the database or its log open
    read-only; it stays so after the files are writable again."""
    return getattr(error, "sqlite_errorcode", None) == SQLITE_READONLY


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` (Heroku style) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_engine(path: Path, engine_kw: dict[str, Any], limits: DatabaseLimits) -> sa.Engine:
    path = path.expanduser().absolute()
    _check_writable(path)
    engine = sa.create_engine(f"sqlite:///{path}", **engine_kw)
    prepare_sqlite(engine, limits)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").all()
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreConfigError(_unwritable(path, exc.orig or exc)) from exc
    return engine


def _lock_key(engine: sa.Engine) -> str:
    return str(Path(engine.url.database or "").absolute())


_engine_locks: weakref.WeakKeyDictionary[sa.Engine, _WriteLock | None] = weakref.WeakKeyDictionary()


def _write_lock_of(engine: sa.Engine) -> _WriteLock | None:
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


def prepare_sqlite(engine: sa.Engine, limits: DatabaseLimits | None = None) -> None:
    """Install the SQLite connection settings and BEGIN handling on ``engine`` (idempotent).

    :func:`make_engine` does this; the Store also calls it for engines built elsewhere.
    """
    if engine.dialect.name != "sqlite" or event.contains(engine, "begin", _on_begin):
        return
    busy_ms = (limits or DatabaseLimits()).sqlite_busy_timeout_ms
    _busy_timeout_ms[engine] = busy_ms

    files = _sqlite_files(engine)

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        _on_connect(dbapi_connection, busy_ms)
        if not _writable(files):  # SQLite has opened them read-only
            record.info[OPENED_UNWRITABLE] = True

    def on_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get(OPENED_UNWRITABLE) and _writable(files):
            raise sa.exc.DisconnectionError("opened while the SQLite files were read-only")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "handle_error", _on_error)
    if engine.url.database not in (None, "", ":memory:"):
        engine.dispose()  # connections opened before now lack the settings
    with _locks_guard:
        key = _lock_key(engine)
        _sqlite_write_locks.setdefault(key, _WriteLock(key))


def _sqlite_files(engine: sa.Engine) -> tuple[str, ...]:
    """The database file and its write-ahead log (none for an in-memory database)."""
    if engine.url.database in (None, "", ":memory:"):
        return ()
    path = _lock_key(engine)
    return (path, path + "-wal")


def _writable(files: tuple[str, ...]) -> bool:
    """Each file that exists can be written (by this process, root included: an immutable
    file or a read-only mount is refused)."""
    return all(os.access(f, os.W_OK) or not os.path.exists(f) for f in files)


def _on_connect(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    # Take BEGIN away from the sqlite3 module; _on_begin emits it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_begin(conn: sa.Connection) -> None:
    # Straight to the driver: this runs before every transaction, and SQLAlchemy's
    # statement machinery would cost more than the statement itself. So its errors are
    # turned into SQLAlchemy's here, and a read-only connection dropped here.
    statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
    try:
        conn.connection.driver_connection.execute(statement)
    except conn.dialect.loaded_dbapi.Error as exc:
        if _read_only_connection(exc):
            conn.invalidate(exc)
        raise as_sqlalchemy_error(exc, conn.dialect, statement) from exc


def _on_error(context: sa.engine.ExceptionContext) -> None:
    # A statement's or commit's error through SQLAlchemy: drop a read-only connection
    # (this one only; the others are not read-only for that).
    if _read_only_connection(context.original_exception):
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False
