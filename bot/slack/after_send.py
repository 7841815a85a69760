"""Work that follows a send, registered with the deliverer by the composition root
(`bot.slack.runtime`), so that the sender only sends and never calls up:

* ``open_dm`` sent (a DM opened for a plan asked for outside any channel): start the
  conversation there (`Moves.start_in_dm`, keyed on the row, so a repeat starts
  nothing twice).
* ``permalink`` sent for a conversation that replaced another: queue an edit of the
  replaced one's channel message saying so, with the link Slack gave (an ordinary
  outbox row of the quiet kind ``replaced``).
* ``permalink`` sent: keep the link for the Home views built before the deliverer
  records it with the conversation (`FreshLinks`).
"""

from __future__ import annotations

import threading
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


class FreshLinks:
    """Thread links Slack just gave, by conversation (the newest ``keep``), for a Home
    view built before the deliverer has recorded them; an after-send hook."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._links: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, row: OutboxRow, sent: Delivered) -> Sequence[OutboxMessage]:
        if sent.permalink:
            with self._lock:
                self._links.pop(row.conversation_id, None)
                self._links[row.conversation_id] = sent.permalink
                while len(self._links) > self.keep:
                    self._links.pop(next(iter(self._links)))
        return ()

    def links(self) -> dict[str, str]:
        """A copy of the links kept, by conversation."""
        with self._lock:
            return dict(self._links)


def register(
    deliverer: Deliverer,
    *,
    command: str,
    start: Callable[[DirectMessage], object],
    links: FreshLinks,
) -> None:
    """The Slack app's after-send hooks, on ``deliverer``."""
    deliverer.after_send("open_dm", start_in_dm(start))
    deliverer.after_send("permalink", links)
    deliverer.after_send("permalink", point_to_newer(command))
