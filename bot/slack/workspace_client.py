"""One Web API client for every workspace: the token is chosen per thread, per send.

The sender threads share one `KeepAliveWebClient` (its connections are per thread
already). In OAuth mode each outbox row must go with its own workspace's token, so
the token is thread-local here: `acting_for(token)` sets it for the calls a sender
thread makes while sending one row, and nothing else sees it. Without a token set,
calls carry the client's own (SLACK_BOT_TOKEN in single-token mode; none in OAuth
mode, so a call outside any workspace fails with Slack's `not_authed` instead of
going out with some other workspace's token).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.slack.keepalive import KeepAliveWebClient


class WorkspaceClient(KeepAliveWebClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._acting = threading.local()
        self._own_token: str | None = None
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def token(self) -> str | None:
        """The token of the workspace this thread acts for, else the client's own."""
        return getattr(self._acting, "token", None) or self._own_token

    @token.setter
    def token(self, value: str | None) -> None:
        self._own_token = value

    @contextmanager
    def acting_for(self, token: str | None) -> Iterator[None]:
        """Calls made by this thread inside the block carry ``token`` (None: the own)."""
        before = getattr(self._acting, "token", None)
        self._acting.token = token
        try:
            yield
        finally:
            self._acting.token = before
