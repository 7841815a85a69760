"""Deadlines on database connections: a connection still busy at its deadline is cut.

A PostgreSQL server behind a partition, or an old connection after a failover, keeps its
socket open and answers nothing; psycopg then waits forever, and neither the server's
timeouts nor the kernel's (the other end, or a proxy, still acknowledges) ever fire. So
every checked-out connection carries a deadline: the request's (`request_deadline`, set
around a Slack request and /healthz) or `background_timeout` from checkout (delivery,
maintenance). One watchdog thread shuts the socket down when a deadline passes; the
waiting call then fails at once with a disconnect error, the pool drops the connection,
and the caller reports "couldn't save that" (request) or retries later (background).

Before a pooled connection is reused it must answer a ping within `ping_timeout`
(SQLAlchemy's own `pool_pre_ping` would wait without a bound). When a deadline cut a
connection, every connection opened before it is presumed hung too and is replaced at
its next checkout without a ping, so a failover costs one request, not one per pooled
connection.

While a stall lasts, `bot.store.breaker` lets one request at a time find out whether
the database is back and tells the others "couldn't save that" at once, so a queue of
requests never waits past Slack's 3 s behind requests that each wait out their budget.

The socket is shut down through a duplicate of its descriptor, and only after checking
(by inode) that the descriptor still names the connection's socket: a closed
connection's number may already belong to someone else.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from bot.store.breaker import Breaker
from bot.store.errors import StoreError
from bot.store.limits import DatabaseLimits

log = logging.getLogger(__name__)


class _Scope:
    """A block of database work with one deadline: a request, or start-up's migrations."""

    __slots__ = ("deadline", "on_exit")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.on_exit: list[Callable[[], None]] = []

    @property
    def request(self) -> bool:
        return self.deadline != math.inf


_scope: ContextVar[_Scope | None] = ContextVar("database_scope", default=None)


class DeadlineExceeded(StoreError):
    """The request's database budget ran out before a connection could be used, or
    the database is stalled and another request is finding out whether it is back."""


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Database work inside this block ends within ``seconds`` (from now), or fails as
    unavailable. Nested blocks keep the outer, earlier deadline."""
    if _scope.get() is not None:
        yield
        return
    with _scoped(time.monotonic() + seconds):
        yield


@contextmanager
def unbounded() -> Iterator[None]:
    """Database work inside this block has no client-side deadline: schema migrations
    at start-up, which may rightly take long and are on no request's path."""
    with _scoped(math.inf):
        yield


@contextmanager
def _scoped(deadline: float) -> Iterator[None]:
    scope = _Scope(deadline)
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)
        for action in scope.on_exit:
            action()


def remaining() -> float | None:
    """Seconds left of the current request's budget (None outside a request)."""
    scope = _scope.get()
    return None if scope is None else scope.deadline - time.monotonic()


class _Watchdog:
    """One thread for the process: shuts down sockets whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, int, int, _Engine]] = {}
        self._wakes_at = float("inf")
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def arm(self, key: int, deadline: float, fd: int, inode: int, owner: _Engine) -> None:
        with self._cond:
            if self._thread is None or self._pid != os.getpid():
                self._start()
            self._armed[key] = (deadline, fd, inode, owner)
            if deadline < self._wakes_at:
                self._cond.notify()

    def disarm(self, key: int) -> bool:
        """Take ``key``'s deadline off; False when it had none left (it already passed
        and its socket may have been shut down)."""
        with self._cond:
            return self._armed.pop(key, None) is not None

    def _start(self) -> None:
        self._pid = os.getpid()
        self._armed.clear()  # a forked child has none of its parent's connections
        self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key, (deadline, fd, inode, owner) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[key]
                        if _shut_down(fd, inode):
                            owner.stalled(now)
                self._wakes_at = min((d for d, *_ in self._armed.values()), default=now + 60)
                self._cond.wait(max(0.001, self._wakes_at - now))


def _shut_down(fd: int, inode: int) -> bool:
    """Shut down the socket ``fd`` names if it is still the one with ``inode``."""
    try:
        copy = os.dup(fd)
    except OSError:
        return False
    try:
        if os.fstat(copy).st_ino != inode:
            return False
        with socket.socket(fileno=copy) as sock:
            copy = -1  # the socket object closes it
            sock.shutdown(socket.SHUT_RDWR)
        return True
    except OSError:
        return False
    finally:
        if copy >= 0:
            os.close(copy)


_WATCHDOG = _Watchdog()


class _Engine:
    """The deadline policy of one engine's pool."""

    def __init__(self, engine: sa.Engine, limits: DatabaseLimits) -> None:
        self.limits = limits
        self.dialect = engine.dialect
        self.breaker = Breaker()
        self._stalled_at = 0.0
        self._warned_at = -1e9

    def stalled(self, now: float) -> None:
        """A deadline cut a connection: distrust every connection opened before now."""
        self._stalled_at = now
        self.breaker.trouble()
        if now - self._warned_at >= 10:
            self._warned_at = now
            log.warning(
                "database: a connection was still busy at its deadline and was dropped; "
                "the database or the network to it is stalled (DB_REQUEST_TIMEOUT, "
                "DB_BACKGROUND_TIMEOUT)"
            )

    def _admit(self, scope: _Scope | None) -> None:
        """In a request while the database is in trouble: go on only as the probe."""
        if scope is None or not scope.request or not self.breaker.in_trouble:
            return
        if not self.breaker.admit(scope):
            raise DeadlineExceeded("the database is stalled; another request is checking")
        scope.on_exit.append(lambda: self.breaker.done(scope))

    # -- pool events ---------------------------------------------------------------------

    def do_connect(self, dialect: sa.Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        self._admit(_scope.get())
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.Error:
            self.breaker.trouble()
            raise

    def on_connect(self, dbapi_conn: Any, record: Any) -> None:
        fd = dbapi_conn.pgconn.socket
        record.info["llm_cost_bot_socket"] = (fd, os.fstat(fd).st_ino)
        record.info["llm_cost_bot_opened"] = time.monotonic()
        record.info["llm_cost_bot_fresh"] = True

    def on_checkout(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        now = time.monotonic()
        scope = _scope.get()
        if scope is None:
            deadline = now + self.limits.background_timeout
        elif scope.deadline <= now:
            raise DeadlineExceeded("the request's time for the database ran out")
        else:
            deadline = scope.deadline
        info = record.info
        if info.pop("llm_cost_bot_fresh", False):
            self.breaker.fine()
            self._arm(record, deadline)
            return
        self._admit(scope)
        if info.get("llm_cost_bot_opened", 0.0) <= self._stalled_at:
            raise sa.exc.DisconnectionError("opened before the database stalled")
        self._arm(record, min(deadline, now + self.limits.ping_timeout))
        try:
            self.dialect.do_ping(dbapi_conn)
        except self.dialect.loaded_dbapi.Error as exc:
            _WATCHDOG.disarm(id(record))
            raise sa.exc.DisconnectionError("no answer to a ping") from exc
        if not _WATCHDOG.disarm(id(record)):
            # The ping's deadline passed just as it answered: the watchdog may have
            # shut the socket down already, so the pool takes another connection.
            raise sa.exc.DisconnectionError("the ping answered at its deadline")
        self.breaker.fine()
        self._arm(record, deadline)

    def off(self, _dbapi_conn: Any, record: Any, *_: Any) -> None:
        _WATCHDOG.disarm(id(record))

    def _arm(self, record: Any, deadline: float) -> None:
        if deadline == math.inf:
            _WATCHDOG.disarm(id(record))
            return
        fd, inode = record.info["llm_cost_bot_socket"]
        _WATCHDOG.arm(id(record), deadline, fd, inode, self)


def install(engine: sa.Engine, limits: DatabaseLimits) -> None:
    """Put the deadlines on ``engine``'s PostgreSQL connections (see the module doc)."""
    policy = _Engine(engine, limits)
    event.listen(engine, "do_connect", policy.do_connect)
    event.listen(engine, "connect", policy.on_connect)
    event.listen(engine, "checkout", policy.on_checkout)
    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(engine, name, policy.off)
