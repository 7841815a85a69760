"""A refused `conversations.open` for a plan asked for on the App Home: the person is
told on their Home tab, the one place they are looking (the refusal table's
`Told.HOME`; the log line is the sender's, as for every refusal)."""

from __future__ import annotations

from typing import Any

from bot.slack import blocks
from bot.store import OutboxMessage

WHY = {
    "missing_scope": "the app lacks the `im:write` permission; a workspace admin can "
    "reinstall it from its manifest to grant it",
}


def home_notice(payload: dict[str, Any], code: str, command: str) -> list[OutboxMessage]:
    """The person's Home view republished with what happened and what to do instead."""
    user, team = payload.get("user"), payload.get("_team")
    if not (isinstance(user, str) and user):
        return []
    why = WHY.get(code, f"Slack said `{blocks.escape(code)}`")
    text = (
        f":warning: I couldn't open a direct message with you to start a plan: {why}. "
        f"Meanwhile, type `{command}` in a channel I'm in."
    )
    return [OutboxMessage("publish", {"user_id": user, "_team": team, "_notice": text})]
