"""The app was uninstalled from a workspace, or its tokens revoked: stop working there."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.slack.errors import UNAVAILABLE
from bot.slack.inputs import slack_id
from bot.slack.moves import Moves
from bot.slack.token_health import TokenHealth

log = logging.getLogger(__name__)


def register(app: App, moves: Moves, token: TokenHealth) -> None:
    @app.event("app_uninstalled")
    def on_uninstalled(body: dict) -> None:
        _end(body, moves, token, "app_uninstalled")

    @app.event("tokens_revoked")
    def on_tokens_revoked(body: dict, event: dict) -> None:
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):
            _end(body, moves, token, "tokens_revoked")
        # Only user tokens revoked: the app uses none, nothing changes.


def _end(body: dict, moves: Moves, token: TokenHealth, reason: str) -> None:
    team = slack_id(body.get("team_id"))
    if team is None:
        return
    if team == token.team:
        token.refuse(reason)
    try:
        ended = moves.end_workspace(team, reason)
    except UNAVAILABLE:
        # Not acknowledged as handled: Slack retries the event.
        log.warning("%s: database unavailable; Slack will retry the event", reason)
        raise
    log.info("%s for workspace %s: %d conversations ended", reason, team, ended)
