"""Every refusal has an owner (issue 21 item 6): each row of the error table, injected
through the fake Slack, reaches whom the table says, with its words: the person (the
exact message) or the log (one WARNING line with the method, the error and the fix).
README's table is the same table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.delivery import PermanentFailure, RetryLater
from bot.slack.failure_notes import FailureNotes
from bot.slack.keepalive import KeepAliveWebClient
from bot.slack.refusal_table import (
    ANY,
    GAVE_UP,
    OTHER,
    TABLE,
    Refusal,
    Told,
    markdown,
    refusal_for,
)
from bot.slack.sender import SlackSender
from bot.slack.token_health import DEAD_TOKEN, TOKEN_EVENTS, TokenHealth, auth_check
from bot.store.models import NOTIFY_RESPONSE_URL, NOTIFY_USER, OutboxRow
from bot.testing.slack_api import FakeSlack
from tests.slack.test_sender import CHART
from tests.store.helpers import outbox_row

ROOT = Path(__file__).resolve().parents[2]
UNLISTED = "an_error_nobody_listed"
COMMAND = "/llm-cost"
BOT = "llm-cost"
#: The method each outbox kind fails at, and (for the fake) what the kind's payload is.
KIND_OF = {
    "chat.postMessage": "post",
    "chat.update": "update",
    "chat.postEphemeral": "ephemeral",
    "pins.add": "pin",
    "pins.remove": "unpin",
    "chat.getPermalink": "permalink",
    "views.publish": "publish",
    "conversations.open": "open_dm",
    "response_url": "respond",
    "files.getUploadURLExternal": "chart",
    "files.completeUploadExternal": "chart",
    "chart": "chart",
    ANY: "update",  # any method: shown through chat.update
}


def cases() -> list[Any]:
    found = []
    for row in TABLE:
        for error in row.errors:
            if row.method == "auth.test":
                continue  # auth.test has its own test below
            name = f"{row.method}:{error}"
            found.append(pytest.param(row, error, id=name))
    return found


def sender_and_root(fake: FakeSlack) -> tuple[SlackSender, str]:
    client = KeepAliveWebClient(token="xoxb-test", base_url=fake.base_url, timeout=2)
    client.proxy = None
    token = TokenHealth("T0001", check=auth_check(client))
    sender = SlackSender(client, token=token)
    root = fake.client().chat_postMessage(channel="C1", text="root")["ts"]
    return sender, root


def payload_for(kind: str, fake: FakeSlack, root: str) -> dict[str, Any]:
    notify = {NOTIFY_RESPONSE_URL: fake.response_url("r1"), NOTIFY_USER: "U0ALICE"}
    if kind == "post":
        return {"channel": "C1", "thread_ts": root, "text": "a question", **notify}
    if kind == "update":
        return {"channel": "C1", "ts": root, "text": "edited", **notify}
    if kind == "ephemeral":
        return {"channel": "C1", "user": "U0ALICE", "text": "a note", **notify}
    if kind in ("pin", "unpin"):
        return {"channel": "C1", "timestamp": root, **notify}
    if kind == "permalink":
        return {"channel": "C1", "message_ts": root}
    if kind == "publish":
        return {"user_id": "U0ALICE", "view": {"type": "home", "blocks": []}}
    if kind == "open_dm":
        return {"user": "U0ALICE", "_team": "T0001"}
    if kind == "respond":
        return {"response_url": fake.response_url("r1"), "text": "a notice"}
    assert kind == "chart"
    return {**CHART, "thread_ts": root, **notify}


def inject(fake: FakeSlack, method: str, error: str) -> None:
    if method == "response_url":
        fake.fail_next("response_url", status=410)
    elif method == ANY and error in DEAD_TOKEN:
        fake.fail_next("chat.update", error=error)
        fake.fail_next("auth.test", error=error)  # auth.test confirms it
    elif method == ANY:
        fake.fail_next("chat.update", error=error)
    else:
        fake.fail_next(method, error=error)


def expected_words(row: Refusal, code: str) -> str:
    assert row.say is not None
    return row.say.format(command=COMMAND, bot=BOT, code=code)


@pytest.mark.parametrize(("row", "error"), cases())
def test_each_refusal_reaches_whom_the_table_says(
    fake: FakeSlack, caplog: pytest.LogCaptureFixture, row: Refusal, error: str
) -> None:
    sender, root = sender_and_root(fake)
    kind = KIND_OF[row.method]
    outbox: OutboxRow = outbox_row(id=7, seq=7, kind=kind, payload=payload_for(kind, fake, root))
    payload = outbox.payload  # what the deliverer sends: no metadata
    code = UNLISTED if error == OTHER else error
    if row.method != ANY and error == OTHER:
        assert refusal_for(row.method, code) is row
    caplog.set_level(logging.INFO)
    caplog.clear()
    if error == GAVE_UP:
        code = "http_500"
        failure: PermanentFailure | None = PermanentFailure(f"{code} (gave up after 8 attempts)")
        shown_code = failure.error  # what the person or the log is shown
    elif row.method == "chart" and error == "chart_not_drawn":
        payload["bars"] = [["x", "not a number"]]
        failure = send(sender, outbox, payload)
        shown_code = code
    elif error in TOKEN_EVENTS:
        sender.token.refuse(error)  # Slack's event said so
        failure = send(sender, outbox, payload)
        shown_code = code
    else:
        inject(fake, row.method, code)
        failure = send(sender, outbox, payload)
        shown_code = "http_410" if row.method == "response_url" else code
    homes: list[tuple[str, str, str]] = []  # Home views published with a notice
    notes = FailureNotes(command=COMMAND, bot_name=BOT, home=lambda *told: homes.append(told))
    notices = list(notes(outbox, failure)) if failure is not None else []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if row.told in (Told.LOG, Told.HOME):
        method = "chat.update" if row.method == ANY else row.method
        (line,) = warnings
        assert f"Slack refused {method} with " in line and row.fix in line
        assert (shown_code if error != GAVE_UP else GAVE_UP) in line
        if row.told is Told.LOG:
            assert notices == [] and homes == []
            return
        # A plan asked for on the App Home: the person's Home view says what happened
        # (published by the application, which builds the view, not queued here).
        assert notices == []
        ((team, user, notice),) = homes
        assert (team, user) == ("T0001", "U0ALICE")
        assert "couldn't open a direct message" in notice
        return
    assert warnings == [] and homes == []
    (notice,) = notices
    words = expected_words(row, shown_code)
    if row.told is Told.THREAD:
        assert notice.kind == "post" and notice.payload["thread_ts"] == {"$ref": "root"}
        assert notice.payload["blocks"][0]["text"]["text"] == words
    else:
        assert notice.kind == "respond" and notice.payload["text"] == words


def send(sender: SlackSender, row: OutboxRow, payload: dict[str, Any]) -> PermanentFailure | None:
    """Send ``row``; the refusal it ended in (None when the sender handled it itself,
    as a link Slack will not give: that logs its line at once)."""
    try:
        sender.send(row, payload)
    except PermanentFailure as failure:
        return failure
    except RetryLater as retry:
        raise AssertionError(f"retried, not refused: {retry.error}") from None
    return None


def test_an_unclear_auth_test_is_logged_with_the_tables_words(
    fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    sender, root = sender_and_root(fake)
    update = outbox_row(kind="update", payload=payload_for("update", fake, root))
    fake.fail_next("chat.update", error="invalid_auth")
    fake.fail_next("auth.test", status=500)
    with pytest.raises(RetryLater):
        sender.send(update, update.payload)
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "Slack refused auth.test with http_500" in line
    assert refusal_for("auth.test", "http_500").fix in line
    assert sender.token.refused is None


def test_every_method_and_error_finds_a_row() -> None:
    for method in [*KIND_OF, "auth.test", "a.method.nobody.calls"]:
        for code in ("channel_not_found", UNLISTED, GAVE_UP, "missing_scope"):
            assert refusal_for(method, code) in TABLE


def test_readme_shows_the_table() -> None:
    assert markdown() in (ROOT / "README.md").read_text()
