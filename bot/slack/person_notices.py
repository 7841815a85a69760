"""When Slack refuses what was meant for one person outside any thread: opening their
direct message (for a plan asked for on the App Home) or publishing their Home view.
The first is told on Home, the one place they are looking; the second, which nothing
can show them, goes to the log with what to do."""

from __future__ import annotations

import logging
from typing import Any

from bot.slack import blocks
from bot.store import OutboxMessage, OutboxRow

log = logging.getLogger(__name__)


def refused(row: OutboxRow, code: str, command: str) -> list[OutboxMessage]:
    """What follows a refused ``open_dm``, ``publish`` or ``dm`` row."""
    if row.kind == "open_dm":
        return _home_notice(row.payload, code, command)
    what = "views.publish" if row.kind == "publish" else "a direct message"
    advice = QUIET_ADVICE.get(code, "see the Slack error's documentation; the person was not told")
    log.warning("%s failed for a person (Slack said %s): %s", what, code, advice)
    return []


#: What to do when a Home view or a private direct message fails, for the log.
QUIET_ADVICE = {
    "not_enabled": "turn the Home tab on (api.slack.com/apps → App Home → Home Tab)",
    "missing_scope": "reinstall the app from manifest.json to grant the scopes it lists",
    "invalid_blocks": "the Home view was refused as built; report it as a bug with this log",
    "invalid_arguments": "the Home view was refused as built; report it as a bug",
    "cannot_dm_bot": "nothing to do: Slack does not let apps message other bots",
    "user_disabled": "nothing to do: the person's account is deactivated",
    "user_not_found": "nothing to do: the person is not in this workspace any more",
}


def _home_notice(payload: dict[str, Any], code: str, command: str) -> list[OutboxMessage]:
    """conversations.open was refused for a plan asked for on the App Home: say so
    there (the one place the person is looking), with what to do instead."""
    user, team = payload.get("user"), payload.get("_team")
    if not (isinstance(user, str) and user):
        return []
    why = {
        "missing_scope": "the app lacks the `im:write` permission; a workspace admin can "
        "reinstall it from its manifest to grant it",
    }.get(code, f"Slack said `{blocks.escape(code)}`")
    text = (
        f":warning: I couldn't open a direct message with you to start a plan: {why}. "
        f"Meanwhile, type `{command}` in a channel I'm in."
    )
    log.warning("conversations.open failed for a plan from the App Home (%s); told them", code)
    return [OutboxMessage("publish", {"user_id": user, "_team": team, "_notice": text})]
