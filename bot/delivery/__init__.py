"""Delivery: outbox rows to Slack, in order, once, with one retry policy. No SQL here:
the deliverer asks the store's queue; the sender (in `bot.slack`) talks to Slack. No
calls up either: what follows a send or a refusal is a hook the application registers
(`Deliverer.after_send`, ``on_give_up``)."""

from bot.delivery.contract import (
    UNRESOLVED_REF,
    AfterSend,
    Delivered,
    OnGiveUp,
    Outcome,
    PermanentFailure,
    Postpone,
    RetryLater,
    Sender,
)
from bot.delivery.deliverer import Deliverer
from bot.delivery.policy import RetryPolicy
from bot.delivery.refs import has_refs, ref_names, resolve_refs

__all__ = [
    "UNRESOLVED_REF",
    "AfterSend",
    "Delivered",
    "Deliverer",
    "OnGiveUp",
    "Outcome",
    "PermanentFailure",
    "Postpone",
    "RetryLater",
    "RetryPolicy",
    "Sender",
    "has_refs",
    "ref_names",
    "resolve_refs",
]
