"""Outbound rate limits: many conversations started at once in one channel."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.slack.pacing import ChannelPacer
from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import SlackClientSim, slash_command_body
from tests.slack.harness import Slack, running, settings_for, text_of

CHANNEL = "C0BUSY"


def start_many(slack: Slack, count: int) -> None:
    """`count` people type /llm-cost in one channel at (nearly) the same moment."""

    def one(index: int) -> int:
        body = slash_command_body(
            user_id=f"U{index:05d}",
            channel_id=CHANNEL,
            team_id="T0001",
            response_url=slack.fake.response_url(f"r{index}"),
        )
        with SlackClientSim() as client:
            status, _, _ = client.post(slack.apps[0].url, body, secret="test-signing-secret")
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(one, range(count))) == {200}


def assert_all_delivered_once_in_order(fake: FakeSlack, count: int) -> int:
    """Every root and first question posted once, each question after its root; returns
    the median number of posts between a root and its question."""
    posts = [c for c in fake.calls("chat.postMessage") if c.status == 200 and c.ok]
    roots = [c for c in posts if not c.params.get("thread_ts")]
    assert len(roots) == count, f"{len(roots)} roots for {count} conversations"
    # Roots name nobody (a mention would ping): each is told apart by its outbox marker.
    starters = [json.dumps(c.params.get("metadata"), sort_keys=True) for c in roots]
    assert len(set(starters)) == count, "a root message was posted twice"
    by_thread: dict[str, list] = {}
    for call in posts:
        if call.params.get("thread_ts"):
            by_thread.setdefault(call.params["thread_ts"], []).append(call)
    root_times = {c.response["ts"]: c.time for c in roots}
    assert set(by_thread) == set(root_times)
    for thread_ts, replies in by_thread.items():
        assert len(replies) == 1, "a question was posted twice"
        assert replies[0].time >= root_times[thread_ts], "a question overtook its root"
        assert "training or inference" in text_of(replies[0].params)
    # How soon a person's first question follows their root. The pacer books the two
    # neighbouring slots (tested on a fake clock below); end to end the gap also depends
    # on thread scheduling and 429s, so it is reported, not asserted.
    position = {id(call): i for i, call in enumerate(posts)}
    gaps = sorted(
        position[id(by_thread[root.response["ts"]][0])] - position[id(root)] for root in roots
    )
    return gaps[len(gaps) // 2]


#: Conversations started at once: 200 messages, 25 times the burst (real time: 5 s at 40/s).
MANY = 100


@pytest.mark.realtime
@pytest.mark.parametrize("our_rate", [40.0, 100.0], ids=["paced-like-slack", "faster-than-slack"])
def test_many_conversations_in_one_channel_are_all_delivered(
    our_rate: float, tmp_path: Path
) -> None:
    """Slack (the fake) allows 40 messages/s per channel here (1/s in production, scaled to
    keep the test short). Paced like Slack or faster (meeting Slack's 429s and honouring
    them), every message arrives once, in order within each thread."""
    with FakeSlack(
        team_id="T0001", rate_limit_per_channel=40.0, rate_limit_burst=8, rate_limit_retry_after=0
    ) as fake:
        settings = settings_for(
            fake, tmp_path / "data", slack_channel_post_rate=our_rate, slack_channel_post_burst=8
        )
        with running(settings, fake) as slack:
            began = time.monotonic()
            start_many(slack, MANY)
            slack.settle(timeout=60)
            drained = time.monotonic() - began
            failed = [r for app in slack.apps for r in app.runtime.store.failed_outbox()]
            assert not failed, failed[:3]
        median_gap = assert_all_delivered_once_in_order(fake, MANY)
        refused = [c for c in fake.calls("chat.postMessage") if c.status == 429]
        # Paced like Slack, how many 429s the run meets depends on thread scheduling (a
        # late send followed by an on-time one looks like a burst), so it is printed, not
        # asserted; the pacer's own arithmetic is tested on a fake clock below.
        if our_rate > 40.0:
            assert refused, "pacing faster than Slack should have met 429s"
        print(
            f"\n{2 * MANY} messages drained in {drained:.1f}s at {our_rate:g}/s "
            f"({len(refused)} answered 429; a question {median_gap} posts after its root, median)"
        )


def test_pacer_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    pacer = ChannelPacer(rate=1.0, burst=3, clock=lambda: now[0])
    assert [pacer.reserve("C1", key=k) for k in "abc"] == [0.0, 0.0, 0.0]
    assert pacer.reserve("C1", key="d") == pytest.approx(1.0)
    assert pacer.reserve("C2", key="x") == 0.0  # channels are independent
    now[0] = 1.0
    assert pacer.reserve("C1", key="d") == 0.0  # its booked turn
    now[0] = 5.0  # idle: the burst refills
    assert [pacer.reserve("C1", key=k) for k in "efg"] == [0.0, 0.0, 0.0]
    pacer.block("C1", 5.0)
    assert pacer.reserve("C1", key="h") == pytest.approx(5.0)
    now[0] = 10.5
    assert pacer.reserve("C1", key="i") == 0.0


def test_a_backlog_is_booked_one_slot_each_and_asks_once() -> None:
    now = [0.0]
    pacer = ChannelPacer(rate=2.0, burst=1, clock=lambda: now[0])
    waits = [pacer.reserve("C1", key=n) for n in range(6)]
    assert waits == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    now[0] = 0.5
    assert pacer.reserve("C1", key=1) == 0.0
    assert pacer.reserve("C1", key=2) == pytest.approx(0.5)  # not yet: still its own slot
    assert pacer.reserve("C1", key="late") == pytest.approx(2.5)  # joins the end of the queue
    now[0] = 1.0
    assert pacer.reserve("C1", key=2) == 0.0
    pacer.block("C1", 3.0)  # a 429 pushes every booking back
    assert pacer.reserve("C1", key=3) == pytest.approx(3.0)  # the channel is paused
    now[0] = 4.0
    assert pacer.reserve("C1", key=3) == pytest.approx(0.5)  # then its own, shifted slot


def test_pacer_forgets_idle_channels() -> None:
    now = [0.0]
    pacer = ChannelPacer(rate=1.0, burst=2, clock=lambda: now[0], max_channels=10)
    for index in range(10):
        pacer.reserve(f"C{index}")
    now[0] = 100.0
    pacer.reserve("Cnew")
    assert len(pacer._channels) == 1


def test_pacer_books_a_conversations_messages_next_to_each_other() -> None:
    now = [0.0]
    pacer = ChannelPacer(rate=1.0, burst=2, clock=lambda: now[0])
    pacer.book_together("C", ["a-root", "a-question"])  # room for both: nothing booked
    assert pacer.reserve("C", key="a-root") == 0.0
    assert pacer.reserve("C", key="a-question") == 0.0
    assert pacer.reserve("C", key="b-root") == 1.0  # the channel now has a queue
    pacer.book_together("C", ["c-root", "c-question"])
    pacer.book_together("C", ["b-root", "b-question"])  # b-root keeps its slot
    assert pacer.reserve("C", key="c-root") == 2.0
    assert pacer.reserve("C", key="c-question") == 3.0
    assert pacer.reserve("C", key="b-question") == 4.0
    now[0] = 1.0
    assert pacer.reserve("C", key="b-root") == 0.0  # its turn
