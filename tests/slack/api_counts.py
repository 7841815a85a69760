"""Count what a run sends Slack, through the loopback fake: the Web API calls by
method and the public posts (messages everyone in the channel sees: chat.postMessage
and the estimate's chart). README's "What a run sends" quotes these numbers;
`tests/slack/test_api_counts.py` holds them, and this prints them:

    .venv/bin/python -m tests.slack.api_counts
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from bot.testing.slack_api import FakeSlack
from tests.slack.harness import Slack, running, settings_for

#: Inference → Standard 100-500ms → Cost → Yes → KV Cache: five questions by buttons.
FIVE_QUESTIONS = ("Inference", "Standard 100-500ms", "Cost", "Yes", "KV Cache")
#: A training result by buttons, then its estimate with the two follow-ups typed.
ESTIMATE_PATH = ("Training", "10-100B params", "Active")
ESTIMATE_REPLIES = ("70B", "2T tokens")
PUBLIC = {"chat.postMessage", "files.completeUploadExternal"}


def counts(slack: Slack, since: int = 0) -> Counter[str]:
    """Web API calls by method since call number ``since`` (auth.test left out)."""
    found = Counter(c.method for c in slack.fake.calls()[since:])
    found.pop("auth.test", None)
    return found


def public_posts(found: Counter[str]) -> int:
    return sum(n for method, n in found.items() if method in PUBLIC)


def five_question_run(slack: Slack) -> Counter[str]:
    """`/llm-cost`, then five answers by buttons; the calls that made."""
    status, _ = slack.command()
    assert status == 200
    slack.settle()
    for label in FIVE_QUESTIONS:
        slack.answer(label)
    return counts(slack)


def estimate_run(slack: Slack) -> Counter[str]:
    """A training result, then *Estimate the cost* and its two typed follow-ups; the
    calls the estimate made (from the click on), the result's own left out."""
    status, _ = slack.command()
    assert status == 200
    slack.settle()
    for label in ESTIMATE_PATH:
        slack.answer(label)
    before = len(slack.fake.calls())
    status, _ = slack.click(slack.current(), "Estimate the cost")
    assert status == 200
    slack.settle()
    for text in ESTIMATE_REPLIES:
        status, _ = slack.say(text, thread_ts=slack.root()["ts"])
        assert status == 200
        slack.settle()
    return counts(slack, before)


def measure() -> dict[str, Counter[str]]:
    """Both runs, each on a fresh app and fake."""
    found = {}
    for name, run in (("five questions", five_question_run), ("estimate", estimate_run)):
        with (
            tempfile.TemporaryDirectory() as tmp,
            FakeSlack(team_id="T0001") as fake,
            running(settings_for(fake, Path(tmp) / "data"), fake) as slack,
        ):
            found[name] = run(slack)
    return found


def main() -> None:
    for name, found in measure().items():
        total = sum(found.values())
        detail = ", ".join(f"{method} {n}" for method, n in sorted(found.items()))
        print(f"{name}: {total} calls, {public_posts(found)} public posts ({detail})")


if __name__ == "__main__":
    main()
