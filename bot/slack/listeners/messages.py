"""Typed replies in a conversation's thread; everything else is ignored cheaply."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.slack.classify import error_of
from bot.slack.errors import TRY_AGAIN, UNAVAILABLE
from bot.slack.inputs import message_ts, slack_id, typed_text
from bot.slack.moves import Moves
from bot.slack.refusal_table import refusal_for

log = logging.getLogger(__name__)
PERSON_SUBTYPES = {None, "thread_broadcast"}


def register(app: App, moves: Moves) -> None:
    @app.event("message")
    def on_message(body: dict, event: dict, client: WebClient) -> None:
        thread_ts = event.get("thread_ts")
        # In a direct message with the app, questions are asked in the main stream.
        in_dm = event.get("channel_type") == "im" and not thread_ts
        if (
            not (thread_ts or in_dm)
            or thread_ts == event.get("ts")
            or event.get("bot_id")
            or event.get("subtype") not in PERSON_SUBTYPES
            or not event.get("user")
        ):
            return  # channel chatter, thread roots, bots and edits: no database work at all
        text = event.get("text")
        team = slack_id(body.get("team_id") or event.get("team"))
        channel = slack_id(event.get("channel"))
        user = slack_id(event.get("user"))
        thread = None if in_dm else message_ts(thread_ts)
        key = str(body.get("event_id") or f"msg:{team}:{channel}:{event.get('ts')}")
        well_formed = isinstance(text, str) and team and channel and user and (thread or in_dm)
        if not well_formed or len(key) > 255:
            return  # malformed: nothing Slack itself would send
        try:
            moves.typed(
                team=team,
                channel=channel,
                thread_ts=thread,
                user=user,
                text=typed_text(text),
                event_key=key,
            )
        except UNAVAILABLE:
            log.warning("message: database unavailable", exc_info=True)
            _tell(client, channel, user, thread)

    @app.event("app_mention")
    def ignore_mentions() -> None:
        return


def _tell(client: WebClient, channel: str, user: str, thread_ts: str | None) -> None:
    """Best effort, on the request path: a refusal is one line (the table's fix)."""
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=TRY_AGAIN)
    except SlackApiError as exc:
        code = error_of(exc)
        log.warning(
            "Slack refused chat.postEphemeral with %s (telling a person to try again); to fix: %s",
            code,
            refusal_for("chat.postEphemeral", code).fix,
        )
    except (SlackRequestError, OSError) as exc:
        log.warning("could not tell a person to try again: %s", type(exc).__name__)
