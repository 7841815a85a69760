"""Messages a request queues go to the sender threads once Slack has its answer.

Each request carries a `Claims` in its Bolt context (key `CLAIMS`): the listener's
writes claim the messages they queue into it, and the front hands it to the
deliverer after the answer: `bot.slack.wsgi` once the HTTP response is written,
`ClaimingSocketModeHandler` once the Socket Mode ack is sent. A request without one
(another adapter) still has its messages sent, by the deliverer's claim loop.
"""

from __future__ import annotations

from time import time

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers, send_response
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.delivery import Deliverer

CLAIMS = "llm_cost_claims"


class ClaimingSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, with the request's `Claims` in its context and
    handed to the deliverer after the ack (Bolt's own `handle`, plus that)."""

    def __init__(self, app: App, app_token: str, deliverer: Deliverer) -> None:
        super().__init__(app, app_token)
        self._deliverer = deliverer

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time()
        claims = self._deliverer.claims()
        request = BoltRequest(
            mode="socket_mode",
            body=req.payload,
            headers=build_headers(req),
            context={CLAIMS: claims},
        )
        try:
            send_response(client, req, self.app.dispatch(request), start)
        finally:
            self._deliverer.send_claimed(claims)
