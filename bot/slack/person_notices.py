"""A refused `conversations.open` for a plan asked for on the App Home: the person is
told on their Home tab, the one place they are looking (the refusal table's
`Told.HOME`; the log line is the failure notes', as for every refusal)."""

from __future__ import annotations

from bot.slack import blocks
from bot.store import OutboxMessage, OutboxRow
from bot.store.models import NOTICE, TEAM

WHY = {
    "missing_scope": "the app lacks the `im:write` permission; a workspace admin can "
    "reinstall it from its manifest to grant it",
}


def home_notice(row: OutboxRow, code: str, command: str) -> list[OutboxMessage]:
    """The person's Home view republished with what happened and what to do instead."""
    user, team = row.payload.get("user"), row.meta.get(TEAM)
    if not (isinstance(user, str) and user):
        return []
    why = WHY.get(code, f"Slack said `{blocks.escape(code)}`")
    text = (
        f":warning: I couldn't open a direct message with you to start a plan: {why}. "
        f"Meanwhile, type `{command}` in a channel I'm in."
    )
    return [OutboxMessage("publish", {"user_id": user}, meta={TEAM: team, NOTICE: text})]
