"""Slack's 429 as the retry policy's pause: Retry-After honoured, up to the policy's cap."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.delivery import Postpone, RetryPolicy
from bot.slack.classify import classify


def ratelimited(retry_after: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": retry_after},
        status_code=429,
    )
    return SlackApiError("ratelimited", response)


def test_a_429_waits_its_retry_after() -> None:
    problem = classify(ratelimited("7"), RetryPolicy())
    assert isinstance(problem, Postpone) and problem.delay == 7.0


def test_a_429_waits_no_longer_than_the_policy_allows() -> None:
    """A bogus Retry-After (a proxy's day) holds the row, and the channel, for the
    policy's ``max_pause`` only."""
    problem = classify(ratelimited("86400"), RetryPolicy(max_pause=120.0))
    assert isinstance(problem, Postpone) and problem.delay == 120.0
