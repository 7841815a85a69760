"""Database time limits: what PostgreSQL is told per connection, and the client-side
deadlines that cut a connection the server (or the network) leaves hanging."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from bot.store.breaker import Breaker
from bot.store.engine import make_engine, write_transaction
from bot.store.errors import UNAVAILABLE, StoreError
from bot.store.limits import DatabaseLimits
from bot.store.watchdog import _WATCHDOG, remaining, request_deadline, unbounded
from tests.slack.tcp_proxy import TcpProxy

#: Slack's limit on an answer: the request path's database work must end well within it.
SLACK_LIMIT = 3.0


@pytest.fixture
def pg(pg_admin: tuple[str, sa.Engine]) -> str:
    return pg_admin[0]


def engine_for(url: str, tmp_path: Path, **limits: float) -> sa.Engine:
    return make_engine(url, tmp_path, DatabaseLimits(**limits))


@pytest.mark.postgres
def test_every_connection_carries_the_server_limits_and_keeps_its_options(
    pg: str, tmp_path: Path
) -> None:
    url = pg + ("&" if "?" in pg else "?") + "options=-csearch_path%3Dpublic"
    engine = engine_for(url, tmp_path, statement_timeout=7, lock_timeout=1.5)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),"
                    " current_setting('idle_in_transaction_session_timeout'),"
                    " current_setting('search_path')"
                )
            ).one()
        assert tuple(found) == ("7s", "1500ms", "10s", "public")
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_statement_past_the_request_deadline_is_cut(pg: str, tmp_path: Path) -> None:
    """The server is slow (pg_sleep); the client cuts its connection at the request's
    deadline, and the next request gets a working connection."""
    engine = engine_for(pg, tmp_path)
    try:
        began = time.monotonic()
        with pytest.raises(UNAVAILABLE), request_deadline(0.5), engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(5)"))
        assert time.monotonic() - began < SLACK_LIMIT
        with request_deadline(2.0), engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_work_after_the_ack_is_cut_at_its_own_deadline(pg: str, tmp_path: Path) -> None:
    engine = engine_for(pg, tmp_path, background_timeout=0.5)
    try:
        assert remaining() is None  # no request here
        with pytest.raises(UNAVAILABLE), engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(5)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_schema_upgrades_run_without_deadlines(pg: str, tmp_path: Path) -> None:
    """Start-up's migrations may rightly take longer than any deadline."""
    engine = engine_for(pg, tmp_path, background_timeout=0.2)
    try:
        with unbounded(), engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_sleep(0.5)")).all()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_statement_timeout_is_enforced_by_the_server(pg: str, tmp_path: Path) -> None:
    engine = engine_for(pg, tmp_path, statement_timeout=0.2)
    try:
        with (
            pytest.raises(sa.exc.OperationalError, match="statement timeout"),
            engine.connect() as conn,
        ):
            conn.execute(sa.text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()


@pytest.fixture
def proxy(pg: str) -> Iterator[TcpProxy]:
    parts = urlsplit(pg)
    forwarder = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    yield forwarder
    forwarder.close()


@pytest.mark.postgres
def test_after_a_failover_pooled_connections_are_replaced(
    pg: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    """Every pooled connection hangs after the failover: the first request's ping is cut
    and it goes on with a new connection; the next requests replace the other hung
    ones at checkout."""
    parts = urlsplit(pg)
    url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    engine = engine_for(url, tmp_path)
    try:
        held = [engine.connect() for _ in range(3)]  # three connections into the pool
        for conn in held:
            conn.execute(sa.text("SELECT 1"))
            conn.close()
        proxy.failover()
        for _ in range(3):
            began = time.monotonic()
            with request_deadline(2.0), engine.connect() as conn:
                assert conn.execute(sa.text("SELECT 1")).scalar() == 1
            assert time.monotonic() - began < SLACK_LIMIT
        assert proxy.connections() == 3  # each hung connection was replaced by a new one
    finally:
        engine.dispose()


def test_sqlite_writers_wait_for_the_lock_no_longer_than_the_request(tmp_path: Path) -> None:
    """Another thread holds SQLite's write lock: a request's write gives up within its
    budget (told to try again), where work after the ack would wait longer."""
    engine = make_engine(None, tmp_path, DatabaseLimits(lock_timeout=1))
    inside, leave = threading.Event(), threading.Event()

    def holder() -> None:
        with write_transaction(engine):
            inside.set()
            leave.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert inside.wait(30)
        began = time.monotonic()
        with pytest.raises(StoreError), request_deadline(0.2), write_transaction(engine):
            pass
        assert time.monotonic() - began < SLACK_LIMIT
    finally:
        leave.set()
        thread.join()
        engine.dispose()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1000


def test_a_request_waits_for_another_process_s_write_no_longer_than_its_budget(
    tmp_path: Path,
) -> None:
    """Another process (a long `retention` run, say) holds the SQLite write lock: a
    request's write gives up within its budget; work after the ack would wait for it."""
    import multiprocessing

    make_engine(None, tmp_path).dispose()  # the file, before forking
    fork = multiprocessing.get_context("fork")
    holding, done = fork.Event(), fork.Event()

    def holder() -> None:
        engine = make_engine(None, tmp_path)
        with write_transaction(engine):
            holding.set()
            done.wait(30)
        engine.dispose()

    process = fork.Process(target=holder)
    process.start()
    engine = make_engine(None, tmp_path)
    try:
        assert holding.wait(30)
        began = time.monotonic()
        with pytest.raises(StoreError), request_deadline(0.3), write_transaction(engine):
            pass
        assert time.monotonic() - began < SLACK_LIMIT
    finally:
        done.set()
        process.join(30)
    with write_transaction(engine):  # the holder let go: the lock is free again
        pass
    engine.dispose()
    assert process.exitcode == 0


def test_in_trouble_one_request_at_a_time_checks_the_database() -> None:
    breaker = Breaker(clock=lambda: 0.0)  # probes take no time: no pause after one
    first, second = object(), object()
    assert breaker.admit(first) and breaker.admit(second)  # all is well: everyone
    breaker.trouble()
    assert breaker.admit(first)  # the probe
    assert breaker.admit(first)  # ... again, for its next connection
    assert not breaker.admit(second)  # told at once
    breaker.done(second)  # not the probe: changes nothing
    assert not breaker.admit(second)
    breaker.done(first)  # the probe failed and ended: the next request checks
    assert breaker.admit(second)
    breaker.fine()  # a connection worked
    assert breaker.admit(first)


def test_after_a_failed_probe_the_next_waits_as_long_as_it_took() -> None:
    """A probe that waited out a silent server's connect timeout is not followed at once
    by another: requests that queued behind it are told at once instead of each waiting
    that long in turn."""
    now = [100.0]
    breaker = Breaker(clock=lambda: now[0])
    first, second, third = object(), object(), object()
    breaker.trouble()
    assert breaker.admit(first)
    now[0] += 2.0  # its connection attempt timed out
    breaker.done(first)
    assert not breaker.admit(second)  # queued behind it: told at once
    now[0] += 1.9
    assert not breaker.admit(second)
    now[0] += 0.1
    assert breaker.admit(second)  # the pause is over: the next probe
    breaker.done(second)  # failed at once (a refused connection): no pause
    assert breaker.admit(third)
    breaker.fine()
    breaker.done(third)
    assert breaker.admit(first) and breaker.admit(second)  # all is well: everyone


def test_taking_a_deadline_off_says_whether_the_watchdog_got_there_first() -> None:
    """A checkout pings under a short deadline, then takes it off: False means the
    watchdog had already shut the socket down, so the connection must not be used."""
    engine = SimpleNamespace(stalled=lambda now: None)  # the watchdog's owner
    ours, peer = socket.socketpair()
    with ours, peer:
        inode = os.fstat(ours.fileno()).st_ino
        _WATCHDOG.arm(1, time.monotonic() + 3600, ours.fileno(), inode, engine)
        assert _WATCHDOG.disarm(1)  # still armed: the ping answered in time
        _WATCHDOG.arm(2, time.monotonic(), ours.fileno(), inode, engine)  # due at once
        assert peer.recv(1) == b""  # the watchdog shut our end down
        assert not _WATCHDOG.disarm(2)
