"""Refusals of requests that are not Slack's are logged at a bounded rate.

Each unsigned request wrote a WARNING line: 41,179 lines in 20 s from one client,
which buries everything else and fills disks. :class:`RefusalThrottle` is a logging
filter: for each kind of refusal line (known by its message format), the first in an
interval is logged, the rest of that interval are only counted, and the next line
logged says how many were left out. Other lines pass untouched. The app puts a fresh
throttle in place when it is built (`bot.slack.app.create_app`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

#: The refusal lines, by the start of their message format, and the loggers they use.
REFUSAL_LINES = (
    "refused a request",  # bot.slack.wsgi: a bad or missing signature
    "unreadable request refused",  # bot.slack.wsgi: a body Bolt could not read
    "refused a malformed",  # bot.slack.shapes: a body of the wrong shape
    "Unhandled request",  # Bolt: a body no listener takes
    "ignoring a",  # listeners and moves: clicks and starts without well-formed ids
)
REFUSAL_LOGGERS = (
    "bot.slack.wsgi",
    "bot.slack.shapes",
    "bot.slack.bolt",
    "bot.slack.moves",
    "bot.slack.listeners.actions",
    "bot.slack.listeners.home",
)


class RefusalThrottle(logging.Filter):
    """At most one line per refusal kind per ``interval`` seconds, with a count of the
    lines left out since the last one."""

    def __init__(
        self,
        interval: float = 60.0,
        *,
        prefixes: Iterable[str] = REFUSAL_LINES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.prefixes = tuple(prefixes)
        self._clock = clock
        self._lock = threading.Lock()
        # "logger: prefix" -> (when its last line was logged, lines left out since)
        self._kinds: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.msg if isinstance(record.msg, str) else ""
        prefix = next((p for p in self.prefixes if text.startswith(p)), None)
        if prefix is None:
            return True
        kind = f"{record.name}: {prefix}"
        now = self._clock()
        with self._lock:
            logged_at, left_out = self._kinds.get(kind, (None, 0))
            if logged_at is not None and now - logged_at < self.interval:
                self._kinds[kind] = (logged_at, left_out + 1)
                return False
            self._kinds[kind] = (now, 0)
        if left_out:
            # Appended to the message after formatting, so a '%' in it cannot break it.
            record.msg = record.getMessage() + (
                f" (and {left_out} more like it in the last {self.interval:g} s)"
            )
            record.args = None
        return True


_installed = threading.Lock()


def install(throttle: RefusalThrottle | None = None) -> RefusalThrottle:
    """Put ``throttle`` (a new one by default) on the loggers that write refusal lines,
    in place of any earlier one; returns it."""
    throttle = throttle or RefusalThrottle()
    with _installed:
        for name in REFUSAL_LOGGERS:
            logger = logging.getLogger(name)
            for existing in [f for f in logger.filters if isinstance(f, RefusalThrottle)]:
                logger.removeFilter(existing)
            logger.addFilter(throttle)
    return throttle
