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
* ``permalink`` sent for a start asked for from the App Home: publish that person's
  Home again, built now, with the link (`publish_home`). Home views are built when
  their row is queued, so this is how the last one published shows the thread's link.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from bot.delivery import AfterSend, Delivered, Deliverer
from bot.slack import blocks
from bot.slack.plan import HOME_FOR, REPLACES, DirectMessage
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


#: Publishes a person's Home view, built as it is queued, with thread links Slack just
#: gave: (team, user, links by conversation); `People.publish_home`, in `runtime`.
PublishHome = Callable[[str, str, dict[str, str]], object]


def publish_home(publish: PublishHome) -> AfterSend:
    """After ``permalink`` of a start from the App Home: the person's Home again, with
    the link (none when Slack gave none: the thread is listed all the same). A repeat
    publishes the same view again, which does no harm."""

    def hook(row: OutboxRow, sent: Delivered) -> Sequence[OutboxMessage]:
        home = row.meta.get(HOME_FOR)
        if isinstance(home, dict) and home.get("user"):
            links = {row.conversation_id: sent.permalink} if sent.permalink else {}
            publish(str(home.get("team") or ""), str(home["user"]), links)
        return ()

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
    home: PublishHome,
) -> None:
    """The Slack app's after-send hooks, on ``deliverer``: ``links`` first, so that
    every Home view built from then on has the link."""
    deliverer.after_send("open_dm", start_in_dm(start))
    deliverer.after_send("permalink", links)
    deliverer.after_send("permalink", point_to_newer(command))
    deliverer.after_send("permalink", publish_home(home))
