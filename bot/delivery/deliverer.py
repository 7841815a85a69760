"""The outbox deliverer: sends committed outbox rows to Slack, in order, exactly once.

Guarantees and the one gap:

* Rows are written in the same transaction as the step that produced them, so a
  crash between commit and send loses nothing: any deliverer (this process after
  a restart, or another replica) picks them up.
* A row is claimed (``claimed_until`` lease + claim token) before it is sent, so
  several deliverers (threads or processes, SQLite or PostgreSQL) never send the
  same row twice in normal operation. A dead deliverer's claims are retaken when
  its lease runs out.
* Per conversation, a later row is never sent before an earlier one is sent or
  given up.
* At-least-once window: if the process dies (or loses its lease because a send took
  longer than the lease) after Slack accepted a message but before the row was
  recorded as sent, the row is sent again once the lease expires. Keep the
  Sender's HTTP timeout well below ``lease``. A Sender can close the window for
  kinds it can look up: the row it gets says whether the last attempt may have
  reached Slack (``unconfirmed``; the Slack sender then looks for the post before
  posting it again).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from bot.delivery.contract import (
    UNRESOLVED_REF,
    AfterSend,
    Delivered,
    OnGiveUp,
    Outcome,
    PermanentFailure,
    Postpone,
    RetryLater,
    Sender,
)
from bot.delivery.policy import RetryPolicy
from bot.delivery.refs import UnresolvedRef, ref_names, resolve_refs
from bot.delivery.running import Background
from bot.store.models import (
    FAILED,
    SENT,
    Claims,
    OutboxMessage,
    OutboxRow,
    RefTarget,
)
from bot.store.retention import run_retention
from bot.store.store import Store

logger = logging.getLogger(__name__)

KNOWN_CONVERSATIONS = 5000  # conversations whose sent refs are kept in memory
#: One attempt's outcome, the ts it gave and the error it met.
Attempt = tuple[Outcome, str | None, str | None]


class Deliverer(Background):
    """Claims due outbox rows and sends them through a :class:`Sender`.

    Three ways rows reach the sender threads (``workers``), each conversation in
    order: rows claimed by the very transaction that committed them (a write given
    :meth:`claims`, then :meth:`send_claimed`); rows committed while
    the conversation's earlier ones were being sent, by this process or another,
    which that thread claims as it records its last sends; and the claim loop
    (:meth:`_run`, :meth:`deliver_due`) for everything else: retries, other
    processes' leftovers, rows of a stopped process whose lease ran out. All of them
    join one first-come, first-served queue: rows a sender claimed behind its own go
    to the back of it too, since sent at once they would overtake every conversation
    already waiting (at full load that made some clicks fast and the rest wait
    longer: a wider tail, see `bench/README.md`).

    The deliverer and its sender only send. What follows is the application's, given
    here as hooks: ``on_give_up`` (what to queue when a row is given up) and, per kind,
    :meth:`after_send` hooks, run once a row is sent and never when it fails.
    """

    def __init__(
        self,
        store: Store,
        sender: Sender,
        *,
        policy: RetryPolicy | None = None,
        batch: int = 50,
        lease: float = 30.0,
        poll_interval: float = 0.2,
        clock: Callable[[], datetime] | None = None,
        maintenance_interval: float | None = 600.0,
        maintenance: Callable[[], object] | None = None,
        workers: int = 8,
        on_give_up: OnGiveUp | None = None,
    ) -> None:
        if batch < 1 or lease <= 0 or workers < 1:
            raise ValueError("batch and workers must be >= 1 and lease > 0")
        self.store = store
        self.sender = sender
        self.policy = policy or RetryPolicy()
        self.batch = batch
        self.lease = timedelta(seconds=lease)
        self.poll_interval = poll_interval
        self.maintenance_interval = maintenance_interval
        self._maintenance = maintenance or (lambda: run_retention(store))
        self._clock = clock or store.clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.workers = workers
        self._on_give_up = on_give_up
        self._after: dict[str, list[AfterSend]] = {}
        self._repeatable = frozenset(getattr(sender, "repeatable", ()))
        # Thread links sends gave, by row id, until the row is recorded sent. A
        # conversation's rows go through one thread at a time; ids are unique.
        self._links: dict[int, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox-send")
        self._in_flight: dict[Future[int], list[OutboxRow]] = {}
        self._sent_total = 0  # rows sent so far, for `deliver_due` (under _room)
        # The claim loop's own groups: it claims more only while these leave room.
        self._polled: set[Future[int]] = set()
        self._room = threading.Condition()
        # The Slack ts of messages this process sent, per conversation (most recent
        # conversations only): most refs resolve here without a query.
        self._known: OrderedDict[str, dict[str, RefTarget]] = OrderedDict()
        self._known_lock = threading.Lock()

    def after_send(self, kind: str, hook: AfterSend) -> None:
        """Run ``hook`` after each row of ``kind`` is sent, before it is recorded; the
        messages it returns are queued for the row's conversation. A hook that raises
        has the row tried again (so it must bear a repeat: key what it does on the row),
        and hooks go only on kinds that may be sent twice."""
        self._after.setdefault(kind, []).append(hook)

    # ---- one pass ------------------------------------------------------------------

    def deliver_due(self) -> int:
        """One pass, for tests and tools: claim due rows, send them (conversations in
        parallel, each in order) and the rows queued behind them meanwhile, record the
        results; returns the rows sent by any group meanwhile. It waits until no send is
        under way, so it is not for a deliverer whose loop runs (:meth:`start`), nor for
        a hook or sender of its own."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("deliver_due() is for a deliverer whose loop is not running")
        with self._room:
            before = self._sent_total
        self._dispatch(self.batch)
        with self._room:
            while self._in_flight:
                self._room.wait()
            return self._sent_total - before

    def _dispatch(self, limit: int) -> list[Future[int]]:
        """Claim up to ``limit`` due rows and hand each conversation to a sender thread."""
        rows = self.store.claim_outbox(lease=self.lease, batch=limit, now=self._clock())
        groups: dict[str, list[OutboxRow]] = {}
        for row in rows:
            groups.setdefault(row.conversation_id, []).append(row)
        queued = (self._queue(group, polled=True) for group in groups.values())
        return [future for future in queued if future is not None]

    def _queue(self, group: list[OutboxRow], *, polled: bool = False) -> Future[int] | None:
        """Hand one conversation's claimed rows to a sender thread; once stopping, give
        them back instead (None)."""
        if not self._stop.is_set():
            try:
                return self._submit(group, polled=polled)
            except RuntimeError:  # the pool is shutting down
                pass
        self._release(group, "at stop")
        return None

    def _submit(self, group: list[OutboxRow], *, polled: bool = False) -> Future[int]:
        """Hand one conversation's claimed rows to a sender thread."""
        future = self._pool.submit(self._deliver_group, group)
        with self._room:
            self._in_flight[future] = group
            if polled:
                self._polled.add(future)
        future.add_done_callback(self._finished)
        return future

    def claims(self) -> Claims:
        """A request to claim the rows a write queues, for this deliverer's lease: pass
        it to the store's write, then to :meth:`send_claimed` (after answering Slack)."""
        return Claims(self.lease)

    def send_claimed(self, claims: Claims) -> None:
        """Rows claimed as they were committed go straight to a sender thread. A
        conversation listed with no rows has rows queued behind earlier ones nobody
        holds: the claim loop wakes up for it."""
        taken, claims.taken = claims.taken, []
        for _, rows in taken:
            if rows:
                self._queue(rows)
            else:
                self._wake.set()

    def _known_targets(self, conversation_id: str) -> dict[str, RefTarget]:
        with self._known_lock:
            return dict(self._known.get(conversation_id, {}))

    def _remember(self, conversation_id: str, ref: str, target: RefTarget) -> None:
        with self._known_lock:
            self._known.setdefault(conversation_id, {})[ref] = target
            self._known.move_to_end(conversation_id)
            while len(self._known) > KNOWN_CONVERSATIONS:
                self._known.popitem(last=False)

    def _finished(self, future: Future[int]) -> None:
        with self._room:
            group = self._in_flight.pop(future, None)
            polled = future in self._polled
            self._polled.discard(future)
            self._room.notify_all()
        if future.cancelled() and group:  # never started (at stop): give the rows back
            # This runs in the thread that shut the pool down, under the pool's shutdown
            # lock: nothing may submit to the pool while holding a lock this takes.
            self._release(group, "at stop")
        if polled:
            self._wake.set()  # a claim pass stops at `batch` rows: there may be more

    def _release(self, rows: list[OutboxRow], when: str) -> None:
        """Give back claims now, so the rows need not wait for the lease to run out."""
        try:
            self.store.release_claims([r.id for r in rows], rows[0].claim_token or "")
        except Exception:
            logger.warning("outbox: could not release claims %s; they expire with the lease", when)

    def _deliver_group(self, rows: list[OutboxRow]) -> int:
        """Send one conversation's claimed rows; the rows queued behind them while they
        were being sent (claimed when the last sends are recorded) join the back of the
        queue."""
        sent, follow = self._deliver_claimed(rows)
        with self._room:
            self._sent_total += sent
        if follow:
            self._queue(follow)
        return sent

    def _deliver_claimed(self, rows: list[OutboxRow]) -> tuple[int, list[OutboxRow]]:
        """Send claimed rows of one conversation: (rows sent, rows claimed next). On an
        unexpected error give back the claims at once, so they are retried on the next
        pass rather than after the lease."""
        try:
            return self._deliver_conversation(rows)
        except Exception:
            logger.exception("outbox: delivering conversation %s failed", rows[0].conversation_id)
            self._release(rows, "after the failure")
            self._wake.set()  # rows queued behind these wait for a claim pass
            return 0, []

    def _deliver_conversation(self, rows: list[OutboxRow]) -> tuple[int, list[OutboxRow]]:
        token = rows[0].claim_token
        until = rows[0].claimed_until
        assert token is not None and until is not None
        conversation_id = rows[0].conversation_id
        targets = self._known_targets(conversation_id)
        wanted: set[str] = set()
        for row in rows:
            wanted |= ref_names(row.payload)
        wanted -= {row.ref for row in rows if row.ref}  # sent earlier in this very group
        if not wanted <= targets.keys():
            targets = self.store.ref_targets(conversation_id, rows[0].seq)
        plan = getattr(self.sender, "plan", None)
        if plan is not None:
            plan(rows)

        sent = 0
        unrecorded: list[tuple[OutboxRow, str | None]] = []
        follow: list[OutboxRow] = []

        def record(last: bool = False) -> bool:
            """Record the sends not yet recorded (after the run's last row, also claim the
            rows queued behind the run meanwhile); False when the claim was lost."""
            nonlocal sent, follow
            now = self._clock()
            links = {r.id: self._links.pop(r.id) for r, _ in unrecorded if r.id in self._links}
            if last and not self._stop.is_set():
                done, follow = self.store.record_sent_and_claim_next(
                    unrecorded, conversation_id, lease=self.lease, now=now, permalinks=links
                )
            elif unrecorded:
                done = self.store.record_sent_many(unrecorded, now=now, permalinks=links)
            else:
                return True
            sent += len(done)
            lost = [row.id for row, _ in unrecorded if row.id not in done]
            unrecorded.clear()
            if lost:
                logger.warning(
                    "outbox: rows %s were sent but their claim had expired; they may be sent twice",
                    lost,
                )
            return not lost

        for i, row in enumerate(rows):
            now = self._clock()
            if now >= until - self.lease / 2:
                record()
                remaining = [r.id for r in rows[i:]]
                until = now + self.lease
                if self.store.extend_claims(remaining, token, until) < len(remaining):
                    logger.warning(
                        "outbox: lost the claim on conversation %s at seq %s; leaving it",
                        row.conversation_id,
                        row.seq,
                    )
                    return sent, []
            outcome, ts, error = self._attempt(row, targets)
            if outcome is Outcome.DELIVERED:
                outcome = Outcome.SENT
                unrecorded.append((row, ts))
                # A post is recorded before anything else is sent; the run's last row is,
                # with what follows it, after the loop.
                more = i < len(rows) - 1
                if more and row.kind not in self._repeatable and not record():
                    return sent, []  # the claim was lost: whoever holds it now goes on
            if outcome is Outcome.ENDED:
                break  # the conversation's other rows were cancelled with it
            if row.ref is not None and outcome in (Outcome.SENT, Outcome.FAILED):
                status = SENT if outcome is Outcome.SENT else FAILED
                targets[row.ref] = RefTarget(row.seq, status, ts, error)
                self._remember(conversation_id, row.ref, targets[row.ref])
            if outcome not in (Outcome.SENT, Outcome.FAILED):
                # Retry later (or claim lost): later rows must wait for this one.
                record()
                self.store.release_claims([r.id for r in rows[i + 1 :]], token)
                return sent, []
        record(last=True)
        return sent, follow

    def _attempt(self, row: OutboxRow, targets: Mapping[str, RefTarget]) -> Attempt:
        """Send one row and run its after-send hooks. Failures are recorded here; a
        delivery is left for the caller to record."""
        try:
            payload = resolve_refs(row.payload, targets)
        except UnresolvedRef as exc:
            return self._give_up(row, PermanentFailure(str(exc), code=UNRESOLVED_REF), row.attempts)
        logger.debug("outbox: sending row %s (%s) payload=%r", row.id, row.kind, payload)
        try:
            sent = self._kept(row, self.sender.send(row, payload))
        except Postpone as exc:  # a pacing turn or a 429: the policy says how long
            pause = timedelta(seconds=self.policy.pause(exc.delay, unconfirmed=exc.unconfirmed))
            kept = self.store.record_retry(
                row,
                attempts=row.attempts,
                next_attempt_at=self._clock() + pause,
                error=exc.reason,
                unconfirmed=exc.unconfirmed,
            )
            return (Outcome.RETRY if kept else Outcome.LOST), None, exc.reason
        except RetryLater as exc:
            return self._retry(row, exc)
        except PermanentFailure as exc:
            return self._give_up(row, exc, row.attempts + 1)
        except Exception as exc:
            logger.warning(
                "outbox: sender raised %s on row %s (conversation %s); will retry",
                type(exc).__name__,
                row.id,
                row.conversation_id,
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )
            return self._retry(row, RetryLater(f"{type(exc).__name__}: {exc}"))
        logger.debug("outbox: sent row %s seq %s ts=%s", row.id, row.seq, sent.ts)
        return Outcome.DELIVERED, sent.ts, None

    def _kept(self, row: OutboxRow, result: str | Delivered | None) -> Delivered:
        """What a send gave back, after the kind's after-send hooks ran on it (what they
        queue is queued now); a thread link it gave waits in ``_links`` to be recorded
        with the row (one transaction: see `_deliver_conversation`)."""
        sent = result if isinstance(result, Delivered) else Delivered(ts=result)
        follow = [m for hook in self._after.get(row.kind, ()) for m in hook(row, sent)]
        if follow:
            self.store.enqueue(row.conversation_id, follow)
        if sent.permalink:
            self._links[row.id] = sent.permalink
        return sent

    def _retry(self, row: OutboxRow, failure: RetryLater) -> Attempt:
        attempts = row.attempts + 1
        error = failure.error
        delay = self.policy.delay(
            row, self._clock(), retry_after=failure.retry_after, unanswered=failure.unanswered
        )
        if delay is None:
            failure = PermanentFailure(f"{error} (gave up after {attempts} attempts)")
            return self._give_up(row, failure, attempts)
        next_at = self._clock() + timedelta(seconds=delay)
        logger.info(
            "outbox: row %s (conversation %s) failed with %s; retry %s in %.1fs",
            row.id,
            row.conversation_id,
            error,
            attempts,
            delay,
        )
        ok = self.store.record_retry(
            row,
            attempts=attempts,
            next_attempt_at=next_at,
            error=error,
            unconfirmed=failure.unconfirmed,
        )
        return (Outcome.RETRY if ok else Outcome.LOST), None, error

    def _give_up(self, row: OutboxRow, failure: PermanentFailure, attempts: int) -> Attempt:
        notices: Sequence[OutboxMessage] = ()
        try:
            if self._on_give_up is not None:
                notices = list(self._on_give_up(row, failure) or ())
        except Exception:
            logger.exception("outbox: the give-up hook raised for row %s", row.id)
        # One WARNING per refusal: the hook's, when it reported it (with what to do).
        logger.log(
            logging.INFO if failure.reported else logging.WARNING,
            "outbox: giving up row %s (conversation %s, %s): %s",
            row.id,
            row.conversation_id,
            row.kind,
            failure.error,
        )
        ok = self.store.record_failed(
            row,
            attempts=attempts,
            error=failure.error,
            notices=notices,
            ends_conversation=failure.ends_conversation,
            now=self._clock(),
        )
        if not ok:
            return Outcome.LOST, None, failure.error
        return (Outcome.ENDED if failure.ends_conversation else Outcome.FAILED), None, failure.error
