"""The Store: the only code that reads or writes the database.

Every write runs in one short transaction (``BEGIN IMMEDIATE`` on SQLite, READ
COMMITTED on PostgreSQL). Its two halves live beside it: `conversations`
(conversations, seen events, recommendations) and `queue` (the outbox), with
`people` (reads by person, each person's own queue), `channel_slots` (pacing shared
by replicas); their SQL is in `statements`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.store.channel_slots import ChannelSlotStore
from bot.store.conversations import ConversationStore
from bot.store.engine import make_engine
from bot.store.limits import DatabaseLimits
from bot.store.migrate import upgrade
from bot.store.people import PeopleStore
from bot.store.queue import OutboxQueue
from bot.store.workspaces import WorkspaceStore


class Store(ConversationStore, OutboxQueue, PeopleStore, WorkspaceStore, ChannelSlotStore):
    """Conversations, their outbox, seen events, finished recommendations, and what
    each person has (`PeopleStore`), and the organisation of each Enterprise Grid
    workspace (`WorkspaceStore`), and each channel's shared pacing slot
    (`ChannelSlotStore`)."""

    @classmethod
    def from_url(
        cls,
        url: str | None,
        data_dir: Path,
        *,
        engine_kw: dict[str, Any] | None = None,
        limits: DatabaseLimits | None = None,
        **kw: Any,
    ) -> Store:
        """Build the engine (SQLite under ``data_dir`` when ``url`` is empty) with the time
        ``limits``, create or upgrade the schema, and return a Store; ``kw`` goes to
        :class:`Store`."""
        engine = make_engine(url, data_dir, limits, **(engine_kw or {}))
        upgrade(engine)
        return cls(engine, **kw)
