"""Conversations, the Slack events already seen, and finished recommendations.

A step is one transaction: compare-and-set on the conversation's ``version`` (of
several writers racing for the same version exactly one wins, the others get
``stale``), the outbox messages it queues, and the event it answers marked seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa

from bot.store import health
from bot.store.base import StoreBase
from bot.store.claiming import current_claims
from bot.store.driver import Prepared, driver_of
from bot.store.engine import driver_transaction, write_transaction
from bot.store.errors import ConversationNotFound
from bot.store.models import (
    ACTIVE,
    CANCELLED,
    CONVERSATION_STATUSES,
    EXPIRED,
    FAILED,
    SENT,
    Claims,
    ConversationRow,
    OutboxMessage,
    Outcome,
    PurgeCounts,
    ResultChange,
    StepResult,
)
from bot.store.schema import conversations, outbox, seen_events
from bot.store.statements import (
    CONV_COLUMNS,
    MOVABLE,
    cancel_conversations,
    cancel_pending,
)

_conv = conversations.c
_out = outbox.c


class ConversationStore(StoreBase):
    """The conversations' half of the `Store`."""

    # ---- conversations -------------------------------------------------------------

    def create_conversation(
        self,
        *,
        team: str,
        channel: str,
        user: str,
        flow_name: str,
        flow_hash: str,
        record: dict[str, Any],
        status: str = ACTIVE,
        thread_ts: str | None = None,
        outbox: Sequence[OutboxMessage] = (),
        conversation_id: str | None = None,
        claims: Claims | None = None,
        seen: str | None = None,
    ) -> ConversationRow | None:
        """Insert a conversation at version 1 together with its first outbox messages
        (claimed into ``claims``, or the request's: see `bot.store.claiming`), marking
        ``seen`` (the request that starts it) in the same transaction: None, and nothing
        stored, when that request was seen before.

        A second conversation on the same (team, channel, thread_ts) raises
        :class:`sqlalchemy.exc.IntegrityError` and stores nothing.
        """
        _check_status(status)
        claims = claims if claims is not None else current_claims()
        now = self._now()
        row = ConversationRow(
            id=conversation_id or uuid.uuid4().hex,
            team=team,
            channel=channel,
            thread_ts=thread_ts,
            user=user,
            flow_name=flow_name,
            flow_hash=flow_hash,
            record=record,
            version=1,
            status=status,
            created_at=now,
            updated_at=now,
            expires_at=now + self.idle_timeout,
        )
        values = {col.name: getattr(row, col.name) for col in CONV_COLUMNS}
        values["outbox_seq"] = len(outbox)
        with driver_transaction(self.engine) as conn:
            if not self._first_sighting(conn, seen, now):
                return None
            self._hot.insert_conversation.run(conn, values)
            claimed = self._insert_outbox(
                conn, row.id, outbox, now, first_seq=1, claim_for=claims and claims.lease
            )
        if claims is not None:
            claims.add(row.id, claimed)
        return row

    def get(self, conversation_id: str) -> ConversationRow | None:
        """The conversation with this id, or None."""
        return self._one_conversation(self._hot.select_by_id, {"cid": conversation_id})

    def find_by_thread(self, team: str, channel: str, thread_ts: str) -> ConversationRow | None:
        """The conversation whose root message is ``thread_ts`` in this channel."""
        return self._one_conversation(
            self._hot.select_by_thread, {"team": team, "channel": channel, "thread_ts": thread_ts}
        )

    def find_open_for_user(self, team: str, channel: str, user: str) -> ConversationRow | None:
        """The user's newest active, unexpired conversation in this channel."""
        return self._one_conversation(
            self._hot.select_open_for_user,
            {"team": team, "channel": channel, "user": user, "now": self._now()},
        )

    def _one_conversation(self, query: Prepared, params: dict[str, Any]) -> ConversationRow | None:
        with driver_transaction(self.engine, write=False) as conn:
            found = query.first(conn, params)
        return None if found is None else ConversationRow(*found)

    def apply_step(
        self,
        conversation_id: str,
        expected_version: int,
        new_record: dict[str, Any],
        outbox_messages: Sequence[OutboxMessage] = (),
        *,
        status: str | None = None,
        recommendation: dict[str, Any] | None = None,
        seen: str | None = None,
        claims: Claims | None = None,
        result: ResultChange | None = None,
    ) -> StepResult:
        """Compare-and-set the record on ``expected_version``; all or nothing.

        Applied: record saved, version + 1, expiry pushed out, outbox rows (claimed into
        ``claims``, or the request's: see `bot.store.claiming`) and the recommendation (if
        given) stored in the same transaction. Otherwise nothing changes (a conversation
        past its expiry is refused as ``EXPIRED`` and left for the expiry pass, which
        tidies it up).
        ``seen`` (a Slack event's key) is marked seen in the same transaction, whether
        the step applies or is refused; if it was seen before, nothing changes and the
        outcome is ``DUPLICATE``. ``result`` says what the step does to the result in
        history beyond that: keep its time, drop it, pin or unpin it (`ResultChange`).
        """
        if status is not None:
            _check_status(status)
        claims = claims if claims is not None else current_claims()
        now = self._now()
        params = {
            "cid": conversation_id,
            "expected": expected_version,
            "now": now,
            "record": new_record,
            "status": status,
            "expires_at": now + self.idle_timeout,
            "n": len(outbox_messages),
        }
        with driver_transaction(self.engine) as conn:
            if not self._first_sighting(conn, seen, now):
                return StepResult(Outcome.DUPLICATE, None)
            found = self._hot.step_update.first(conn, params)
            if found is None:
                return self._explain_refusal(conn, conversation_id, now)
            updated = _Stepped(*found)
            first_seq = updated.outbox_seq - len(outbox_messages) + 1
            claimed = self._insert_outbox(
                conn,
                conversation_id,
                outbox_messages,
                now,
                first_seq=first_seq,
                claim_for=claims and claims.lease,
            )
            change = result or ResultChange()
            if recommendation is not None and change.keeps_time:
                params = {"conversation_id": conversation_id, "summary": recommendation}
                self._hot.update_summary.run(conn, params)
            elif recommendation is not None:
                self._upsert_recommendation(conn, conversation_id, updated, recommendation, now)
            self._change_result(conn, conversation_id, updated, change)
        if claims is not None:
            claims.add(conversation_id, claimed)
        return StepResult(Outcome.APPLIED, updated.version)

    def cancel(self, conversation_id: str, expected_version: int | None = None) -> StepResult:
        """Mark an active conversation cancelled (version + 1); any version when None."""
        now = self._now()
        stmt = (
            conversations.update()
            .where(_conv.id == conversation_id, _conv.status == ACTIVE, _conv.expires_at > now)
            .values(status=CANCELLED, version=_conv.version + 1, updated_at=now)
            .returning(_conv.version)
        )
        if expected_version is not None:
            stmt = stmt.where(_conv.version == expected_version)
        with write_transaction(self.engine) as conn:
            updated = conn.execute(stmt).first()
            if updated is None:
                return self._explain_refusal(driver_of(conn), conversation_id, now)
        return StepResult(Outcome.APPLIED, updated.version)

    def _explain_refusal(self, driver: Any, conversation_id: str, now: datetime) -> StepResult:
        """Why a step's compare-and-set matched no row (in its transaction)."""
        params = {"cid": conversation_id, "now": now}
        current = self._hot.current_state.first(driver, params)
        if current is None:
            return StepResult(Outcome.MISSING, None)
        version, status, expires_at = current
        if status == EXPIRED:
            return StepResult(Outcome.EXPIRED, version)
        if status in MOVABLE and expires_at <= now:
            # Left for the expiry pass (`bot.slack.expiry`) to mark, with its tidy-up:
            # marked here, its thread would keep its buttons.
            return StepResult(Outcome.EXPIRED, version)
        return StepResult(Outcome.STALE, version)

    def set_thread_ts(self, conversation_id: str, thread_ts: str) -> None:
        """Record the Slack ts of the conversation's root message."""
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                conversations.update()
                .where(_conv.id == conversation_id)
                .values(thread_ts=thread_ts, updated_at=self._now())
            )
            if result.rowcount == 0:
                raise ConversationNotFound(conversation_id)

    def idle_conversations(self, limit: int = 100) -> list[ConversationRow]:
        """Open or finished conversations past their expiry time, oldest first."""
        query = (
            sa.select(*CONV_COLUMNS)
            .where(_conv.status.in_(MOVABLE), _conv.expires_at <= self._now())
            .order_by(_conv.expires_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [ConversationRow(*found) for found in conn.execute(query)]

    def expire(
        self,
        conversation_id: str,
        expected_version: int,
        outbox: Sequence[OutboxMessage],
        *,
        unpinned: bool = False,
    ) -> bool:
        """Mark an idle conversation expired (version + 1) and queue ``outbox`` (the
        messages that tidy its thread up), atomically; False when it moved meanwhile.
        ``unpinned``: the outbox takes its result's pin down (see `ResultChange`)."""
        now = self._now()
        with write_transaction(self.engine) as conn:
            updated = conn.execute(
                conversations.update()
                .where(
                    _conv.id == conversation_id,
                    _conv.version == expected_version,
                    _conv.status.in_(MOVABLE),
                    _conv.expires_at <= now,
                )
                .values(
                    status=EXPIRED,
                    version=_conv.version + 1,
                    updated_at=now,
                    outbox_seq=_conv.outbox_seq + len(outbox),
                )
                .returning(_conv.outbox_seq)
            ).first()
            if updated is None:
                return False
            first_seq = updated.outbox_seq - len(outbox) + 1
            driver = driver_of(conn)
            self._insert_outbox(driver, conversation_id, outbox, now, first_seq=first_seq)
            if unpinned:
                self._hot.unpin_one.run(driver, {"conversation_id": conversation_id})
        return True

    def end_workspace(self, team: str, reason: str) -> int:
        """The app was uninstalled from ``team`` or its tokens revoked: cancel the team's
        open conversations and drop their queued messages (as cancelled, not failed:
        nothing went wrong with them); returns the conversations ended."""
        now = self._now()
        of_team = _conv.team == team
        with write_transaction(self.engine) as conn:
            ended = conn.execute(cancel_conversations(of_team, now)).rowcount
            team_ids = sa.select(_conv.id).where(of_team).scalar_subquery()
            conn.execute(cancel_pending(_out.conversation_id.in_(team_ids), reason))
        return ended

    # ---- events, history, retention ------------------------------------------------

    def was_seen(self, key: str) -> bool:
        """Whether ``key`` was marked seen (a read; nothing is marked)."""
        with driver_transaction(self.engine, write=False) as conn:
            return self._hot.was_seen.first(conn, {"key": key}) is not None

    def mark_seen(self, key: str) -> bool:
        """True the first time ``key`` (a Slack event_id or action key) is seen."""
        with driver_transaction(self.engine) as conn:
            return self._first_sighting(conn, key, self._now())

    def _first_sighting(self, conn: Any, key: str | None, now: datetime) -> bool:
        """In an open transaction: mark ``key`` seen; False if it was already (the
        transaction should then change nothing). No key: True."""
        if key is None:
            return True
        return self._hot.mark_seen.first(conn, {"key": key, "seen_at": now}) is not None

    def purge(
        self,
        *,
        seen_older_than: timedelta = timedelta(days=1),
        delivered_older_than: timedelta = timedelta(days=7),
    ) -> PurgeCounts:
        """Delete old seen events and old finished outbox rows.

        Outbox rows go when sent (by ``sent_at``) or failed or cancelled (by ``created_at``) before
        the cutoff, except rows with a ``ref`` in a still-active conversation: later
        messages may still point at their ts.
        """
        now = self._now()
        cutoff = now - delivered_older_than
        active_conv = sa.exists().where(_conv.id == _out.conversation_id, _conv.status == ACTIVE)
        with write_transaction(self.engine) as conn:
            seen = conn.execute(
                seen_events.delete().where(seen_events.c.seen_at < now - seen_older_than)
            ).rowcount
            rows = conn.execute(
                outbox.delete().where(
                    sa.or_(
                        sa.and_(_out.status == SENT, _out.sent_at < cutoff),
                        sa.and_(_out.status.in_((FAILED, CANCELLED)), _out.created_at < cutoff),
                    ),
                    sa.not_(sa.and_(_out.ref.is_not(None), active_conv)),
                )
            ).rowcount
        return PurgeCounts(seen_events=seen, outbox=rows)

    def health(self) -> health.DatabaseState:
        """Whether the database takes writes now, and on SQLite is still the file the
        app opened (for /healthz)."""
        return health.check(self.engine, self._opened_file, self._now())

    def _upsert_recommendation(
        self,
        conn: Any,
        conversation_id: str,
        conv: Any,
        summary: dict[str, Any],
        now: datetime,
    ) -> None:
        params = {
            "conversation_id": conversation_id,
            "team": conv.team,
            "channel": conv.channel,
            "user": conv.user,
            "flow_name": conv.flow_name,
            "summary": summary,
            "created_at": now,
        }
        self._hot.upsert_recommendation.run(conn, params)

    def _change_result(
        self, conn: Any, conversation_id: str, conv: Any, change: ResultChange
    ) -> None:
        """A step's effect on its result beyond the summary (see `ResultChange`)."""
        of_it = {"conversation_id": conversation_id}
        if change.drop:
            self._hot.drop_recommendation.run(conn, of_it)
        elif change.pinned:
            who = {"team": conv.team, "channel": conv.channel, "user": conv.user}
            self._hot.pin_only.run(conn, {**of_it, **who})
        elif change.pinned is False:
            self._hot.unpin_one.run(conn, of_it)


class _Stepped(NamedTuple):
    """What a step's UPDATE ... RETURNING gives back."""

    version: int
    outbox_seq: int
    team: str
    channel: str
    user: str
    flow_name: str


def _check_status(status: str) -> None:
    if status not in CONVERSATION_STATUSES:
        raise ValueError(
            f"unknown conversation status {status!r}; use one of {sorted(CONVERSATION_STATUSES)}"
        )
