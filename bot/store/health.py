"""Is the database usable for what the app does: writing? (for `/healthz`)

A trivial read passes on a SQLite file that was deleted (the open connections keep
writing into the unlinked file, which vanishes at the next restart) and on a file
that can no longer be written. So the check commits one small write, and on
SQLite it also checks that the path still names the file the app opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.store.engine import is_sqlite, write_transaction
from bot.store.errors import UNAVAILABLE
from bot.store.schema import seen_events

#: The seen-events key the check rewrites (its time moves on with every check).
HEALTH_KEY = "healthz"


class DatabaseState(StrEnum):
    OK = "ok"
    UNWRITABLE = "not writable"
    FILE_REPLACED = "the SQLite file was removed or replaced"


@dataclass(frozen=True)
class FileIdentity:
    """Which file a path named when the app opened it."""

    path: str
    device: int
    inode: int

    @classmethod
    def of(cls, path: str) -> FileIdentity | None:
        try:
            found = os.stat(path)
        except OSError:
            return None
        return cls(path, found.st_dev, found.st_ino)

    def still_there(self) -> bool:
        return FileIdentity.of(self.path) == self


def sqlite_file(engine: sa.Engine) -> FileIdentity | None:
    """The identity of the engine's SQLite file now (None for other databases)."""
    return FileIdentity.of(engine.url.database or "") if is_sqlite(engine) else None


def check(engine: sa.Engine, opened: FileIdentity | None, now: datetime) -> DatabaseState:
    """Commit one write; on SQLite first check the path still names the opened file."""
    if opened is not None and not opened.still_there():
        return DatabaseState.FILE_REPLACED
    insert = (pg_dialect if engine.dialect.name == "postgresql" else sqlite_dialect).insert
    statement = insert(seen_events).values(key=HEALTH_KEY, seen_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[seen_events.c.key], set_={"seen_at": now}
    )
    try:
        with write_transaction(engine) as conn:
            conn.execute(statement)
    except (*UNAVAILABLE, sa.exc.SQLAlchemyError):
        return DatabaseState.UNWRITABLE
    return DatabaseState.OK
