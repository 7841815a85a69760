"""Messages a request queues go to the sender threads once Slack has its answer.

Each request's handling runs inside `bot.store.claiming` (a context, not a
parameter): the listener's writes claim the messages they queue into the request's
`Claims`, and the front hands them to the deliverer after the answer:
`bot.slack.wsgi` once the HTTP response is written, `ClaimingSocketModeHandler` once
the Socket Mode ack is sent. A request without one (another adapter) still has its
messages sent, by the deliverer's claim loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import time

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers, send_response
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.delivery import Deliverer
from bot.store.claiming import claiming
from bot.store.watchdog import request_deadline


class ClaimingSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, with the request's `Claims` opened around its
    dispatch and handed to the deliverer after the ack (Bolt's own `handle`, plus that)."""

    def __init__(
        self, app: App, app_token: str, deliverer: Deliverer, database_seconds: float = 2.0
    ) -> None:
        """``database_seconds``: the budget of each request's database work."""
        super().__init__(app, app_token)
        self._deliverer = deliverer
        self._database_seconds = database_seconds

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time()
        request = BoltRequest(
            mode="socket_mode",
            body=req.payload,
            headers=build_headers(req),
        )
        with sent_when_done(self._deliverer):
            with request_deadline(self._database_seconds):
                response = self.app.dispatch(request)
            send_response(client, req, response, start)


@contextmanager
def sent_when_done(deliverer: Deliverer) -> Iterator[None]:
    """Inside: the writes claim what they queue. At the end, even after a failure, the
    claimed messages go straight to a sender thread (not at the lease's end, nor
    through the claim loop). For a Socket Mode request and for work an after-send hook
    does outside any request; the HTTP front sends only once its response is written."""
    claims = deliverer.claims()
    try:
        with claiming(claims):
            yield
    finally:
        deliverer.send_claimed(claims)
