"""The Store: the only code that reads or writes the database.

Every write runs in one short transaction (``BEGIN IMMEDIATE`` on SQLite, READ
COMMITTED on PostgreSQL). Steps are compare-and-set on ``version``: of several
writers racing for the same version exactly one wins, the others get ``stale``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.store import health
from bot.store.driver import Prepared, driver_of
from bot.store.engine import (
    driver_transaction,
    make_engine,
    prepare_sqlite,
    write_transaction,
)
from bot.store.errors import ConversationNotFound
from bot.store.models import (
    ACTIVE,
    CANCELLED,
    CONVERSATION_STATUSES,
    EXPIRED,
    FAILED,
    FINISHED,
    PENDING,
    SENT,
    UNCONFIRMED,
    ConversationRow,
    OutboxMessage,
    OutboxRow,
    Outcome,
    PurgeCounts,
    RecommendationRow,
    RefTarget,
    StepResult,
    utcnow,
)
from bot.store.schema import (
    JSONText,
    UTCDateTime,
    conversations,
    ensure_schema,
    outbox,
    recommendations,
    seen_events,
)

logger = logging.getLogger(__name__)

_conv = conversations.c
_out = outbox.c
#: Statuses a step may move from: a finished conversation can still go back or start over.
MOVABLE = (ACTIVE, FINISHED)
#: Most outbox rows one INSERT writes, and one conversation's claim takes.
INSERT_AT_ONCE = 32
CLAIM_AT_ONCE = 32


# Hot-path statements are built once: SQLAlchemy then reuses their cache keys and
# compiled forms, which is most of the per-call cost.
_CONV_COLUMNS = [c for c in conversations.columns if c.name != "outbox_seq"]
_NOW = sa.bindparam("now", type_=UTCDateTime)
_SELECT_BY_ID = sa.select(*_CONV_COLUMNS).where(_conv.id == sa.bindparam("cid"))
_SELECT_BY_THREAD = sa.select(*_CONV_COLUMNS).where(
    _conv.team == sa.bindparam("team"),
    _conv.channel == sa.bindparam("channel"),
    _conv.thread_ts == sa.bindparam("thread_ts"),
)
_SELECT_OPEN_FOR_USER = (
    sa.select(*_CONV_COLUMNS)
    .where(
        _conv.team == sa.bindparam("team"),
        _conv.channel == sa.bindparam("channel"),
        _conv.user == sa.bindparam("user"),
        _conv.status == ACTIVE,
        _conv.expires_at > _NOW,
    )
    .order_by(_conv.created_at.desc(), _conv.id.desc())
    .limit(1)
)
_STEP_UPDATE = (
    conversations.update()
    .where(
        _conv.id == sa.bindparam("cid"),
        _conv.version == sa.bindparam("expected"),
        # Two comparisons, not IN: an IN list is re-rendered on every execution.
        sa.or_(_conv.status == ACTIVE, _conv.status == FINISHED),
        _conv.expires_at > _NOW,
    )
    .values(
        record=sa.bindparam("record", type_=JSONText),
        version=_conv.version + 1,
        status=sa.func.coalesce(sa.bindparam("status", type_=sa.String), _conv.status),
        updated_at=_NOW,
        expires_at=sa.bindparam("expires_at", type_=UTCDateTime),
        outbox_seq=_conv.outbox_seq + sa.bindparam("n", type_=sa.Integer),
    )
    .returning(
        _conv.version, _conv.outbox_seq, _conv.team, _conv.channel, _conv.user, _conv.flow_name
    )
)
# Claiming: a conversation is due when its lowest-seq pending row is due and unclaimed.
_earlier = outbox.alias("earlier")
_CLAIM_HEADS = (
    sa.select(_out.id, _out.conversation_id)
    .where(
        _out.status == PENDING,
        _out.next_attempt_at <= _NOW,
        sa.or_(_out.claimed_until.is_(None), _out.claimed_until < _NOW),
        ~sa.exists().where(
            _earlier.c.conversation_id == _out.conversation_id,
            _earlier.c.status == PENDING,
            _earlier.c.seq < _out.seq,
        ),
    )
    .order_by(_out.next_attempt_at, _out.id)
    .limit(sa.bindparam("batch", type_=sa.Integer))
)
_CLAIM_HEADS_PG = _CLAIM_HEADS.with_for_update(skip_locked=True, of=outbox)
_PENDING_OF = (
    sa.select(outbox)
    .where(_out.conversation_id.in_(sa.bindparam("cids", expanding=True)), _out.status == PENDING)
    .order_by(_out.conversation_id, _out.seq)
)
_PENDING_OF_ONE = (
    sa.select(outbox)
    .where(_out.conversation_id == sa.bindparam("cid"), _out.status == PENDING)
    .order_by(_out.seq)
)
_OUTBOX_FIELDS = tuple(c.name for c in outbox.columns)
_REF_TARGETS = (
    sa.select(_out.seq, _out.ref, _out.status, _out.slack_ts, _out.error)
    .where(
        _out.conversation_id == sa.bindparam("cid"),
        _out.ref.is_not(None),
        _out.seq < sa.bindparam("seq", type_=sa.Integer),
    )
    .order_by(_out.seq)
)


def _claim_free(n: int) -> sa.Update:
    """Claim ``n`` rows (``id0`` ... ``id<n-1>``) that nobody holds."""
    return (
        outbox.update()
        .where(
            _out.id.in_([sa.bindparam(f"id{i}", type_=sa.Integer) for i in range(n)]),
            _out.status == PENDING,
            sa.or_(_out.claimed_until.is_(None), _out.claimed_until < _NOW),
        )
        .values(
            claimed_until=sa.bindparam("until", type_=UTCDateTime),
            claim_token=sa.bindparam("token", type_=sa.String),
        )
    )


_OUTBOX_INSERT_KEYS = (
    "conversation_id",
    "seq",
    "kind",
    "ref",
    "sets_thread",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "claimed_until",
    "claim_token",
)


def _insert_outbox_rows(n: int, returning: bool) -> sa.Insert:
    """One INSERT of ``n`` outbox rows (parameters ``<column>_<i>``); with ``returning``,
    it returns each new row's (id, seq)."""
    stmt = outbox.insert().values(
        [
            {
                key: sa.bindparam(f"{key}_{i}", type_=outbox.c[key].type)
                for key in _OUTBOX_INSERT_KEYS
            }
            for i in range(n)
        ]
    )
    return stmt.returning(_out.id, _out.seq) if returning else stmt


_RESERVE_SEQ = (
    conversations.update()
    .where(_conv.id == sa.bindparam("cid"))
    .values(outbox_seq=_conv.outbox_seq + sa.bindparam("n", type_=sa.Integer))
    .returning(_conv.outbox_seq)
)
_INSERT_CONVERSATION = conversations.insert()
_CURRENT_STATE = sa.select(_conv.version, _conv.status, _conv.expires_at).where(
    _conv.id == sa.bindparam("cid")
)
_MARK_EXPIRED = (
    conversations.update()
    .where(
        _conv.id == sa.bindparam("cid"), sa.or_(_conv.status == ACTIVE, _conv.status == FINISHED)
    )
    .values(status=EXPIRED, updated_at=_NOW)
)
_EARLIER_PENDING = (
    sa.select(_out.claimed_until)
    .where(
        _out.conversation_id == sa.bindparam("cid"),
        _out.status == PENDING,
        _out.seq < sa.bindparam("seq", type_=sa.Integer),
    )
    .order_by(_out.seq)
    .limit(1)
)
# Taken first by a transaction that records sends and then claims what is queued behind
# them, so that it and a step enqueueing more (which updates this row first) serialize
# on PostgreSQL: one of the two always sees the other's rows (no-op on SQLite, where
# writers are serialized anyway).
_LOCK_CONVERSATION = sa.select(_conv.id).where(_conv.id == sa.bindparam("cid")).with_for_update()
_RELEASE_TOKEN = (
    outbox.update()
    .where(_out.claim_token == sa.bindparam("token"), _out.status == PENDING)
    .values(claimed_until=None, claim_token=None)
)
_MARK_SENT = (
    outbox.update()
    .where(
        _out.id == sa.bindparam("row_id"),
        _out.claim_token == sa.bindparam("token"),
        _out.status == PENDING,
    )
    .values(
        status=SENT,
        slack_ts=sa.bindparam("ts", type_=sa.String),
        sent_at=_NOW,
        attempts=sa.bindparam("tries", type_=sa.Integer),
        claimed_until=None,
        claim_token=None,
    )
)
_SET_THREAD = (
    conversations.update()
    .where(_conv.id == sa.bindparam("cid"))
    .values(thread_ts=sa.bindparam("ts", type_=sa.String), updated_at=_NOW)
)

#: Receives rows claimed in the transaction that enqueued them (see Store.hand_claims_to).
ClaimReceiver = Callable[[str, list[OutboxRow]], None]


class Store:
    """Conversations, their outbox, seen events and finished recommendations."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        idle_timeout: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        prepare_sqlite(engine)
        self.engine = engine
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"
        self._direct: tuple[ClaimReceiver, timedelta] | None = None
        self._hot = _HotStatements(engine.dialect)
        self._opened_file = health.sqlite_file(engine)

    def hand_claims_to(
        self, receiver: ClaimReceiver | None, lease: timedelta | None = None
    ) -> None:
        """The deliverer's fast path. While a receiver is set, messages enqueued at the
        head of their conversation's queue (nothing earlier still pending) are claimed
        for ``lease`` in the very transaction that commits them, and handed to
        ``receiver`` after the commit, so no claim query stands between a step and its
        messages. Messages queued behind pending rows that someone holds are taken by
        that holder when it records its last sends (:meth:`record_sent_and_claim_next`);
        the receiver is not called. Behind pending rows nobody holds (a retry waiting),
        they are left for the claim queries; the receiver then gets an empty list,
        meaning "this conversation has new work"."""
        if receiver is not None and (lease is None or lease <= timedelta(0)):
            raise ValueError("a claim receiver needs a positive lease")
        self._direct = None if receiver is None else (receiver, lease)  # type: ignore[assignment]

    def _hand_off(
        self,
        direct: tuple[ClaimReceiver, timedelta] | None,
        conversation_id: str,
        rows: list[OutboxRow] | None,
    ) -> None:
        """After a commit that enqueued messages: give the claimed rows to the receiver
        (None: queued behind rows being sent, whose sender takes them next)."""
        if direct is None or rows is None:
            return
        try:
            direct[0](conversation_id, rows)
        except Exception:  # the claims then run out with their lease; nothing is lost
            logger.exception("outbox: handing claimed rows to the deliverer failed")

    @classmethod
    def from_url(
        cls,
        url: str | None,
        data_dir: Path,
        *,
        engine_kw: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Store:
        """Build the engine (SQLite under ``data_dir`` when ``url`` is empty), create or
        upgrade the schema, and return a Store; ``kw`` goes to :class:`Store`."""
        engine = make_engine(url, data_dir, **(engine_kw or {}))
        ensure_schema(engine)
        return cls(engine, **kw)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("Store clock must return timezone-aware datetimes")
        return now

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
    ) -> ConversationRow:
        """Insert a conversation at version 1 together with its first outbox messages.

        A second conversation on the same (team, channel, thread_ts) raises
        :class:`sqlalchemy.exc.IntegrityError` and stores nothing.
        """
        _check_status(status)
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
        values = {col.name: getattr(row, col.name) for col in _CONV_COLUMNS}
        values["outbox_seq"] = len(outbox)
        direct = self._direct if outbox else None
        with driver_transaction(self.engine) as conn:
            self._hot.insert_conversation.run(conn, values)
            claimed = self._insert_outbox(
                conn, row.id, outbox, now, first_seq=1, claim_for=_lease_of(direct)
            )
        self._hand_off(direct, row.id, claimed)
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
    ) -> StepResult:
        """Compare-and-set the record on ``expected_version``; all or nothing.

        Applied: record saved, version + 1, expiry pushed out, outbox rows and the
        recommendation (if given) stored in the same transaction. Otherwise nothing
        changes except that an active conversation past its expiry is marked expired.
        ``seen`` (a Slack event's key) is marked seen in the same transaction, whether
        the step applies or is refused; if it was seen before, nothing changes and the
        outcome is ``DUPLICATE``.
        """
        if status is not None:
            _check_status(status)
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
        direct = self._direct if outbox_messages else None
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
                claim_for=_lease_of(direct),
            )
            if recommendation is not None:
                self._upsert_recommendation(conn, conversation_id, updated, recommendation, now)
        self._hand_off(direct, conversation_id, claimed)
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
            self._hot.mark_expired.run(driver, params)
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

    def expire_idle(self) -> int:
        """Mark active conversations past their expiry time expired; returns how many."""
        now = self._now()
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                conversations.update()
                .where(_conv.status == ACTIVE, _conv.expires_at <= now)
                .values(status=EXPIRED, updated_at=now)
            )
        return result.rowcount

    def end_workspace(self, team: str, reason: str) -> int:
        """The app was uninstalled from ``team`` or its tokens revoked: cancel the team's
        open conversations and drop their queued messages (as cancelled, not failed:
        nothing went wrong with them); returns the conversations ended."""
        now = self._now()
        of_team = _conv.team == team
        with write_transaction(self.engine) as conn:
            ended = conn.execute(
                _cancel_conversations(of_team, now).where(_conv.status.in_(MOVABLE))
            ).rowcount
            team_ids = sa.select(_conv.id).where(of_team).scalar_subquery()
            conn.execute(_cancel_pending(_out.conversation_id.in_(team_ids), reason))
        return ended

    # ---- events, history, retention ------------------------------------------------

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

    def recent_recommendations(
        self, team: str, channel: str, limit: int = 5
    ) -> list[RecommendationRow]:
        """The channel's latest recommendations, newest first."""
        query = (
            sa.select(recommendations)
            .where(recommendations.c.team == team, recommendations.c.channel == channel)
            .order_by(recommendations.c.created_at.desc(), recommendations.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [RecommendationRow(**r._mapping) for r in conn.execute(query)]

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

    # ---- outbox --------------------------------------------------------------------

    def enqueue(
        self,
        conversation_id: str,
        messages: Sequence[OutboxMessage],
        *,
        seen: str | None = None,
    ) -> bool:
        """Add messages to a conversation's outbox outside a step (e.g. a failure notice).
        With ``seen`` (a Slack event's key), only the first time that key comes: False,
        and nothing queued, when it was seen before."""
        if not messages:
            return seen is None or self.mark_seen(seen)
        now = self._now()
        direct = self._direct
        with write_transaction(self.engine) as conn:
            if not self._first_sighting(driver_of(conn), seen, now):
                return False
            first_seq = self._reserve_seq(conn, conversation_id, len(messages))
            claimed = self._insert_outbox(
                driver_of(conn),
                conversation_id,
                messages,
                now,
                first_seq=first_seq,
                claim_for=_lease_of(direct),
            )
        self._hand_off(direct, conversation_id, claimed)
        return True

    def outbox_pending(self) -> int:
        """How many outbox rows still wait to be sent (tests wait for zero)."""
        query = sa.select(sa.func.count()).select_from(outbox).where(_out.status == PENDING)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def failed_outbox(self, limit: int = 100) -> list[OutboxRow]:
        """Rows given up (newest first), for operators and tests."""
        query = sa.select(outbox).where(_out.status == FAILED).order_by(_out.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query)]

    def health(self) -> health.DatabaseState:
        """Whether the database takes writes now, and on SQLite is still the file the
        app opened (for /healthz)."""
        return health.check(self.engine, self._opened_file, self._now())

    def outbox_rows(self, conversation_id: str) -> list[OutboxRow]:
        """All of a conversation's outbox rows in seq order (tests, debugging)."""
        query = sa.select(outbox).where(_out.conversation_id == conversation_id).order_by(_out.seq)
        with self.engine.connect() as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query)]

    def claim_outbox(
        self, *, lease: timedelta, batch: int, now: datetime | None = None
    ) -> list[OutboxRow]:
        """Claim due messages for delivery (used by the Deliverer).

        A conversation is due when its lowest-seq pending row is due and unclaimed;
        that row and the pending rows after it (up to ``batch`` rows in all, heads
        first) are leased until ``now + lease`` under one fresh claim token. Rows
        come back grouped by conversation, in seq order.
        """
        now = now or self._now()
        heads_query = _CLAIM_HEADS_PG if self._postgres else _CLAIM_HEADS
        token = uuid.uuid4().hex
        until = now + lease
        with write_transaction(self.engine) as conn:
            heads = conn.execute(heads_query, {"now": now, "batch": batch}).all()
            if not heads:
                return []
            order = [h.conversation_id for h in heads]
            pending = conn.execute(_PENDING_OF, {"cids": order}).all()
            by_conv: dict[str, list[OutboxRow]] = {cid: [] for cid in order}
            for row in pending:
                by_conv[row.conversation_id].append(_outbox_row(row))
            head_ids = {h.id for h in heads}
            room = batch - len(heads)
            chosen: list[OutboxRow] = []
            for cid in order:
                rows = by_conv[cid]
                # The head seen by the first query must still lead this conversation.
                if not rows or rows[0].id not in head_ids:
                    continue
                run = _contiguous(rows, now, room)
                room -= len(run) - 1
                chosen.extend(run)
            if not chosen:
                return []
            conn.execute(
                outbox.update()
                .where(_out.id.in_([r.id for r in chosen]))
                .values(claimed_until=until, claim_token=token)
            )
        return [_claimed(r, until, token, now) for r in chosen]

    def claim_conversation(
        self, conversation_id: str, *, lease: timedelta, now: datetime | None = None
    ) -> list[OutboxRow]:
        """Claim one conversation's pending rows, in seq order, when its first pending
        row is due and nobody holds it. Empty when there is nothing to take."""
        now = now or self._now()
        with driver_transaction(self.engine) as conn:
            return self._claim_next(conn, conversation_id, now, lease)

    def _claim_next(
        self, conn: Any, conversation_id: str, now: datetime, lease: timedelta
    ) -> list[OutboxRow]:
        """In an open transaction: claim the conversation's first pending rows if the
        first is due and free (up to ``CLAIM_AT_ONCE``, stopping at one held)."""
        hot = self._hot
        found = hot.pending_of_one.rows(conn, {"cid": conversation_id})
        rows = [_outbox_row(r) for r in found]
        if not rows or _held(rows[0].claimed_until, now) or rows[0].next_attempt_at > now:
            return []
        chosen = _contiguous(rows, now, CLAIM_AT_ONCE - 1)
        token, until = uuid.uuid4().hex, now + lease
        params: dict[str, Any] = {"now": now, "until": until, "token": token}
        params.update((f"id{i}", r.id) for i, r in enumerate(chosen))
        if hot.claim_free(len(chosen)).count(conn, params) != len(chosen):
            # Another deliverer took some first (PostgreSQL): leave them all to it.
            hot.release_token.run(conn, {"token": token})
            return []
        return [_claimed(r, until, token, now) for r in chosen]

    def ref_targets(self, conversation_id: str, before_seq: int) -> dict[str, RefTarget]:
        """For each ref name, the latest row of the conversation before ``before_seq``."""
        params = {"cid": conversation_id, "seq": before_seq}
        with driver_transaction(self.engine, write=False) as conn:
            found = self._hot.ref_targets.rows(conn, params)
        return {
            ref: RefTarget(seq=seq, status=status, slack_ts=ts, error=error)
            for seq, ref, status, ts, error in found
        }

    def extend_claims(self, ids: Iterable[int], token: str, until: datetime) -> int:
        """Push the lease on still-claimed rows out to ``until``; returns rows extended."""
        ids = list(ids)
        if not ids:
            return 0
        with write_transaction(self.engine) as conn:
            return conn.execute(
                outbox.update()
                .where(_out.id.in_(ids), _out.claim_token == token, _out.status == PENDING)
                .values(claimed_until=until)
            ).rowcount

    def release_claims(self, ids: Iterable[int], token: str) -> None:
        """Give claimed rows back without attempting them."""
        ids = list(ids)
        if not ids:
            return
        with write_transaction(self.engine) as conn:
            conn.execute(
                outbox.update()
                .where(_out.id.in_(ids), _out.claim_token == token, _out.status == PENDING)
                .values(claimed_until=None, claim_token=None)
            )

    def record_sent(
        self, row: OutboxRow, slack_ts: str | None, *, now: datetime | None = None
    ) -> bool:
        """Mark a claimed row sent (and set the conversation's thread_ts if the row says so).

        False when the claim was lost (lease expired and retaken); nothing changes then.
        """
        return bool(self.record_sent_many([(row, slack_ts)], now=now))

    def record_sent_many(
        self, sent: Sequence[tuple[OutboxRow, str | None]], *, now: datetime | None = None
    ) -> set[int]:
        """:meth:`record_sent` for several claimed rows in one transaction; returns the
        ids recorded (the others had lost their claim)."""
        now = now or self._now()
        if not sent:
            return set()
        with driver_transaction(self.engine) as conn:
            return self._mark_sent(conn, sent, now)

    def record_sent_and_claim_next(
        self,
        sent: Sequence[tuple[OutboxRow, str | None]],
        conversation_id: str,
        *,
        lease: timedelta,
        now: datetime | None = None,
    ) -> tuple[set[int], list[OutboxRow]]:
        """:meth:`record_sent_many` for the last rows of a claimed run, and in the same
        transaction :meth:`claim_conversation`: rows a step queued behind them while
        they were being sent go to the same sender next, with no claim pass between.
        Nothing is claimed when a sent row had lost its claim."""
        with driver_transaction(self.engine) as conn:
            if self._hot.lock_conversation is not None:
                self._hot.lock_conversation.rows(conn, {"cid": conversation_id})
            # Read the clock only now: a step that committed first, while this waited for
            # the lock, may have stamped its rows due later than our caller's moment.
            now = self._now() if now is None else max(now, self._now())
            done = self._mark_sent(conn, sent, now)
            if len(done) < len(sent):
                return done, []
            return done, self._claim_next(conn, conversation_id, now, lease)

    def _mark_sent(
        self, conn: Any, sent: Sequence[tuple[OutboxRow, str | None]], now: datetime
    ) -> set[int]:
        """Mark rows sent if their claim still holds; the ids marked."""
        mark_sent, set_thread = self._hot.mark_sent, self._hot.set_thread
        done: set[int] = set()
        for row, slack_ts in sent:
            params = {
                "row_id": row.id,
                "token": row.claim_token,
                "ts": slack_ts,
                "now": now,
                "tries": row.attempts + 1,
            }
            if not mark_sent.count(conn, params):
                continue
            done.add(row.id)
            if row.sets_thread and slack_ts:
                set_thread.count(conn, {"cid": row.conversation_id, "ts": slack_ts, "now": now})
        return done

    def record_retry(
        self, row: OutboxRow, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> bool:
        """Put a claimed row back for a later attempt; False when the claim was lost."""
        with write_transaction(self.engine) as conn:
            return _settle_claim(
                conn, row, attempts=attempts, next_attempt_at=next_attempt_at, error=error
            )

    def record_failed(
        self,
        row: OutboxRow,
        *,
        attempts: int,
        error: str,
        notices: Sequence[OutboxMessage] = (),
        ends_conversation: bool = False,
        now: datetime | None = None,
    ) -> bool:
        """Give a claimed row up and enqueue ``notices`` for its conversation, atomically
        (the sender of the row's run takes them when it ends, see
        :meth:`record_sent_and_claim_next`). With ``ends_conversation`` (Slack will not
        take any of its messages: the app left the channel, the token was revoked) the
        conversation is cancelled too and its other pending messages with it.

        False when the claim was lost; nothing changes then.
        """
        now = now or self._now()
        with write_transaction(self.engine) as conn:
            done = _settle_claim(conn, row, status=FAILED, attempts=attempts, error=error)
            if done and ends_conversation:
                conn.execute(
                    _cancel_conversations(_conv.id == row.conversation_id, now).where(
                        _conv.status.in_(MOVABLE)
                    )
                )
                conn.execute(_cancel_pending(_out.conversation_id == row.conversation_id, error))
            if done and notices:
                first_seq = self._reserve_seq(conn, row.conversation_id, len(notices))
                self._insert_outbox(
                    driver_of(conn), row.conversation_id, notices, now, first_seq=first_seq
                )
        return bool(done)

    # ---- helpers -------------------------------------------------------------------

    def _reserve_seq(self, conn: sa.Connection, conversation_id: str, n: int) -> int:
        """Hand out ``n`` outbox seq numbers (locking the conversation row); the first."""
        last = conn.execute(_RESERVE_SEQ, {"cid": conversation_id, "n": n}).scalar()
        if last is None:
            raise ConversationNotFound(conversation_id)
        return last - n + 1

    def _insert_outbox(
        self,
        conn: Any,
        conversation_id: str,
        messages: Sequence[OutboxMessage],
        now: datetime,
        *,
        first_seq: int,
        claim_for: timedelta | None = None,
    ) -> list[OutboxRow] | None:
        """Insert messages numbered from ``first_seq`` (reserved by the caller).

        With ``claim_for``, also claim them for that long when nothing earlier is
        pending, and return the claimed rows. Otherwise the list is empty, or None when
        the earlier pending rows are claimed: whoever sends them takes these next
        (:meth:`record_sent_and_claim_next`), so nobody needs telling."""
        if not messages:
            return []
        token = until = None
        hot = self._hot
        behind_held = False
        if claim_for is not None:
            earlier = hot.earlier_pending.first(conn, {"cid": conversation_id, "seq": first_seq})
            if earlier is None:
                token, until = uuid.uuid4().hex, now + claim_for
            else:
                behind_held = _held(earlier[0], now)
        rows = [
            {
                "conversation_id": conversation_id,
                "seq": first_seq + i,
                "kind": m.kind,
                "ref": m.ref,
                "sets_thread": m.sets_thread,
                "payload": m.payload,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "claimed_until": until,
                "claim_token": token,
            }
            for i, m in enumerate(messages)
        ]
        ids: dict[int, int] = {}  # seq -> id
        for start in range(0, len(rows), INSERT_AT_ONCE):
            chunk = rows[start : start + INSERT_AT_ONCE]
            params = {f"{k}_{i}": v for i, row in enumerate(chunk) for k, v in row.items()}
            insert = hot.insert_outbox(len(chunk), returning=token is not None)
            if token is None:
                insert.run(conn, params)
            else:
                ids.update((seq, row_id) for row_id, seq in insert.rows(conn, params))
        if token is None:
            return None if behind_held else []
        return [
            OutboxRow(id=ids[row["seq"]], slack_ts=None, error=None, sent_at=None, **row)
            for row in rows
        ]

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


def _outbox_row(values: Sequence[Any]) -> OutboxRow:
    """An OutboxRow from a ``select(outbox)`` row (table column order)."""
    return OutboxRow(**dict(zip(_OUTBOX_FIELDS, values, strict=True)))


class _Stepped(NamedTuple):
    """What a step's UPDATE ... RETURNING gives back."""

    version: int
    outbox_seq: int
    team: str
    channel: str
    user: str
    flow_name: str


def _claimed(row: OutboxRow, until: datetime, token: str, now: datetime) -> OutboxRow:
    """A row as its new claim holds it. A row whose earlier claim lapsed (its holder died
    or overran the lease mid-send) may have been sent: its error says so."""
    claimed = replace(row, claimed_until=until, claim_token=token)
    if row.claimed_until is not None and row.claimed_until < now:
        claimed = replace(claimed, error=UNCONFIRMED + "an earlier attempt's claim lapsed")
    return claimed


def _lease_of(direct: tuple[ClaimReceiver, timedelta] | None) -> timedelta | None:
    return None if direct is None else direct[1]


def _held(claimed_until: datetime | None, now: datetime) -> bool:
    return claimed_until is not None and claimed_until >= now


def _contiguous(rows: Sequence[OutboxRow], now: datetime, room: int) -> list[OutboxRow]:
    """A conversation's head row and the pending rows right after it, up to ``room``
    followers, stopping at one someone else holds: order must stay contiguous."""
    run = [rows[0]]
    for follower in rows[1:]:
        if len(run) > room or _held(follower.claimed_until, now):
            break
        run.append(follower)
    return run


def _check_status(status: str) -> None:
    if status not in CONVERSATION_STATUSES:
        raise ValueError(
            f"unknown conversation status {status!r}; use one of {sorted(CONVERSATION_STATUSES)}"
        )


def _cancel_conversations(where: sa.ColumnElement[bool], now: datetime) -> sa.Update:
    return (
        conversations.update()
        .where(where)
        .values(status=CANCELLED, version=_conv.version + 1, updated_at=now)
    )


def _cancel_pending(where: sa.ColumnElement[bool], reason: str) -> sa.Update:
    """Pending outbox rows matching ``where`` will never be sent: mark them cancelled."""
    return (
        outbox.update()
        .where(where, _out.status == PENDING)
        .values(status=CANCELLED, claimed_until=None, claim_token=None, error=reason)
    )


def _settle_claim(conn: sa.Connection, row: OutboxRow, **values: Any) -> bool:
    """Release our claim on a pending row, setting ``values``; False if the claim was lost."""
    released = conn.execute(
        outbox.update()
        .where(_out.id == row.id, _out.claim_token == row.claim_token, _out.status == PENDING)
        .values(claimed_until=None, claim_token=None, **values)
    )
    return bool(released.rowcount)


class _HotStatements:
    """The statements on every step's path, compiled once for the store's dialect and
    run on the driver (see :mod:`bot.store.driver`); the rest go through SQLAlchemy."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self._dialect = dialect
        postgres = dialect.name == "postgresql"
        insert = pg_dialect.insert if postgres else sqlite_dialect.insert
        mark_seen = (
            insert(seen_events)
            .on_conflict_do_nothing(index_elements=[seen_events.c.key])
            .returning(seen_events.c.key)
        )
        upsert = insert(recommendations)
        upsert_recommendation = upsert.on_conflict_do_update(
            index_elements=[recommendations.c.conversation_id],
            set_={"summary": upsert.excluded.summary, "created_at": upsert.excluded.created_at},
        )
        self.select_by_id = Prepared(_SELECT_BY_ID, dialect)
        self.select_by_thread = Prepared(_SELECT_BY_THREAD, dialect)
        self.select_open_for_user = Prepared(_SELECT_OPEN_FOR_USER, dialect)
        self.step_update = Prepared(_STEP_UPDATE, dialect)
        self.insert_conversation = Prepared(
            _INSERT_CONVERSATION, dialect, [c.name for c in conversations.columns]
        )
        self.earlier_pending = Prepared(_EARLIER_PENDING, dialect)
        self.pending_of_one = Prepared(_PENDING_OF_ONE, dialect)
        self.ref_targets = Prepared(_REF_TARGETS, dialect)
        self.mark_sent = Prepared(_MARK_SENT, dialect)
        self.set_thread = Prepared(_SET_THREAD, dialect)
        self.mark_seen = Prepared(mark_seen, dialect, ["key", "seen_at"])
        self.upsert_recommendation = Prepared(
            upsert_recommendation,
            dialect,
            [c.name for c in recommendations.columns if c.name != "id"],
        )
        self.current_state = Prepared(_CURRENT_STATE, dialect)
        # Only PostgreSQL needs the row lock; SQLite serializes writers already.
        self.lock_conversation = Prepared(_LOCK_CONVERSATION, dialect) if postgres else None
        self.release_token = Prepared(_RELEASE_TOKEN, dialect)
        self.mark_expired = Prepared(_MARK_EXPIRED, dialect)
        self._inserts: dict[tuple[int, bool], Prepared] = {}
        self._claims: dict[int, Prepared] = {}

    def insert_outbox(self, n: int, returning: bool) -> Prepared:
        """The INSERT of ``n`` outbox rows (see :func:`_insert_outbox_rows`)."""
        key = (n, returning)
        found = self._inserts.get(key)
        if found is None:
            found = self._inserts[key] = Prepared(_insert_outbox_rows(n, returning), self._dialect)
        return found

    def claim_free(self, n: int) -> Prepared:
        """The claim of ``n`` free rows (see :func:`_claim_free`)."""
        found = self._claims.get(n)
        if found is None:
            found = self._claims[n] = Prepared(_claim_free(n), self._dialect)
        return found
