"""The outbox queue: messages waiting for Slack, in order per conversation.

Enqueue (also inside a conversation's step, see `bot.store.conversations`), claim
for a lease, record what was sent, retried or given up, release, and look up the
Slack ts that later messages point at. Who sends, and when, is `bot.delivery`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.store import leases
from bot.store.base import StoreBase
from bot.store.claiming import current_claims
from bot.store.driver import driver_of
from bot.store.engine import driver_transaction, write_transaction
from bot.store.errors import ConversationNotFound
from bot.store.models import (
    FAILED,
    PENDING,
    Claims,
    OutboxMessage,
    OutboxRow,
    RefTarget,
)
from bot.store.schema import conversations, outbox
from bot.store.statements import (
    CLAIM_AT_ONCE,
    CLAIM_HEADS,
    CLAIM_HEADS_PG,
    INSERT_AT_ONCE,
    OUTBOX_FIELDS,
    PENDING_OF,
    RESERVE_SEQ,
    cancel_conversations,
    cancel_pending,
)

_conv = conversations.c
_out = outbox.c


class OutboxQueue(StoreBase):
    """The queue's half of the `Store`."""

    # ---- outbox --------------------------------------------------------------------

    def enqueue(
        self,
        conversation_id: str,
        messages: Sequence[OutboxMessage],
        *,
        seen: str | None = None,
        claims: Claims | None = None,
    ) -> bool:
        """Add messages to a conversation's outbox outside a step (e.g. a failure notice),
        claimed into ``claims``, or the request's (`bot.store.claiming`). With ``seen`` (a
        Slack event's key), only the first time that key comes: False, and nothing queued,
        when it was seen before."""
        if not messages:
            return seen is None or self.mark_seen(seen)
        claims = claims if claims is not None else current_claims()
        now = self._now()
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
                claim_for=claims and claims.lease,
            )
        if claims is not None:
            claims.add(conversation_id, claimed)
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
        heads_query = CLAIM_HEADS_PG if self._postgres else CLAIM_HEADS
        token = uuid.uuid4().hex
        until = now + lease
        with write_transaction(self.engine) as conn:
            heads = conn.execute(heads_query, {"now": now, "batch": batch}).all()
            if not heads:
                return []
            order = [h.conversation_id for h in heads]
            pending = conn.execute(PENDING_OF, {"cids": order}).all()
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
                run = leases.contiguous(rows, now, room)
                room -= len(run) - 1
                chosen.extend(run)
            if not chosen:
                return []
            conn.execute(
                outbox.update()
                .where(_out.id.in_([r.id for r in chosen]))
                .values(claimed_until=until, claim_token=token)
            )
        return [leases.claimed(r, until, token, now) for r in chosen]

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
        if not rows or leases.held(rows[0].claimed_until, now) or rows[0].next_attempt_at > now:
            return []
        chosen = leases.contiguous(rows, now, CLAIM_AT_ONCE - 1)
        token, until = uuid.uuid4().hex, now + lease
        params: dict[str, Any] = {"now": now, "until": until, "token": token}
        params.update((f"id{i}", r.id) for i, r in enumerate(chosen))
        if hot.claim_free(len(chosen)).count(conn, params) != len(chosen):
            # Another deliverer took some first (PostgreSQL): leave them all to it.
            hot.release_token.run(conn, {"token": token})
            return []
        return [leases.claimed(r, until, token, now) for r in chosen]

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
        self,
        sent: Sequence[tuple[OutboxRow, str | None]],
        *,
        now: datetime | None = None,
        permalinks: Mapping[int, str] | None = None,
    ) -> set[int]:
        """:meth:`record_sent` for several claimed rows in one transaction; returns the
        ids recorded (the others had lost their claim). ``permalinks``: thread links
        that rows' sends gave (by row id), kept with their conversations."""
        now = now or self._now()
        if not sent:
            return set()
        with driver_transaction(self.engine) as conn:
            return self._mark_sent(conn, sent, now, permalinks)

    def record_sent_and_claim_next(
        self,
        sent: Sequence[tuple[OutboxRow, str | None]],
        conversation_id: str,
        *,
        lease: timedelta,
        now: datetime | None = None,
        permalinks: Mapping[int, str] | None = None,
    ) -> tuple[set[int], list[OutboxRow]]:
        """:meth:`record_sent_many` for the last rows of a claimed run, and in the same
        transaction :meth:`claim_conversation`: rows a step queued behind them while
        they were being sent are claimed by the same sender, with no claim pass between
        (the deliverer queues them behind the conversations already waiting).
        Nothing is claimed when a sent row had lost its claim."""
        with driver_transaction(self.engine) as conn:
            if self._hot.lock_conversation is not None:
                self._hot.lock_conversation.rows(conn, {"cid": conversation_id})
            # Read the clock only now: a step that committed first, while this waited for
            # the lock, may have stamped its rows due later than our caller's moment.
            now = self._now() if now is None else max(now, self._now())
            done = self._mark_sent(conn, sent, now, permalinks)
            if len(done) < len(sent):
                return done, []
            return done, self._claim_next(conn, conversation_id, now, lease)

    def _mark_sent(
        self,
        conn: Any,
        sent: Sequence[tuple[OutboxRow, str | None]],
        now: datetime,
        permalinks: Mapping[int, str] | None = None,
    ) -> set[int]:
        """Mark rows sent if their claim still holds (and keep the thread links they
        gave); the ids marked."""
        mark_sent, set_thread = self._hot.mark_sent, self._hot.set_thread
        links = permalinks or {}
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
            if row.id in links:
                link = {"cid": row.conversation_id, "link": links[row.id][:500]}
                self._hot.set_permalink.count(conn, link)
        return done

    def record_retry(
        self,
        row: OutboxRow,
        *,
        attempts: int,
        next_attempt_at: datetime,
        error: str,
        unconfirmed: bool = False,
    ) -> bool:
        """Put a claimed row back for a later attempt (``unconfirmed``: the attempt may
        have reached Slack); False when the claim was lost."""
        with write_transaction(self.engine) as conn:
            return _settle_claim(
                conn,
                row,
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                error=error,
                unconfirmed=unconfirmed,
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
                conn.execute(cancel_conversations(_conv.id == row.conversation_id, now))
                conn.execute(cancel_pending(_out.conversation_id == row.conversation_id, error))
            if done and notices:
                first_seq = self._reserve_seq(conn, row.conversation_id, len(notices))
                self._insert_outbox(
                    driver_of(conn), row.conversation_id, notices, now, first_seq=first_seq
                )
        return bool(done)

    # ---- helpers -------------------------------------------------------------------

    def _reserve_seq(self, conn: sa.Connection, conversation_id: str, n: int) -> int:
        """Hand out ``n`` outbox seq numbers (locking the conversation row); the first."""
        last = conn.execute(RESERVE_SEQ, {"cid": conversation_id, "n": n}).scalar()
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
                behind_held = leases.held(earlier[0], now)
        rows = [
            {
                "conversation_id": conversation_id,
                "seq": first_seq + i,
                "kind": m.kind,
                "ref": m.ref,
                "sets_thread": m.sets_thread,
                "payload": m.payload,
                "meta": m.meta,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "claimed_until": until,
                "claim_token": token,
            }
            for i, m in enumerate(messages)
        ]
        ids: dict[int, tuple[int, str | None, str | None]] = {}  # seq -> id, workspace
        for start in range(0, len(rows), INSERT_AT_ONCE):
            chunk = rows[start : start + INSERT_AT_ONCE]
            params = {f"{k}_{i}": v for i, row in enumerate(chunk) for k, v in row.items()}
            insert = hot.insert_outbox(len(chunk), returning=token is not None)
            if token is None:
                insert.run(conn, params)
            else:
                found = insert.rows(conn, params)
                ids.update((seq, (row_id, team, org)) for row_id, seq, team, org in found)
        if token is None:
            return None if behind_held else []
        return [
            OutboxRow(
                id=ids[row["seq"]][0],
                slack_ts=None,
                error=None,
                sent_at=None,
                team=ids[row["seq"]][1],
                enterprise=ids[row["seq"]][2],
                **row,
            )
            for row in rows
        ]


def _outbox_row(values: Sequence[Any]) -> OutboxRow:
    """An OutboxRow from a ``select(outbox)`` row (table column order)."""
    return OutboxRow(**dict(zip(OUTBOX_FIELDS, values, strict=True)))


def _settle_claim(conn: sa.Connection, row: OutboxRow, **values: Any) -> bool:
    """Release our claim on a pending row, setting ``values``; False if the claim was lost."""
    released = conn.execute(
        outbox.update()
        .where(_out.id == row.id, _out.claim_token == row.claim_token, _out.status == PENDING)
        .values(claimed_until=None, claim_token=None, **values)
    )
    return bool(released.rowcount)
