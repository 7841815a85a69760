"""Work that follows a send, registered with the deliverer by the composition root
(`bot.slack.runtime`), so that the sender only sends and never calls up:

* ``open_dm`` sent (a DM opened for a plan asked for outside any channel): start the
  conversation there (`Moves.start_in_dm`, keyed on the row, so a repeat starts
  nothing twice).
* ``permalink`` sent for a conversation that replaced another: queue an edit of the
  replaced one's channel message saying so, with the link Slack gave (an ordinary
  outbox row of the quiet kind ``replaced``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.delivery import AfterSend, Delivered, Deliverer
from bot.slack import blocks
from bot.slack.plan import REPLACES, DirectMessage
from bot.store import OutboxMessage, OutboxRow
from bot.store.models import TEAM


def start_in_dm(start: Callable[[DirectMessage], object]) -> AfterSend:
    """After ``open_dm``: ``start`` the conversation in the direct message just opened."""

    def hook(row: OutboxRow, sent: Delivered) -> Sequence[OutboxMessage]:
        channel = sent.channel or sent.ts
        if channel:
            key = f"dm:{row.conversation_id}:{row.seq}"
            start(
                DirectMessage(str(row.meta.get(TEAM, "")), str(row.payload["user"]), channel, key)
            )
        return ()

    return hook


def point_to_newer(command: str) -> AfterSend:
    """After ``permalink``: the replaced conversation's channel message says it was
    replaced, linking here when Slack gave the link."""

    def hook(row: OutboxRow, sent: Delivered) -> Sequence[OutboxMessage]:
        replaced = row.meta.get(REPLACES)
        if not isinstance(replaced, dict):
            return ()
        link = sent.permalink
        newer = f"<{link}|newer conversation>" if link else "newer conversation"
        what = f"Replaced by a {newer}. Start again any time with `{command}`."
        message = blocks.ended_root_message(str(replaced["user"]), str(replaced["title"]), what)
        where = {"channel": row.payload["channel"], "ts": str(replaced["ts"])}
        return [OutboxMessage("replaced", {**where, **message})]

    return hook


def register(
    deliverer: Deliverer, *, command: str, start: Callable[[DirectMessage], object]
) -> None:
    """The Slack app's after-send hooks, on ``deliverer``."""
    deliverer.after_send("open_dm", start_in_dm(start))
    deliverer.after_send("permalink", point_to_newer(command))
