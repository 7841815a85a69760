"""The slash command: start (with an optional first reply), help, history, cancel."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from bot.conversation.answers import parse_command
from bot.slack import blocks
from bot.slack.errors import TRY_AGAIN, UNAVAILABLE
from bot.slack.history import parse_history
from bot.slack.inputs import slack_id, trigger_id, typed_text
from bot.slack.moves import Moves
from bot.slack.people import People
from bot.slack.start_limit import StartLimit, too_soon
from bot.steps import wording

log = logging.getLogger(__name__)
INCOMPLETE = "Slack sent an incomplete or malformed command; please try again."


def register(app: App, moves: Moves, people: People, starts: StartLimit | None = None) -> None:
    """``starts``: how often one person may start (see `bot.slack.start_limit`)."""
    starts = starts or StartLimit()

    @app.command(moves.command)
    def on_command(ack: Ack, command: dict) -> None:
        typed = " ".join(typed_text(str(command.get("text") or "")).split())
        words = typed.lower()
        team = slack_id(command.get("team_id"))
        channel = slack_id(command.get("channel_id"))
        user = slack_id(command.get("user_id"))
        if not (team and channel and user):
            ack(text=INCOMPLETE, response_type="ephemeral")
            return
        try:
            if parse_command(words) == "help":
                ack(**blocks.help_message(None, moves.command), response_type="ephemeral")
            elif (query := parse_history(words)) is not None:
                found = people.history(team=team, channel=channel, user=user, query=query)
                ack(**found, response_type="ephemeral")
            elif words in ("cancel", "stop"):
                ended = moves.cancel_open(team=team, channel=channel, user=user)
                told = wording.CANCELLED_HERE if ended else wording.nothing_open(moves.command)
                ack(text=told, response_type="ephemeral")
            elif words.split(" ")[0] != "new" and (
                asked := moves.ask_resume_or_new(
                    team=team, channel=channel, user=user, typed=_first_reply(typed)
                )
            ):
                ack(**asked, response_type="ephemeral")  # a plan is open here: resume it?
            elif (wait := starts.take(team, channel, user)) > 0:
                ack(text=too_soon(wait, moves.command), response_type="ephemeral")
            else:  # a start; `new` starts afresh; any other text is its first reply
                moves.start(
                    team=team,
                    channel=channel,
                    user=user,
                    response_url=command.get("response_url"),
                    trigger_id=trigger_id(command.get("trigger_id")),
                    first_reply=_first_reply(typed),
                )
                ack()
        except UNAVAILABLE:
            log.warning("slash command: database unavailable", exc_info=True)
            ack(text=TRY_AGAIN, response_type="ephemeral")


def _first_reply(typed: str) -> str | None:
    """The text a start reads as its first reply: what follows `new` or `start`, or
    all of it ("fine-tune a 7B on a budget"); None for a bare start."""
    head, _, rest = typed.partition(" ")
    if head.lower() in ("new", "start"):
        typed = rest
    return typed.strip() or None
