"""Button clicks on questions and results."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App

from bot.slack.blocks import ACTION_PREFIX
from bot.slack.errors import TRY_AGAIN, UNAVAILABLE
from bot.slack.inputs import slack_id
from bot.slack.moves import Moves
from bot.slack.plan import Click
from bot.slack.refusal_table import refusal_for

log = logging.getLogger(__name__)


def register(app: App, moves: Moves) -> None:
    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    def on_click(ack: Ack, body: dict, action: dict, respond) -> None:
        team = slack_id(_field(body, "team", "id") or _field(body, "user", "team_id"))
        channel = slack_id(_field(body, "channel", "id") or _field(body, "container", "channel_id"))
        user = slack_id(_field(body, "user", "id"))
        if not (team and channel and user):
            log.warning("ignoring a click without a well-formed team, channel and user")
            ack()
            return
        response_url = body.get("response_url")
        click = Click(
            team=team,
            channel=channel,
            user=user,
            action_id=str(action.get("action_id") or ""),
            value=str(action.get("value") or _field(action, "selected_option", "value") or ""),
            response_url=response_url if isinstance(response_url, str) else None,
        )
        try:
            moves.click(click)
        except UNAVAILABLE:
            log.warning("button: database unavailable", exc_info=True)
            _tell(respond, TRY_AGAIN)
        ack()


def _field(body: dict, section: str, key: str) -> object:
    found = body.get(section)
    return found.get(key) if isinstance(found, dict) else None


def _tell(respond, text: str) -> None:
    """Best effort: an ephemeral reply through the click's response_url."""
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # Bolt's respond: urllib's errors, or its own
        log.warning(
            "Slack refused response_url with %s (telling a person to try again); to fix: %s",
            type(exc).__name__,
            refusal_for("response_url", "").fix,
        )
