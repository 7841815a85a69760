"""A refused `conversations.open` for a plan asked for on the App Home: the person is
told on their Home tab, the one place they are looking (the refusal table's
`Told.HOME`; the log line is the failure notes', as for every refusal)."""

from __future__ import annotations

from collections.abc import Callable

from bot.slack import blocks
from bot.store import OutboxRow
from bot.store.models import TEAM

#: Publishes a person's Home view with a notice: (team, user, notice); the application's
#: (`bot.slack.people.People.publish_home`), which builds the view as it queues it.
PublishNotice = Callable[[str, str, str], object]

WHY = {
    "missing_scope": "the app lacks the `im:write` permission; a workspace admin can "
    "reinstall it from its manifest to grant it",
}


def home_notice(row: OutboxRow, code: str, command: str, publish: PublishNotice) -> str | None:
    """The person's Home view republished with what happened and what to do instead
    (queued by ``publish`` in their own queue, behind every view built before it);
    the notice, or None when the row names nobody."""
    user, team = row.payload.get("user"), row.meta.get(TEAM)
    if not (isinstance(user, str) and user):
        return None
    why = WHY.get(code, f"Slack said `{blocks.escape(code)}`")
    text = (
        f":warning: I couldn't open a direct message with you to start a plan: {why}. "
        f"Meanwhile, type `{command}` in a channel I'm in."
    )
    publish(str(team or ""), user, text)
    return text
