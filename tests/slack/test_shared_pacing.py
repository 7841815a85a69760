"""Pacing across replicas: processes sharing the database keep one channel's rate
together (`bot.slack.shared_pacing`, `bot.store.channel_slots`), on fake clocks."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Hashable, Sequence

import pytest

from bot.slack.pacing import ChannelPacer
from bot.slack.shared_pacing import SharedChannelPacer, channel_pacer
from bot.store import Store
from tests.store.conftest import (  # noqa: F401 - shared fixture
    REPO_ROOT,
    Database,
    db,
    python_worker,
    worker_env,
)

START = 1_900_000_000.0  # seconds since the epoch on every fake clock here
RATE, BURST = 1.0, 3


class Seconds:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def assert_rate_holds(times: Sequence[float], rate: float = RATE, burst: int = BURST) -> None:
    """However the posts are windowed, no more than ``burst`` plus ``rate`` a second: for
    every i <= j of the sorted times, j - i + 1 <= burst + (t_j - t_i) * rate."""
    ordered = sorted(times)
    for i, first in enumerate(ordered):
        for j in range(i, len(ordered)):
            allowed = burst + (ordered[j] - first) * rate + 1e-6
            assert j - i + 1 <= allowed, (
                f"{j - i + 1} posts within {ordered[j] - first:.3f}s (at most {allowed:.3f})"
            )


def post(pacer: ChannelPacer, clock: Seconds, key: Hashable, channel: str = "C1") -> float:
    """One message through ``pacer``: wait (on the fake clock) until it may go."""
    while (wait := pacer.reserve(channel, key)) > 0:
        clock.now += wait
    return clock.now


@pytest.fixture
def replicas(db: Database) -> tuple[Store, Store]:  # noqa: F811
    """Two stores on one database: two replicas' connections."""
    return db.make_store(), db.make_store()


def shared(store: Store) -> tuple[SharedChannelPacer, Seconds]:
    """A replica's pacer on ``store``, and its fake clock."""
    clock = Seconds()
    return SharedChannelPacer(store, RATE, BURST, clock=clock), clock


def test_two_replicas_in_one_process_keep_the_channel_rate(
    replicas: tuple[Store, Store],
) -> None:
    pacers = [shared(store) for store in replicas]
    went = [post(*pacers[i % 2], i) for i in range(12)]
    assert_rate_holds(went)
    assert max(went) - min(went) >= (12 - BURST) / RATE - 1e-6
    # Each alone (in-memory pacers, as before) would post twice the channel's rate.
    alone = [ChannelPacer(RATE, BURST, clock=c) for c in (Seconds(), Seconds())]
    separate = [post(alone[i % 2], alone[i % 2].clock, i) for i in range(12)]  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        assert_rate_holds(separate)


def test_a_burst_goes_at_once_and_a_waiting_message_keeps_its_turn(
    replicas: tuple[Store, Store],
) -> None:
    pacer, clock = shared(replicas[0])
    assert [pacer.reserve("C1", k) for k in range(BURST)] == [0.0] * BURST
    assert pacer.reserve("C1", "late") == pytest.approx(1.0)
    assert pacer.reserve("C1", "later") == pytest.approx(2.0)
    assert pacer.reserve("C1", "late") == pytest.approx(1.0)  # asked again: the same turn
    clock.now += 1.0
    assert pacer.reserve("C1", "late") == 0.0
    assert pacer.reserve("C2", "other channel") == 0.0


def test_a_conversations_posts_get_neighbouring_turns(replicas: tuple[Store, Store]) -> None:
    (first, _), (other, _) = shared(replicas[0]), shared(replicas[1])
    for k in range(BURST):
        assert first.reserve("C1", k) == 0.0
    first.book_together("C1", ["root", "question"])
    assert other.reserve("C1", "someone else") == pytest.approx(3.0)  # after both
    assert first.reserve("C1", "root") == pytest.approx(1.0)
    assert first.reserve("C1", "question") == pytest.approx(2.0)


def test_a_429_in_one_replica_holds_the_channel_in_every_one(
    replicas: tuple[Store, Store],
) -> None:
    (told, _), (other, _) = shared(replicas[0]), shared(replicas[1])
    told.block("C1", 30.0)
    assert other.reserve("C1", "a") == pytest.approx(30.0)
    assert other.reserve("C1", "b") == pytest.approx(31.0)  # one a second after it, no burst
    assert told.reserve("C1", "c") == pytest.approx(30.0)  # held here in memory too


def test_the_runtime_shares_pacing_only_on_postgresql(db: Database) -> None:  # noqa: F811
    pacer = channel_pacer(db.make_store(), RATE, BURST)
    assert isinstance(pacer, SharedChannelPacer) == (db.kind == "postgresql")


def test_retention_forgets_channels_nobody_posted_to(db: Database) -> None:  # noqa: F811
    from datetime import UTC, datetime

    from bot.store import run_retention

    now = datetime.fromtimestamp(START, UTC)
    store = db.make_store(clock=lambda: now)
    store.take_channel_slots("OLD", START - 2 * 86400, 1.0)
    store.take_channel_slots("NEW", START - 60, 1.0)
    run_retention(store)
    assert store.take_channel_slots("OLD", START, 1.0) == START + 1.0  # a new channel
    assert store.take_channel_slots("NEW", START - 60, 1.0) == START - 58.0


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_two_processes_posting_into_one_channel_keep_its_rate(db: Database) -> None:  # noqa: F811
    """Two OS processes sharing PostgreSQL post 16 messages each into one channel through
    the real shared pacer, each on its own fake clock started at the same time:
    together they keep the channel's rate (each pacing alone would post twice as
    fast). On SQLite one process paces in memory, so there is nothing to share."""
    posts = 16

    def worker(*extra: str) -> subprocess.Popen[str]:
        argv = python_worker(
            "tests.slack.pacing_worker",
            *db.worker_args(),
            *("--channel", "C1", "--posts", str(posts), "--start", str(START)),
            *("--rate", str(RATE), "--burst", str(BURST), *extra),
        )
        return subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=worker_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    db.make_store().dispose()  # the schema, before two processes open it
    procs = [worker(), worker("--pairs")]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stderr is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        went: list[list[float]] = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            went.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert all(len(times) == posts and times == sorted(times) for times in went)
    combined = went[0] + went[1]
    assert_rate_holds(combined)
    assert max(combined) - min(combined) >= (2 * posts - BURST) / RATE - 1e-6
