"""Whether Slack still takes the bot token, decided by auth.test, never by one answer.

After `invalid_auth`, `token_revoked` or `account_inactive` (the app was uninstalled,
its tokens revoked, the workspace deactivated) every further call fails the same way.
But one such answer can also be a glitch on Slack's side, and acting on it would end
every conversation that moves next. So one dead-token answer makes the sender ask
`auth.test` (:meth:`TokenHealth.confirm`): only when it refuses the token too is the
token taken as refused. Then the sender gives messages up without calling Slack, one
ERROR line says what happened, and `/healthz` answers 503 with the reason.

While refused, `auth.test` is asked again at most every ``recheck_every`` seconds (by
the sender when a message waits, and by the maintenance pass): once it accepts the
token (it was restored, or rotated), one WARNING line says so, messages flow again
and `/healthz` turns 200.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

log = logging.getLogger(__name__)

#: Slack's answers meaning the token will not work again.
DEAD_TOKEN = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})
#: Slack's events that say the same (`app_uninstalled`, `tokens_revoked`): signed, so
#: taken at their word.
TOKEN_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})


#: What the log says to do about a refused token (single-token mode).
ADVICE = " and /healthz answers 503; reinstall the app and restart with the new SLACK_BOT_TOKEN"


class Verdict(enum.Enum):
    """What `auth.test` said of the token."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    UNSURE = "unsure"  # no clear answer (a timeout, a 5xx): decide nothing


#: Asks Slack about the token: None when it is accepted, the dead-token code when it is
#: refused; raises :class:`Unsure` when Slack gave no clear answer.
Check = Callable[[], str | None]


class Unsure(Exception):
    """auth.test gave no clear answer."""


def auth_check(client: WebClient) -> Check:
    """A :data:`Check` that calls ``auth.test`` with ``client``'s token."""

    def check() -> str | None:
        try:
            client.auth_test()
        except SlackApiError as exc:
            code = exc.response.get("error")
            if code in DEAD_TOKEN:
                return str(code)
            word = isinstance(code, str) and code and " " not in code  # not an HTML page
            raise Unsure(code if word else f"http_{exc.response.status_code}") from None
        except (SlackRequestError, OSError) as exc:
            raise Unsure(type(exc).__name__) from None
        return None

    return check


class TokenHealth:
    """The bot token's standing with Slack, shared by the sender threads, the lifecycle
    listeners and `/healthz`. Without a ``check`` every dead-token answer is taken at
    its word (tools and tests that have no client)."""

    def __init__(
        self,
        team: str = "",
        *,
        check: Check | None = None,
        clock: Callable[[], float] = time.monotonic,
        recheck_every: float = 60.0,
        fresh_for: float = 2.0,
        advice: str = ADVICE,
        quiet: bool = False,
    ) -> None:
        """``recheck_every``: seconds between auth.test calls while the token is refused.
        ``fresh_for``: a verdict this recent answers for failures of other threads too
        (several sender threads meeting one glitch make one auth.test). ``advice``: what
        the refusal's log line tells operators; ``quiet``: log it at INFO (OAuth mode: a
        workspace without an installation is no fault of ours)."""
        self.team = team
        self.advice = advice
        self.quiet = quiet
        self.recheck_every = recheck_every
        self.fresh_for = fresh_for
        self._check = check
        self._clock = clock
        self._refused: str | None = None
        self._checked_at: float | None = None
        self._verdict: Verdict | None = None
        self._lock = threading.Lock()  # one auth.test at a time
        self._state = threading.Lock()  # the fields above, held briefly

    @property
    def refused(self) -> str | None:
        """Slack's error code if it refused the token (confirmed), else None."""
        return self._refused

    def confirm(self, code: str, method: str = "a call") -> bool:
        """Slack answered ``code`` (a dead-token answer) to ``method``: ask auth.test.
        True when the token is refused (now or already); False when auth.test accepts
        it, or gives no clear answer (the message is then retried later)."""
        if self._check is None:
            self.refuse(code)
            return True
        with self._lock:
            if self._refused is not None:
                return True
            verdict = self._recent()
            if verdict is None:
                verdict = self._ask(code)
        if verdict is Verdict.REFUSED:
            return True
        if verdict is Verdict.ACCEPTED:
            log.warning(
                "Slack answered %s to %s, but auth.test accepts the bot token for workspace "
                "%s: nothing is ended, the message is retried",
                code,
                method,
                self.team or "?",
            )
        return False

    def recheck(self, *, force: bool = False) -> bool:
        """While refused, ask auth.test again (at most every ``recheck_every`` seconds
        unless ``force``); True when the token is accepted now."""
        if self._refused is None:
            return True
        if self._check is None:
            return False
        with self._lock:
            if self._refused is None:
                return True
            due = self._checked_at is None or (
                self._clock() - self._checked_at >= self.recheck_every
            )
            if force or due:
                self._ask(self._refused)
            return self._refused is None

    def refuse(self, reason: str) -> None:
        """Slack refused the token (auth.test said so, or Slack told us it was revoked);
        logged once. Never waits for an auth.test under way (a listener calls this)."""
        with self._state:
            if self._refused is not None:
                return
            self._refused = reason
            self._verdict, self._checked_at = Verdict.REFUSED, self._clock()
        log.log(
            logging.INFO if self.quiet else logging.ERROR,
            "Slack refused the bot token for workspace %s (%s): no more messages are sent there%s",
            self.team or "?",
            reason,
            self.advice,
        )

    def _recent(self) -> Verdict | None:
        """The last verdict, if it is fresh enough to stand for this failure too."""
        if self._checked_at is None or self._verdict is Verdict.UNSURE:
            return None
        return self._verdict if self._clock() - self._checked_at < self.fresh_for else None

    def _ask(self, code: str) -> Verdict:
        """Call auth.test (the lock held) and act on its answer."""
        assert self._check is not None
        try:
            refused = self._check()
        except Unsure as exc:
            log.warning(
                "Slack refused auth.test with %s after answering %s; to fix: none: auth.test "
                "gave no clear answer, so it decided nothing; the message is retried and "
                "auth.test asked again before anything ends",
                exc,
                code,
            )
            self._verdict, self._checked_at = Verdict.UNSURE, self._clock()
            return Verdict.UNSURE
        self._checked_at = self._clock()
        if refused is not None:
            self.refuse(refused)
            self._verdict = Verdict.REFUSED
            return Verdict.REFUSED
        with self._state:
            self._verdict = Verdict.ACCEPTED
            was, self._refused = self._refused, None
        if was is not None:
            log.warning(
                "Slack accepts the bot token for workspace %s again (it had refused it: %s): "
                "messages are sent again and /healthz answers 200",
                self.team or "?",
                was,
            )
        return Verdict.ACCEPTED
