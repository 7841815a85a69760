"""The retry policy on its own: backoff, its cap, giving up, and the exceptions to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery import RetryPolicy
from bot.store.models import RETRY_UNTIL, OutboxRow
from tests.store.helpers import outbox_row

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def row(attempts: int, **payload: object) -> OutboxRow:
    return outbox_row(kind="update", attempts=attempts, payload=dict(payload), created_at=NOW)


def test_backoff_doubles_up_to_its_cap_then_gives_up() -> None:
    policy = RetryPolicy(max_attempts=5, base_backoff=1.0, max_backoff=4.0)
    waits = [policy.delay(row(n), NOW, retry_after=None, unanswered=False) for n in range(5)]
    assert waits == [1.0, 2.0, 4.0, 4.0, None]


def test_the_service_may_ask_for_longer() -> None:
    policy = RetryPolicy(base_backoff=1.0)
    assert policy.delay(row(0), NOW, retry_after=30.0, unanswered=False) == 30.0


def test_what_the_service_asks_for_counts_up_to_max_pause() -> None:
    policy = RetryPolicy(base_backoff=1.0, max_pause=120.0)
    assert policy.delay(row(0), NOW, retry_after=86400.0, unanswered=False) == 120.0


def test_a_pause_is_what_was_asked_up_to_max_pause() -> None:
    """A pacing turn and a 429's Retry-After: not attempts, and never longer than
    ``max_pause`` (``unconfirmed_after`` at least when the call is looked for first)."""
    policy = RetryPolicy(max_pause=60.0, unconfirmed_after=90.0)
    assert policy.pause(2.5) == 2.5
    assert policy.pause(-1.0) == 0.0
    assert policy.pause(3600.0) == 60.0
    assert policy.pause(3600.0, unconfirmed=True) == 90.0
    with pytest.raises(ValueError):
        RetryPolicy(max_pause=0)


def test_an_unanswered_attempt_waits_before_the_lookup() -> None:
    policy = RetryPolicy.for_api(timeout=10.0)
    assert policy.unconfirmed_after == 20.0
    assert policy.delay(row(0), NOW, retry_after=None, unanswered=True) == 20.0
    assert policy.delay(row(0), NOW, retry_after=None, unanswered=False) == 0.5


def test_a_closing_edit_is_retried_until_its_time() -> None:
    policy = RetryPolicy(max_attempts=2, max_backoff=60.0)
    until = (NOW + timedelta(hours=24)).isoformat()
    assert policy.delay(row(50, **{RETRY_UNTIL: until}), NOW, retry_after=None, unanswered=False)
    later = NOW + timedelta(hours=25)
    assert (
        policy.delay(row(50, **{RETRY_UNTIL: until}), later, retry_after=None, unanswered=False)
        is None
    )
    broken = row(50, **{RETRY_UNTIL: "soon"})
    assert policy.delay(broken, NOW, retry_after=None, unanswered=False) is None


def test_which_errors_retry() -> None:
    policy = RetryPolicy(transient=frozenset({"ratelimited"}))
    assert policy.retries(503, "")
    assert policy.retries(200, "ratelimited")
    assert not policy.retries(200, "not_in_channel")


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
