"""Every outbox kind the Slack sender knows, with its traits, in one table.

The deliverer and the store treat a kind as an opaque name; the sender dispatches on
this table (``send``: the `SlackSender` method that sends it), the failure notes read
its ``method`` and ``quiet``, and the deliverer its ``repeatable``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One outbox kind.

    ``method``: the Web API method (or step) it fails at when its failure names none.
    ``send``: the name of the `SlackSender` method that sends it. ``posts``: it adds a
    message to a channel, so it is paced, and looked for after an attempt whose outcome
    is unclear. ``repeatable``: sending it twice does no harm (an edit, a pin), so its
    success may be recorded with the next row's. ``quiet``: its failure is nobody's
    news but the log's (a notice, a link, a view). ``may_end``: a refusal that Slack
    means for the whole conversation ends it (a refused pin or a quiet kind ends
    nothing). ``needs_token``: it goes with the bot token (a ``response_url`` needs
    none).
    """

    name: str
    method: str
    send: str
    posts: bool = False
    repeatable: bool = False
    quiet: bool = False
    may_end: bool = True
    needs_token: bool = True

    def __post_init__(self) -> None:
        if self.quiet:
            object.__setattr__(self, "may_end", False)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("post", "chat.postMessage", "_post", posts=True),
        Kind("update", "chat.update", "_update", repeatable=True),
        Kind("pin", "pins.add", "_pin", repeatable=True, may_end=False),
        Kind("unpin", "pins.remove", "_unpin", repeatable=True, may_end=False),
        Kind("ephemeral", "chat.postEphemeral", "_ephemeral"),
        Kind("respond", "response_url", "_respond", quiet=True, needs_token=False),
        Kind("dm", "conversations.open", "_dm", quiet=True),
        # Which step of the three failed is in the row's error.
        Kind("chart", "chart", "_chart", posts=True),
        Kind("permalink", "chat.getPermalink", "_permalink", repeatable=True, quiet=True),
        Kind("publish", "views.publish", "_publish", repeatable=True, quiet=True),
        Kind("open_dm", "conversations.open", "_open_dm", quiet=True),
        # An edit of a replaced conversation's channel message, linking to its successor.
        Kind("replaced", "chat.update", "_update", repeatable=True, quiet=True),
    )
}

#: Kinds whose sending twice does no harm (see `Sender.repeatable`).
REPEATABLE = frozenset(k.name for k in KINDS.values() if k.repeatable)
#: Kinds whose failure ends nothing and only the log hears of.
QUIET = frozenset(k.name for k in KINDS.values() if k.quiet)


def method_of(kind: str) -> str:
    """The Web API method a row of ``kind`` fails at when its failure names none."""
    found = KINDS.get(kind)
    return found.method if found else kind
