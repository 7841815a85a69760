"""The request's `Claims`, carried by context instead of by hand.

A front (the HTTP handler, the Socket Mode handler, the after-send start in a DM)
opens `claiming(claims)` around the request's handling; every store write inside
it (`create_conversation`, `apply_step`, `enqueue`) claims the rows it queues into
those claims, and the front hands them to the deliverer once Slack has its answer.
Nothing between the front and the store passes them along. Outside any `claiming`
block (maintenance, scripts, another adapter) nothing is claimed, and the
deliverer's claim loop sends the rows.

A `ContextVar`, so each thread (and each task) sees only its own request's claims:
Bolt runs listeners in the dispatching thread (`process_before_response=True`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from bot.store.models import Claims

_CURRENT: ContextVar[Claims | None] = ContextVar("llm_cost_claims", default=None)


@contextmanager
def claiming(claims: Claims) -> Iterator[Claims]:
    """Store writes inside this block claim what they queue into ``claims``."""
    token = _CURRENT.set(claims)
    try:
        yield claims
    finally:
        _CURRENT.reset(token)


def current_claims() -> Claims | None:
    """The claims of the request being handled, if a front opened `claiming`."""
    return _CURRENT.get()
