"""What to tell whom when a row is given up: the deliverer's give-up hook.

Registered by the composition root (`bot.slack.runtime`); the sender only sends.
The words follow README's refusal table (`bot.slack.refusal_table`): the person is
told what to do (privately, in the thread, or on their Home tab), or the log is told,
once, with the method, the error and the fix. Never is a result lost silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.delivery import UNRESOLVED_REF, PermanentFailure
from bot.slack import blocks, person_notices
from bot.slack.classify import NOT_THERE
from bot.slack.kinds import QUIET, method_of
from bot.slack.refusal_table import GAVE_UP, REMOVED, Refusal, Told, log_refusal, refusal_for
from bot.slack.token_health import DEAD_TOKEN, TOKEN_EVENTS
from bot.store import OutboxMessage, OutboxRow
from bot.store.models import NOTIFY_RESPONSE_URL, NOTIFY_USER

log = logging.getLogger(__name__)
#: A pin refused in a direct message: no channel words.
DM_PIN = "Slack does not let me pin in this direct message"


class FailureNotes:
    """The give-up hook (`bot.delivery.OnGiveUp`): the notes a refusal queues."""

    def __init__(
        self,
        *,
        command: str = "/llm-cost",
        bot_name: str = "the app",
        home: person_notices.PublishNotice | None = None,
    ) -> None:
        """``home(team, user, notice)``: publish a person's Home view with a notice
        (`People.publish_home`); without it, a refused DM is only logged."""
        self.command = command
        self.bot_name = bot_name
        self.home = home

    def __call__(self, row: OutboxRow, failure: PermanentFailure) -> Sequence[OutboxMessage]:
        """Tell whoever owns this refusal: the person, with what to do, or the log, once,
        with the method, the error and the fix."""
        failure.reported = True
        code = failure.code
        if code == UNRESOLVED_REF:
            return ()  # an earlier message failed; its owner was told then
        method = failure.call or method_of(row.kind)
        refusal = refusal_for(method, code or GAVE_UP)
        quiet = row.kind in QUIET
        if failure.ends_conversation and not quiet:
            text = self._why_stopped(row, refusal, code)
            dead = code in DEAD_TOKEN or code in TOKEN_EVENTS  # a DM cannot go either
            return _tell_privately(row.meta, text, dm=not dead)
        if refusal.say is None or quiet:
            log_refusal(row, method, code, failure.error)
            if row.kind == "open_dm" and code not in DEAD_TOKEN and self.home is not None:
                # The table's Told.HOME: a plan asked for on the App Home; say so there,
                # where they look (queued in their own queue, not returned here).
                person_notices.home_notice(row, code or failure.error, self.command, self.home)
            return ()
        text = refusal.say.format(
            command=self.command, bot=self.bot_name, code=blocks.escape(code or failure.error)
        )
        if row.kind == "pin" and code == "not_in_channel" and _in_dm(row):
            text = text.replace("I am not a member of this channel", DM_PIN)
        if refusal.told is Told.THREAD:
            return _thread_note(row, text)
        return _tell_privately(row.meta, text, dm=True)

    def _why_stopped(self, row: OutboxRow, refusal: Refusal, code: str) -> str:
        """What to tell the person when Slack will take nothing more for a conversation:
        the table's words, unless the place asks for others (a DM, a first post)."""
        channel = str(row.payload.get("channel", ""))
        gone = code in NOT_THERE and code != "is_archived"
        if gone and channel.startswith("D"):
            return (
                "I can't post in this direct message: apps may post only in their own "
                "direct messages and in channels they were added to, and a direct message "
                "has no way to add me. Use *New plan* on my Home tab or the shortcut *Plan "
                f"an LLM workload* (a plan in your direct message with me), or run "
                f"`{self.command}` in a channel I'm in."
            )
        if gone and row.ref == "root":
            return (
                f"I can't post in this channel because I'm not a member of it. "
                f"Invite me with `/invite @{self.bot_name}` (or add the app from the "
                f"channel's settings), then run `{self.command}` again."
            )
        say = refusal.say if refusal.told is Told.PRIVATELY and refusal.say else REMOVED
        return say.format(command=self.command, bot=self.bot_name, code=blocks.escape(code))


def _thread_note(row: OutboxRow, text: str) -> list[OutboxMessage]:
    """A note (safe mrkdwn) posted in the thread of ``row``'s conversation."""
    payload = {"channel": row.payload["channel"], "thread_ts": {"$ref": "root"}}
    return [OutboxMessage("post", {**payload, **blocks.note_message(text)})]


def _tell_privately(meta: dict[str, Any], text: str, *, dm: bool) -> list[OutboxMessage]:
    """Through the conversation's latest response_url, or else (when a DM can still be
    posted) a direct message to the person the conversation is for."""
    response_url = meta.get(NOTIFY_RESPONSE_URL)
    if isinstance(response_url, str) and response_url:
        body = {"response_url": response_url, "response_type": "ephemeral", "text": text}
        return [OutboxMessage("respond", body)]
    user = meta.get(NOTIFY_USER)
    if dm and isinstance(user, str) and user:
        return [OutboxMessage("dm", {"user": user, **blocks.note_message(text)})]
    log.warning("a stopped conversation's person could not be told: no response_url, no DM")
    return []


def _in_dm(row: OutboxRow) -> bool:
    return str(row.payload.get("channel", "")).startswith("D")
