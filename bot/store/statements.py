"""The store's SQL, built once: SQLAlchemy then reuses each statement's cache key and
compiled form, which is most of the per-call cost. The hot ones (every step's path)
are compiled for the dialect and run on the driver (`HotStatements`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.store.driver import Prepared
from bot.store.models import ACTIVE, CANCELLED, FINISHED, PENDING, SENT
from bot.store.schema import (
    JSONText,
    UTCDateTime,
    conversations,
    outbox,
    recommendations,
    seen_events,
    workspace_enterprises,
)

_conv = conversations.c
_out = outbox.c
#: Statuses a step may move from: a finished conversation can still go back or start over.
MOVABLE = (ACTIVE, FINISHED)
#: Most outbox rows one INSERT writes, and one conversation's claim takes.
INSERT_AT_ONCE = 32
CLAIM_AT_ONCE = 32


# Hot-path statements are built once: SQLAlchemy then reuses their cache keys and
# compiled forms, which is most of the per-call cost.
# `ConversationRow` fields: the outbox counter and the thread link are read apart.
CONV_COLUMNS = [c for c in conversations.columns if c.name != "outbox_seq"]
_NOW = sa.bindparam("now", type_=UTCDateTime)
_SELECT_BY_ID = sa.select(*CONV_COLUMNS).where(_conv.id == sa.bindparam("cid"))
_SELECT_BY_THREAD = sa.select(*CONV_COLUMNS).where(
    _conv.team == sa.bindparam("team"),
    _conv.channel == sa.bindparam("channel"),
    _conv.thread_ts == sa.bindparam("thread_ts"),
)
_SELECT_OPEN_FOR_USER = (
    sa.select(*CONV_COLUMNS)
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
CLAIM_HEADS = (
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
CLAIM_HEADS_PG = CLAIM_HEADS.with_for_update(skip_locked=True, of=outbox)
PENDING_OF = (
    sa.select(outbox)
    .where(_out.conversation_id.in_(sa.bindparam("cids", expanding=True)), _out.status == PENDING)
    .order_by(_out.conversation_id, _out.seq)
)
PENDING_OF_ONE = (
    sa.select(outbox)
    .where(_out.conversation_id == sa.bindparam("cid"), _out.status == PENDING)
    .order_by(_out.seq)
)
OUTBOX_FIELDS = tuple(c.name for c in outbox.columns)
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
    "meta",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "claimed_until",
    "claim_token",
)


def _workspace_of(conversation: sa.BindParameter[str]) -> dict[str, sa.ScalarSelect[str]]:
    """A row's workspace and organisation, read from its conversation as it is queued."""
    team = sa.select(_conv.team).where(_conv.id == conversation).scalar_subquery()
    _we = workspace_enterprises.c
    enterprise = sa.select(_we.enterprise).where(_we.team == team).scalar_subquery()
    return {"team": team, "enterprise": enterprise}


def _insert_outbox_rows(n: int, returning: bool) -> sa.Insert:
    """One INSERT of ``n`` outbox rows (parameters ``<column>_<i>``); with ``returning``,
    it returns each new row's (id, seq, team, enterprise)."""
    rows = []
    for i in range(n):
        row = {
            key: sa.bindparam(f"{key}_{i}", type_=outbox.c[key].type) for key in _OUTBOX_INSERT_KEYS
        }
        rows.append(row | _workspace_of(row["conversation_id"]))
    stmt = outbox.insert().values(rows)
    return stmt.returning(_out.id, _out.seq, _out.team, _out.enterprise) if returning else stmt


RESERVE_SEQ = (
    conversations.update()
    .where(_conv.id == sa.bindparam("cid"))
    .values(outbox_seq=_conv.outbox_seq + sa.bindparam("n", type_=sa.Integer))
    .returning(_conv.outbox_seq)
)
_INSERT_CONVERSATION = conversations.insert()
_CURRENT_STATE = sa.select(_conv.version, _conv.status, _conv.expires_at).where(
    _conv.id == sa.bindparam("cid")
)
# The start of a conversation reads these two (a replayed slash command; the person's
# pinned result in the channel): through SQLAlchemy each cost 0.24-0.37 ms, on the
# driver 0.03.
_WAS_SEEN = sa.select(seen_events.c.key).where(seen_events.c.key == sa.bindparam("key"))
_rec = recommendations.c
_PINNED_RESULT = (
    sa.select(_rec.conversation_id, _conv.thread_ts)
    .join(conversations, _conv.id == _rec.conversation_id)
    .where(
        _rec.team == sa.bindparam("team"),
        _rec.channel == sa.bindparam("channel"),
        _rec.user == sa.bindparam("user"),
        _rec.pinned == sa.true(),
    )
    .order_by(_rec.created_at.desc())
    .limit(1)
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
_SET_PERMALINK = (
    conversations.update()
    .where(_conv.id == sa.bindparam("cid"))
    .values(permalink=sa.bindparam("link", type_=sa.String))
)


_rec = recommendations.c
_REC_OF = _rec.conversation_id == sa.bindparam("conversation_id")
#: An estimate changes a result's summary, not the moment it was reached.
_UPDATE_SUMMARY = (
    recommendations.update().where(_REC_OF).values(summary=sa.bindparam("summary", type_=JSONText))
)
#: A cancelled result leaves history (and the App Home).
_DROP_RECOMMENDATION = recommendations.delete().where(_REC_OF)
#: This result becomes its person's one pinned result in the channel.
_PIN_ONLY = (
    recommendations.update()
    .where(
        _rec.team == sa.bindparam("team"),
        _rec.channel == sa.bindparam("channel"),
        _rec.user == sa.bindparam("user"),
        sa.or_(_rec.pinned == sa.true(), _REC_OF),
    )
    .values(pinned=_REC_OF)
)
_UNPIN_ONE = recommendations.update().where(_REC_OF).values(pinned=sa.false())


class HotStatements:
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
        self.pending_of_one = Prepared(PENDING_OF_ONE, dialect)
        self.ref_targets = Prepared(_REF_TARGETS, dialect)
        self.mark_sent = Prepared(_MARK_SENT, dialect)
        self.set_thread = Prepared(_SET_THREAD, dialect)
        self.set_permalink = Prepared(_SET_PERMALINK, dialect)
        self.mark_seen = Prepared(mark_seen, dialect, ["key", "seen_at"])
        self.upsert_recommendation = Prepared(
            upsert_recommendation,
            dialect,
            [c.name for c in recommendations.columns if c.name not in ("id", "pinned")],
        )
        self.update_summary = Prepared(_UPDATE_SUMMARY, dialect)
        self.drop_recommendation = Prepared(_DROP_RECOMMENDATION, dialect)
        self.pin_only = Prepared(_PIN_ONLY, dialect)
        self.unpin_one = Prepared(_UNPIN_ONE, dialect)
        self.current_state = Prepared(_CURRENT_STATE, dialect)
        self.was_seen = Prepared(_WAS_SEEN, dialect)
        self.pinned_result = Prepared(_PINNED_RESULT, dialect)
        # Only PostgreSQL needs the row lock; SQLite serializes writers already.
        self.lock_conversation = Prepared(_LOCK_CONVERSATION, dialect) if postgres else None
        self.release_token = Prepared(_RELEASE_TOKEN, dialect)
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


def cancel_conversations(where: sa.ColumnElement[bool], now: datetime) -> sa.Update:
    """Conversations matching ``where`` that are still open or finished: cancelled."""
    return (
        conversations.update()
        .where(where, _conv.status.in_(MOVABLE))
        .values(status=CANCELLED, version=_conv.version + 1, updated_at=now)
    )


def cancel_pending(where: sa.ColumnElement[bool], reason: str) -> sa.Update:
    """Pending outbox rows matching ``where`` will never be sent: mark them cancelled."""
    return (
        outbox.update()
        .where(where, _out.status == PENDING)
        .values(status=CANCELLED, claimed_until=None, claim_token=None, error=reason)
    )
