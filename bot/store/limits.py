"""How long the database may take: the request path's budget and PostgreSQL's own limits.

Slack wants an answer within 3 s. A database that stops answering (a network partition,
a failover that leaves old connections hanging) must cost a request at most its budget,
after which the person is told "couldn't save that" and nothing changed. The limits come
in two kinds, because each catches what the other cannot:

* client side, enforced here (`bot.store.watchdog`): a deadline per transaction, the
  request's budget on the request path and `background_timeout` for delivery and
  maintenance. Only the client can notice a server that is silent but still connected.
* server side, sent as PostgreSQL settings on every connection: `statement_timeout`,
  `lock_timeout` and `idle_in_transaction_session_timeout`, so a session whose client
  vanished mid-transaction releases its locks, and a statement queued behind such a
  lock gives up instead of waiting; TCP keepalives and `tcp_user_timeout`, so the
  kernel drops a connection whose peer is gone (a partition with no proxy in between).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DatabaseLimits:
    """Seconds, all of them. The defaults suit Slack's 3 s: the request path's work
    ends within `request_timeout` (plus one connection attempt, see `ping_timeout`)."""

    #: Budget of the database work of one request (a step, a command, /healthz).
    request_timeout: float = 2.0
    #: Budget of one transaction of work after the ack (delivery, maintenance): a hung
    #: connection is dropped after this and the work is retried on a new one.
    background_timeout: float = 30.0
    #: Opening a connection. libpq (and psycopg) round it up to whole seconds, at least 2.
    connect_timeout: float = 2.0
    #: Server side: the longest a statement may run (retention's deletes included).
    statement_timeout: float = 10.0
    #: Server side: the longest a statement waits for a row or table lock.
    lock_timeout: float = 2.0
    #: Server side: a session idle inside a transaction this long is ended, releasing
    #: its locks (its client is gone, or stalled past any deadline of ours).
    idle_in_transaction_timeout: float = 10.0
    #: Kernel: unacknowledged data older than this drops the connection (Linux).
    tcp_user_timeout: float = 10.0
    #: Kernel: probe an idle connection after this long; drop it after 3 unanswered
    #: probes this far apart (`keepalive_interval`).
    keepalive_idle: float = 10.0
    keepalive_interval: float = 3.0

    @property
    def ping_timeout(self) -> float:
        """A pooled connection must answer a ping this fast to be reused; a slower one
        is dropped and a new connection opened, so a connection hung by a failover
        costs a request this much, not its whole budget."""
        return min(0.3, self.request_timeout / 4)

    def postgres_connect_args(self, options: str = "") -> dict[str, object]:
        """psycopg connection parameters; ``options`` (e.g. a search_path) are kept."""
        settings = {
            "statement_timeout": self.statement_timeout,
            "lock_timeout": self.lock_timeout,
            "idle_in_transaction_session_timeout": self.idle_in_transaction_timeout,
        }
        server = " ".join(f"-c {name}={_ms(value)}" for name, value in settings.items())
        return {
            "connect_timeout": max(2, math.ceil(self.connect_timeout)),
            "options": f"{options} {server}".strip(),
            "keepalives": 1,
            "keepalives_idle": max(1, round(self.keepalive_idle)),
            "keepalives_interval": max(1, round(self.keepalive_interval)),
            "keepalives_count": 3,
            "tcp_user_timeout": _ms(self.tcp_user_timeout),
        }

    @property
    def sqlite_busy_timeout_ms(self) -> int:
        """SQLite waits this long for another process's write lock, like `lock_timeout`."""
        return _ms(self.lock_timeout)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
