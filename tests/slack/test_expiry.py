"""One expiry: every idle conversation is expired with its thread tidied up, batch after
batch until none is left (`bot.slack.expiry`), on SQLite and PostgreSQL; retention
only purges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.conversation import Conversation
from bot.flow.loader import FlowRegistry, load_flow
from bot.slack import blocks
from bot.slack.expiry import expire_all
from bot.slack.moves import Moves
from bot.slack.plan import Click
from bot.store import Store, run_retention
from bot.store.models import ACTIVE, EXPIRED, ConversationRow
from tests.store.conftest import Database, db  # noqa: F401 - shared fixture
from tests.store.helpers import FakeClock

TEAM, CHANNEL = "T1", "C1"
IDLE = timedelta(hours=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(db: Database, clock: FakeClock) -> Store:  # noqa: F811
    return db.make_store(clock=clock, idle_timeout=IDLE)


@pytest.fixture
def moves(store: Store) -> Moves:
    flows = FlowRegistry([load_flow("llm_cost")])
    return Moves(store, flows, flow_name="llm_cost", command="/llm-cost")


def start(moves: Moves, user: str) -> str:
    cid = moves.start(team=TEAM, channel=CHANNEL, user=user, response_url=None)
    assert cid is not None
    return cid


def answer(moves: Moves, store: Store, cid: str, user: str) -> None:
    """Press the first button of the question being asked."""
    row = store.get(cid)
    assert row is not None
    conversation = Conversation.restore(moves.flows, row.record)
    question = conversation.question()
    assert question is not None
    option = question.options[0].index
    value = blocks.button_value(cid, conversation.step, option)
    moves.click(Click(TEAM, CHANNEL, user, blocks.ANSWER_ACTION + str(option), value, "u"))


def tidy_up(store: Store, cid: str) -> list[tuple[str, object]]:
    """The edits queued for a conversation, each with the message it edits."""
    rows = store.outbox_rows(cid)
    return [("update", r.payload["ts"].get("$ref")) for r in rows if r.kind == "update"]


def counting_batches(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every batch the expiry reads."""
    sizes: list[int] = []
    read = store.idle_conversations

    def idle(limit: int = 100) -> list[ConversationRow]:
        rows = read(limit)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(store, "idle_conversations", idle)
    return sizes


def test_every_idle_conversation_is_tidied_up_in_batches(
    moves: Moves, store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [f"U{i}" for i in range(8)]
    cids = [start(moves, user) for user in users]
    answer(moves, store, cids[0], users[0])  # one at its second question
    clock.advance(hours=2)
    fresh = start(moves, "U0LATE")  # not idle: untouched
    sizes = counting_batches(store, monkeypatch)

    assert moves.expire_idle(batch=3) == 8

    assert sizes == [3, 3, 2]  # three batches, the last one short: nothing left
    for cid in cids:
        row = store.get(cid)
        assert row is not None and row.status == EXPIRED
        step = Conversation.restore(moves.flows, row.record).step
        # The open question loses its buttons, the channel message says it expired.
        assert tidy_up(store, cid)[-2:] == [("update", f"q{step}"), ("update", "root")]
    assert store.idle_conversations() == []
    fresh_row = store.get(fresh)
    assert fresh_row is not None and fresh_row.status == ACTIVE and tidy_up(store, fresh) == []


def test_a_batch_whose_conversations_moved_ends_the_pass(
    moves: Moves, store: Store, clock: FakeClock
) -> None:
    """A tidy-up that finds every conversation of a batch moved (another process
    expired them) expires nothing more: the pass ends instead of reading them again."""
    for i in range(4):
        start(moves, f"U{i}")
    clock.advance(hours=2)
    calls: list[str] = []

    def moved(row: ConversationRow) -> bool:
        calls.append(row.id)
        return False

    assert expire_all(store, moved, batch=2) == 0
    assert len(calls) == 2


def test_a_conversation_that_cannot_be_tidied_is_still_expired(
    moves: Moves, store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    broken, *others = [start(moves, f"U{i}") for i in range(5)]
    clock.advance(hours=2)
    tidy: Callable[[ConversationRow], bool] = moves.expire_one

    def flaky(row: ConversationRow) -> bool:
        if row.id == broken:
            raise KeyError("its flow is gone")
        return tidy(row)

    assert expire_all(store, flaky, batch=2) == 5
    assert store.idle_conversations() == []
    assert tidy_up(store, broken) == [] and all(tidy_up(store, cid) for cid in others)
    assert f"could not tidy up conversation {broken}" in caplog.text


def test_a_click_after_the_expiry_time_leaves_the_tidy_up_to_the_pass(
    moves: Moves, store: Store, clock: FakeClock
) -> None:
    """A click on an idle conversation is refused as expired and does not mark it
    expired itself: the expiry pass still finds it and takes its buttons away."""
    cid = start(moves, "U1")
    clock.advance(hours=2)
    answer(moves, store, cid, "U1")
    row = store.get(cid)
    assert row is not None and row.status == ACTIVE and tidy_up(store, cid) == []
    assert moves.expire_idle() == 1
    assert tidy_up(store, cid)[-2:] == [("update", "q0"), ("update", "root")]


def test_retention_only_purges(moves: Moves, store: Store, clock: FakeClock) -> None:
    cid = start(moves, "U1")
    clock.advance(days=30)
    run_retention(store)
    row = store.get(cid)
    assert row is not None and row.status == ACTIVE  # left for the expiry, with its tidy-up
    assert store.idle_conversations()[0].id == cid


def test_the_retention_command_expires_with_the_tidy_up_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m bot retention` (on the real clock): conversations idle for a day are
    expired with their tidy-up queued, and it says what it did."""
    from bot.cli.app import run_command

    data = tmp_path / "data"
    store = Store.from_url(None, data, clock=FakeClock(datetime.now(UTC) - timedelta(days=2)))
    flows = FlowRegistry([load_flow("llm_cost")])
    cids = [
        start(Moves(store, flows, flow_name="llm_cost", command="/llm-cost"), f"U{i}")
        for i in range(3)
    ]
    store.dispose()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)  # no .env here

    assert run_command("retention") == 0

    said = capsys.readouterr().out
    assert said.startswith("expired 3 idle conversations (their threads' tidy-up is queued")
    store = Store.from_url(None, data)
    try:
        for cid in cids:
            row = store.get(cid)
            assert row is not None and row.status == EXPIRED
            assert tidy_up(store, cid) == [("update", "q0"), ("update", "root")]
    finally:
        store.dispose()
