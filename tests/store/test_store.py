"""Store behaviour, run on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from bot.store import (
    ConversationNotFound,
    OutboxMessage,
    Outcome,
    Page,
    Store,
)
from tests.store.conftest import Database
from tests.store.helpers import START, FakeClock, new_conversation


def test_create_get_and_find_by_thread(store: Store, clock: FakeClock) -> None:
    record = {"state": "q1", "answers": {"gpu": "A100"}, "note": "naïve ✓ <b>"}
    created = store.create_conversation(
        team="T1",
        channel="C1",
        user="U1",
        flow_name="llm_cost",
        flow_hash="h1",
        record=record,
        thread_ts="1700000000.000100",
    )
    assert created.version == 1
    assert created.status == "active"
    assert len(created.id) == 32
    assert created.expires_at == START + timedelta(hours=24)

    got = store.get(created.id)
    assert got == created
    assert got.record == record
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert store.find_by_thread("T1", "C1", "1700000000.000100") == created
    assert store.find_by_thread("T1", "C2", "1700000000.000100") is None
    assert store.get("0" * 32) is None


def test_create_with_outbox_numbers_rows(store: Store) -> None:
    cid = new_conversation(
        store,
        [
            OutboxMessage("post", {"text": "hello"}, ref="root", sets_thread=True),
            OutboxMessage("pin", {"ts": {"$ref": "root"}}),
        ],
    )
    rows = store.outbox_rows(cid)
    assert [(r.seq, r.kind, r.ref, r.sets_thread, r.status, r.attempts) for r in rows] == [
        (1, "post", "root", True, "pending", 0),
        (2, "pin", None, False, "pending", 0),
    ]
    assert rows[1].payload == {"ts": {"$ref": "root"}}


def test_duplicate_thread_is_rejected_and_stores_nothing(store: Store) -> None:
    new_conversation(store, thread_ts="1.1")
    with pytest.raises(sa.exc.IntegrityError):
        store.create_conversation(
            team="T1",
            channel="C1",
            user="U2",
            flow_name="f",
            flow_hash="h",
            record={},
            thread_ts="1.1",
            outbox=[OutboxMessage("post", {})],
        )
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM conversations")).scalar() == 1


def test_several_threadless_conversations_allowed(store: Store) -> None:
    a = new_conversation(store)
    b = new_conversation(store)
    assert a != b


def test_find_open_for_user_returns_newest_active(store: Store, clock: FakeClock) -> None:
    old = new_conversation(store)
    clock.advance(60)
    newer = new_conversation(store)
    clock.advance(60)
    done = new_conversation(store)
    store.apply_step(done, 1, {}, status="finished")
    new_conversation(store, user="U2")
    new_conversation(store, channel="C2")

    found = store.find_open_for_user("T1", "C1", "U1")
    assert found is not None and found.id == newer
    store.cancel(newer)
    assert store.find_open_for_user("T1", "C1", "U1").id == old
    clock.advance(hours=25)
    assert store.find_open_for_user("T1", "C1", "U1") is None
    assert store.find_open_for_user("T1", "C1", "U9") is None


def test_apply_step_applied(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, [OutboxMessage("post", {"n": 1})])
    clock.advance(10)
    result = store.apply_step(
        cid, 1, {"state": "q2"}, [OutboxMessage("update", {"n": 2}), OutboxMessage("post", {})]
    )
    assert result.outcome == "applied" and result.outcome is Outcome.APPLIED
    assert result.ok and result.version == 2
    conv = store.get(cid)
    assert conv.version == 2 and conv.record == {"state": "q2"} and conv.status == "active"
    assert conv.updated_at == START + timedelta(seconds=10)
    assert conv.expires_at == START + timedelta(seconds=10, hours=24)
    assert [r.seq for r in store.outbox_rows(cid)] == [1, 2, 3]

    final = store.apply_step(cid, 2, {"state": "done"}, status="finished")
    assert final.ok and final.version == 3
    assert store.get(cid).status == "finished"


def test_apply_step_stale_changes_nothing(store: Store) -> None:
    cid = new_conversation(store)
    assert store.apply_step(cid, 1, {"a": 1}, [OutboxMessage("post", {})]).ok
    before = store.get(cid)
    stale = store.apply_step(cid, 1, {"a": "double click"}, [OutboxMessage("post", {})])
    assert stale.outcome == "stale" and not stale.ok and stale.version == 2
    assert store.get(cid) == before
    assert len(store.outbox_rows(cid)) == 1
    future = store.apply_step(cid, 7, {"a": "x"})
    assert future.outcome == "stale" and future.version == 2


def test_a_finished_conversation_can_move_back_but_a_cancelled_one_cannot(store: Store) -> None:
    cid = new_conversation(store)
    assert store.apply_step(cid, 1, {}, status="finished").ok
    stale = store.apply_step(cid, 1, {"double": "click"})
    assert stale.outcome == "stale" and stale.version == 2
    back = store.apply_step(cid, 2, {"back": True}, status="active")
    assert back.ok and back.version == 3
    assert store.get(cid).status == "active"
    other = new_conversation(store)
    assert store.cancel(other).ok
    assert store.apply_step(other, 2, {}).outcome == "stale"


def test_apply_step_past_expiry_is_refused_and_left_for_the_expiry(
    store: Store, clock: FakeClock
) -> None:
    cid = new_conversation(store)
    clock.advance(hours=24)  # expires_at <= now
    result = store.apply_step(cid, 1, {"late": True}, [OutboxMessage("post", {})])
    assert result.outcome == "expired" and result.version == 1
    conv = store.get(cid)
    # Not marked expired here: the expiry pass marks it, with its thread's tidy-up.
    assert conv.status == "active" and conv.record == {"state": "start"}
    assert [row.id for row in store.idle_conversations()] == [cid]
    assert store.outbox_rows(cid) == []
    assert store.apply_step(cid, 1, {}).outcome == "expired"


def test_apply_step_missing(store: Store) -> None:
    result = store.apply_step("f" * 32, 1, {})
    assert result.outcome == "missing" and result.version is None and not result.ok


def test_apply_step_is_all_or_nothing(store: Store) -> None:
    cid = new_conversation(store)
    bad = OutboxMessage("post", {"not json": object()})
    with pytest.raises(sa.exc.StatementError, match="not JSON serializable"):
        store.apply_step(
            cid, 1, {"a": 1}, [OutboxMessage("post", {"ok": 1}), bad], recommendation={"x": 1}
        )
    conv = store.get(cid)
    assert conv.version == 1 and conv.record == {"state": "start"}
    assert store.outbox_rows(cid) == []
    assert store.history("T1", channel="C1", page=Page()).rows == []
    assert store.apply_step(cid, 1, {"a": 1}, [OutboxMessage("post", {"ok": 1})]).ok


def test_invalid_status_rejected(store: Store) -> None:
    cid = new_conversation(store)
    with pytest.raises(ValueError, match="unknown conversation status"):
        store.apply_step(cid, 1, {}, status="done")
    with pytest.raises(ValueError):
        new_conversation(store, status="open")


def test_recommendations(store: Store, clock: FakeClock) -> None:
    ids = []
    for i in range(7):
        clock.advance(60)
        cid = new_conversation(store, user=f"U{i}")
        result = store.apply_step(
            cid, 1, {}, status="finished", recommendation={"instance": f"p{i}", "i": i}
        )
        assert result.ok
        ids.append(cid)
    stale = store.apply_step(ids[0], 1, {}, recommendation={"instance": "nope"})
    assert stale.outcome == "stale"
    other = new_conversation(store, channel="C2")
    store.apply_step(other, 1, {}, status="finished", recommendation={"instance": "elsewhere"})

    recent = store.history("T1", channel="C1", page=Page(1, 5)).rows
    assert [r.summary["i"] for r in recent] == [6, 5, 4, 3, 2]
    assert recent[0].conversation_id == ids[6]
    assert (recent[0].user, recent[0].channel) == ("U6", "C1")
    two = store.history("T1", channel="C1", page=Page(1, 2)).rows
    assert [r.summary["i"] for r in two] == [6, 5]
    assert [r.summary for r in store.history("T1", channel="C2", page=Page()).rows] == [
        {"instance": "elsewhere"}
    ]
    assert store.history("T2", channel="C1", page=Page()).rows == []


def test_mark_seen_once(store: Store) -> None:
    processed = []
    for _ in range(3):  # Slack delivers the same event_id again
        if store.mark_seen("Ev123"):
            processed.append("Ev123")
    assert processed == ["Ev123"]
    assert store.mark_seen("Ev124") is True


def test_mark_seen_concurrent_threads(store: Store) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        results.append(store.mark_seen("action:conv:3"))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]


def test_cancel(store: Store) -> None:
    cid = new_conversation(store)
    assert store.cancel(cid, expected_version=5).outcome == "stale"
    result = store.cancel(cid, expected_version=1)
    assert result.ok and result.version == 2
    assert store.get(cid).status == "cancelled"
    assert store.cancel(cid).outcome == "stale"
    assert store.cancel("0" * 32).outcome == "missing"


def test_idle_conversations_and_expire(store: Store, clock: FakeClock) -> None:
    a = new_conversation(store)
    clock.advance(hours=12)
    b = new_conversation(store)
    done = new_conversation(store)
    store.apply_step(done, 1, {}, status="finished")
    clock.advance(hours=12)
    assert [row.id for row in store.idle_conversations()] == [a]
    assert not store.expire(a, 2, [])  # it moved since version 2 was read: no
    assert store.expire(a, 1, [OutboxMessage("update", {"ts": "1.2"})])
    assert store.get(a).status == "expired" and store.get(a).version == 2
    assert [r.kind for r in store.outbox_rows(a)] == ["update"]
    assert store.get(b).status == "active"
    assert store.get(done).status == "finished"
    assert store.idle_conversations() == []


def test_set_thread_ts(store: Store) -> None:
    cid = new_conversation(store)
    store.set_thread_ts(cid, "1700000000.1")
    assert store.find_by_thread("T1", "C1", "1700000000.1").id == cid
    with pytest.raises(ConversationNotFound):
        store.set_thread_ts("0" * 32, "1.2")


def test_enqueue_continues_seq(store: Store) -> None:
    cid = new_conversation(store, [OutboxMessage("post", {})])
    store.apply_step(cid, 1, {}, [OutboxMessage("post", {})], status="finished")
    store.enqueue(cid, [OutboxMessage("ephemeral", {"text": "sorry"})])
    store.enqueue(cid, [])
    rows = store.outbox_rows(cid)
    assert [(r.seq, r.kind) for r in rows] == [(1, "post"), (2, "post"), (3, "ephemeral")]
    with pytest.raises(ConversationNotFound):
        store.enqueue("0" * 32, [OutboxMessage("post", {})])


def test_purge(store: Store, clock: FakeClock) -> None:
    store.mark_seen("old")
    active = new_conversation(
        store, [OutboxMessage("post", {}, ref="root"), OutboxMessage("post", {})]
    )
    done = new_conversation(
        store, [OutboxMessage("post", {}, ref="root"), OutboxMessage("post", {})]
    )
    store.apply_step(done, 1, {}, status="finished")
    rows = store.claim_outbox(lease=timedelta(seconds=30), batch=50)
    for row in rows:
        assert store.record_sent(row, "1.0")
    waiting = new_conversation(store, [OutboxMessage("post", {})])
    clock.advance(hours=23)
    store.mark_seen("recent")

    assert store.purge().total == 0
    clock.advance(hours=2)
    counts = store.purge()
    assert (counts.seen_events, counts.outbox) == (1, 0)
    assert store.mark_seen("old") is True and store.mark_seen("recent") is False

    clock.advance(days=7)
    counts = store.purge()
    assert counts.outbox == 3  # the active conversation's "root" stays for later refs
    assert [r.ref for r in store.outbox_rows(active)] == ["root"]
    assert store.outbox_rows(done) == []
    assert [r.status for r in store.outbox_rows(waiting)] == ["pending"]


def test_stores_share_one_database(db: Database, clock: FakeClock) -> None:
    a = db.make_store(clock=clock)
    b = db.make_store(clock=clock, idle_timeout=timedelta(minutes=5))
    cid = new_conversation(a)
    assert b.apply_step(cid, 1, {"from": "b"}).ok
    assert a.get(cid).record == {"from": "b"}
    assert a.get(cid).expires_at == clock() + timedelta(minutes=5)
    assert a.get(cid).expires_at.tzinfo == UTC
