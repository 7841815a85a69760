"""Test doubles: a settable clock and a scripted, recording Sender; SQLite files made
read-only, and SQLite connections opened read-only."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.delivery import Delivered, PermanentFailure
from bot.store import OutboxMessage, OutboxRow, Store
from bot.store.models import split_meta

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float = 0, **kw: float) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=seconds, **kw)
            return self.now


@dataclass
class Sent:
    row_id: int
    conversation_id: str
    seq: int
    kind: str
    payload: dict[str, Any]
    ts: str | None


@dataclass
class FakeSender:
    """Records every send; ``script[(conversation_id, seq)]`` lists exceptions to raise
    (consumed one per attempt) before the send succeeds; ``behaviour`` can override."""

    script: dict[tuple[str, int], list[BaseException]] = field(default_factory=dict)
    failure_messages: Sequence[OutboxMessage] = ()
    behaviour: Callable[[OutboxRow, dict[str, Any]], str | Delivered | None] | None = None
    sent: list[Sent] = field(default_factory=list)
    attempts: list[tuple[str, int]] = field(default_factory=list)
    failures: list[tuple[OutboxRow, str]] = field(default_factory=list)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, row: OutboxRow, payload: dict[str, Any]) -> str | Delivered | None:
        with self._lock:
            self.attempts.append((row.conversation_id, row.seq))
            pending = self.script.get((row.conversation_id, row.seq))
            if pending:
                raise pending.pop(0)
        ts = self.behaviour(row, payload) if self.behaviour else None
        with self._lock:
            if self.behaviour is None:
                self._counter += 1
                ts = f"1700000000.{self._counter:06d}"
            self.sent.append(Sent(row.id, row.conversation_id, row.seq, row.kind, payload, ts))
        return ts

    def on_failure(self, row: OutboxRow, failure: PermanentFailure) -> Sequence[OutboxMessage]:
        with self._lock:
            self.failures.append((row, failure.error))
        return self.failure_messages

    def seqs(self, conversation_id: str) -> list[int]:
        return [s.seq for s in self.sent if s.conversation_id == conversation_id]


def new_conversation(store: Store, messages: Sequence[OutboxMessage] = (), **kw: Any) -> str:
    """Create an active conversation with defaults; returns its id."""
    fields: dict[str, Any] = {
        "team": "T1",
        "channel": "C1",
        "user": "U1",
        "flow_name": "llm_cost",
        "flow_hash": "abc123",
        "record": {"state": "start"},
    }
    fields.update(kw)
    return store.create_conversation(outbox=messages, **fields).id


def outbox_row(**fields: Any) -> OutboxRow:
    """An OutboxRow as the store would return it (pending, claimed now), for tests of
    what reads rows without a database; ``fields`` override the defaults (payload keys
    with a leading "_" become ``meta``, as `OutboxMessage` makes them)."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": 1,
        "conversation_id": "c0ffee",
        "seq": 1,
        "kind": "post",
        "ref": None,
        "sets_thread": False,
        "payload": {},
        "status": "pending",
        "attempts": 1,
        "next_attempt_at": now,
        "claimed_until": now,
        "slack_ts": None,
        "error": None,
        "created_at": now,
        "sent_at": None,
    }
    values.update(fields)
    # As the store keeps it: "_" keys are delivery metadata, apart from the payload.
    values["payload"], meta = split_meta(values["payload"])
    values["meta"] = {**values.get("meta", {}), **meta}
    return OutboxRow(**values)


def set_permalink(store: Any, conversation_id: str, link: str) -> None:
    """What the deliverer records when a `permalink` row's send gives the thread's link."""
    from bot.store.schema import conversations

    with store.engine.begin() as conn:
        conn.execute(
            conversations.update()
            .where(conversations.c.id == conversation_id)
            .values(permalink=link)
        )


def make_read_only(paths: Sequence[Path]) -> bool:
    """Read-only even for root (chattr +i); False when this machine cannot."""
    if os.geteuid() != 0:
        for path in paths:
            path.chmod(0o444)
        return True
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
    if done.returncode != 0:
        make_writable(paths)  # some may have taken it: none is left for pytest to trip on
    return done.returncode == 0


def make_writable(paths: Sequence[Path]) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
    for path in paths:
        path.chmod(0o644)


@contextmanager
def read_only(paths: Sequence[Path]) -> Iterator[None]:
    """``paths`` read-only inside the block (the test is skipped where that cannot be)."""
    if not make_read_only(paths):
        pytest.skip("cannot make a file read-only for root here (no chattr +i)")
    try:
        yield
    finally:
        make_writable(paths)


class SQLiteOpener:
    """An engine's ``creator`` that opens the SQLite file read-only while ``read_only`` is
    set, read-write otherwise. A read-only file (as SQLite opens one it cannot write)
    refuses the first write; with ``refuse_at="begin"`` the connection is made query-only
    instead, which refuses ``BEGIN IMMEDIATE`` already (as one whose log is read-only does)."""

    def __init__(self, path: Path, refuse_at: str = "write") -> None:
        self.path = path
        self.refuse_at = refuse_at
        self.read_only = False

    def __call__(self) -> sqlite3.Connection:
        mode = "ro" if self.read_only and self.refuse_at == "write" else "rw"
        conn = sqlite3.connect(f"file:{self.path}?mode={mode}", uri=True, check_same_thread=False)
        if self.read_only and self.refuse_at == "begin":
            conn.execute("PRAGMA query_only = 1")
        return conn
