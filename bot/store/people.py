"""What one person has, across channels: their open conversations, their results
and the channel's history, and their own outbox queue (for messages that belong to no
conversation: their App Home view, opening a direct message with them).

The outbox keeps order per conversation row, so a person's own messages queue under a
row of their own: a `conversations` row that nothing moves (status cancelled, no
channel, no thread), made the first time it is needed.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.store.base import StoreBase
from bot.store.engine import driver_transaction, write_transaction
from bot.store.models import (
    ACTIVE,
    CANCELLED,
    ConversationRow,
    HistoryPage,
    HistoryRow,
    Page,
    PinnedResult,
)
from bot.store.schema import conversations, recommendations
from bot.store.statements import CONV_COLUMNS, MOVABLE

_conv = conversations.c
_rec = recommendations.c
#: The flow name that marks a person's own queue row.
PERSON_QUEUE = "@person"


class PeopleStore(StoreBase):
    """Reads by person (and by channel for history), and each person's queue."""

    def person_queue(self, team: str, user: str) -> str:
        """The id of the row a person's own outbox messages queue under (made once)."""
        queue_id = hashlib.sha256(f"person:{team}:{user}".encode()).hexdigest()[:32]
        now = self._now()
        insert = pg_dialect.insert if self._postgres else sqlite_dialect.insert
        stmt = insert(conversations).values(
            id=queue_id,
            team=team,
            channel="",
            thread_ts=None,
            user=user,
            flow_name=PERSON_QUEUE,
            flow_hash="",
            record={},
            version=1,
            status=CANCELLED,
            created_at=now,
            updated_at=now,
            expires_at=now,
            outbox_seq=0,
        )
        with write_transaction(self.engine) as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=[_conv.id]))
        return queue_id

    def history(
        self, team: str, *, channel: str | None = None, user: str | None = None, page: Page
    ) -> HistoryPage:
        """Finished results, newest first, of a channel and/or a person, one page of them."""
        query = (
            sa.select(
                _rec.conversation_id,
                _rec.channel,
                _rec.user,
                _rec.summary,
                _rec.created_at,
                _conv.permalink,
            )
            .join(conversations, _conv.id == _rec.conversation_id)
            .where(_rec.team == team)
            .order_by(_rec.created_at.desc(), _rec.id.desc())
            .limit(page.size + 1)
            .offset(page.offset)
        )
        if channel is not None:
            query = query.where(_rec.channel == channel)
        if user is not None:
            query = query.where(_rec.user == user)
        with self.engine.connect() as conn:
            rows = [HistoryRow(*found) for found in conn.execute(query)]
        return HistoryPage(rows[: page.size], more=len(rows) > page.size)

    def pinned_result(self, team: str, channel: str, user: str) -> PinnedResult | None:
        """The person's pinned result in this channel (at most one; see `ResultChange`):
        its conversation and that conversation's channel message."""
        params = {"team": team, "channel": channel, "user": user}
        with driver_transaction(self.engine, write=False) as conn:
            found = self._hot.pinned_result.first(conn, params)
        return None if found is None else PinnedResult(*found)

    def latest_in_channel(self, team: str, channel: str, user: str) -> ConversationRow | None:
        """The person's newest unexpired conversation here that is open or finished: in
        a direct message, where replies come in the main stream, the one they answer."""
        query = (
            sa.select(*CONV_COLUMNS)
            .where(
                _conv.team == team,
                _conv.channel == channel,
                _conv.user == user,
                _conv.status.in_(MOVABLE),
                _conv.expires_at > self._now(),
            )
            .order_by(_conv.created_at.desc(), _conv.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).first()
        return None if found is None else ConversationRow(*found)

    def open_conversations(self, team: str, user: str, limit: int = 20) -> list[ConversationRow]:
        """A person's active, unexpired conversations in every channel, newest first."""
        query = (
            sa.select(*CONV_COLUMNS)
            .where(
                _conv.team == team,
                _conv.user == user,
                _conv.status == ACTIVE,
                _conv.expires_at > self._now(),
            )
            .order_by(_conv.created_at.desc(), _conv.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            found = list(conn.execute(query))
        return [ConversationRow(*row) for row in found]
