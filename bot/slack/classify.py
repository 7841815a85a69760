"""Slack's answers as the retry policy's types: wait (429), retry, or give up.

Shared by the sender and the chart upload, so a 429, a 5xx and a refusal mean the
same thing whichever call met them.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.delivery import PermanentFailure, Postpone, RetryLater, RetryPolicy
from bot.slack.token_health import DEAD_TOKEN

#: Slack's error codes worth trying again (with any 5xx): the retry policy's ``transient``.
TRANSIENT = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
#: The app cannot post in the channel any more: its conversation there ends.
NOT_THERE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def method_of(exc: SlackApiError) -> str:
    """The Web API method that answered ``exc`` (``chat.postMessage``), or ``""``."""
    url = getattr(exc.response, "api_url", "") or ""
    return url.rstrip("/").rsplit("/", 1)[-1] if "/api/" in url else ""


def error_of(exc: SlackApiError) -> str:
    """Slack's error code, or ``http_<status>`` when the answer had none (an HTML 500)."""
    response = exc.response
    if response is None:
        return "unknown"
    status = getattr(response, "status_code", 200)
    error = response.get("error")
    # Slack's codes are single words; slack_sdk puts a sentence there for a body that
    # was not JSON (an HTML 500 page).
    if not isinstance(error, str) or not error or " " in error:
        return f"http_{status}"
    return error


def retry_after(exc: SlackApiError, default: float = 1.0) -> float:
    """The seconds a 429 asks to wait."""
    headers = getattr(exc.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value[0] if isinstance(value, list) else value)
    except (TypeError, ValueError):
        return default


def classify(exc: SlackApiError, policy: RetryPolicy) -> Exception:
    """Slack's answer ``exc`` as a :class:`Postpone`, :class:`RetryLater` or
    :class:`PermanentFailure` (which names the method in ``call``)."""
    status = getattr(exc.response, "status_code", 200)
    error = error_of(exc)
    if status == 429:
        # The policy caps the pause, and the channel's hold with it (`SlackSender`).
        return Postpone("ratelimited by Slack (429)", policy.pause(retry_after(exc)))
    if policy.retries(status, error):
        return RetryLater(error)
    ends = error in NOT_THERE or error in DEAD_TOKEN
    return PermanentFailure(error, code=error, ends_conversation=ends, call=method_of(exc))
