"""The app was uninstalled from a workspace, or its tokens revoked: stop working there.

In OAuth mode the workspace's installation and bot tokens are deleted first (an
org-wide Enterprise Grid installation: the organisation's), so nothing sends with
them again; then its conversations end and their queued messages are dropped."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltContext

from bot.slack.errors import UNAVAILABLE
from bot.slack.inputs import slack_id
from bot.slack.installations import Installations
from bot.slack.moves import Moves
from bot.slack.token_health import TokenHealth

log = logging.getLogger(__name__)


def register(
    app: App, moves: Moves, token: TokenHealth, installations: Installations | None = None
) -> None:
    @app.event("app_uninstalled")
    def on_uninstalled(body: dict, context: BoltContext) -> None:
        _end(body, context, moves, token, installations, "app_uninstalled")

    @app.event("tokens_revoked")
    def on_tokens_revoked(body: dict, event: dict, context: BoltContext) -> None:
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):
            _end(body, context, moves, token, installations, "tokens_revoked")
        # Only user tokens revoked: the app uses none, nothing changes.


def _end(
    body: dict,
    context: BoltContext,
    moves: Moves,
    token: TokenHealth,
    installations: Installations | None,
    reason: str,
) -> None:
    team = slack_id(body.get("team_id"))
    enterprise = slack_id(context.enterprise_id or body.get("enterprise_id"))
    org_wide = bool(context.is_enterprise_install) and enterprise is not None
    if team is None and not org_wide:
        return
    if team is not None and team == token.team:
        token.refuse(reason)
    try:
        if installations is not None:
            installations.forget(team=team, enterprise=enterprise, org_wide=org_wide)
        if org_wide:
            ended = moves.store.end_organisation(enterprise, reason)  # type: ignore[arg-type]
            ended += moves.end_workspace(team, reason) if team else 0
        else:
            ended = moves.end_workspace(team, reason)  # type: ignore[arg-type]
    except UNAVAILABLE:
        # Not acknowledged as handled: Slack retries the event.
        log.warning("%s: database unavailable; Slack will retry the event", reason)
        raise
    where = f"organisation {enterprise}" if org_wide else f"workspace {team}"
    log.info("%s for %s: %d conversations ended", reason, where, ended)
