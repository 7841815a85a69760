"""Button clicks on questions and results."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App

from bot.slack.blocks import ACTION_PREFIX
from bot.slack.errors import TRY_AGAIN, UNAVAILABLE
from bot.slack.moves import Click, Moves

log = logging.getLogger(__name__)


def register(app: App, moves: Moves) -> None:
    @app.action(re.compile("^" + re.escape(ACTION_PREFIX)))
    def on_click(ack: Ack, body: dict, action: dict, respond) -> None:
        team = (body.get("team") or {}).get("id") or body.get("user", {}).get("team_id") or ""
        channel = (
            (body.get("channel") or {}).get("id")
            or (body.get("container") or {}).get("channel_id")
            or ""
        )
        user = (body.get("user") or {}).get("id") or ""
        click = Click(
            team=str(team),
            channel=str(channel),
            user=str(user),
            action_id=str(action.get("action_id") or ""),
            value=str(action.get("value") or ""),
        )
        try:
            moves.click(click)
        except UNAVAILABLE:
            log.warning("button: database unavailable", exc_info=True)
            _tell(respond, TRY_AGAIN)
        ack()


def _tell(respond, text: str) -> None:
    """Best effort: an ephemeral reply through the click's response_url."""
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception:
        log.warning("could not send an ephemeral note through response_url", exc_info=True)
