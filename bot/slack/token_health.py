"""Whether Slack still takes the bot token: once it says the token is dead, stop calling.

After `invalid_auth`, `token_revoked` or `account_inactive` (the app was uninstalled,
its tokens revoked, or the workspace deactivated) every further call fails the same
way. The sender then gives messages up without calling Slack, one ERROR line says
what happened, and `/healthz` reports it until the process restarts with a new token.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

#: Slack's answers meaning the token will not work again.
DEAD_TOKEN = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})


class TokenHealth:
    def __init__(
        self,
        team: str = "",
        *,
        advice: str = "reinstall the app and restart with the new SLACK_BOT_TOKEN",
        quiet: bool = False,
    ) -> None:
        """``advice``: what the log line tells operators to do; ``quiet``: log it at INFO
        (a workspace without an installation is no fault of ours)."""
        self.team = team
        self.advice = advice
        self.quiet = quiet
        self._refused: str | None = None
        self._lock = threading.Lock()

    @property
    def refused(self) -> str | None:
        """Slack's error code if it refused the token, else None."""
        return self._refused

    def refuse(self, reason: str) -> None:
        """Slack refused the token (or told us it was revoked); logged once."""
        with self._lock:
            if self._refused is not None:
                return
            self._refused = reason
        log.log(
            logging.INFO if self.quiet else logging.ERROR,
            "Slack refused the bot token for workspace %s (%s): no more messages are sent "
            "there; %s",
            self.team or "?",
            reason,
            self.advice,
        )
