"""No token, refresh token or secret in the log, at any level.

slack_sdk logs each request's parameters and each response's body at DEBUG: in
OAuth mode those hold access tokens (oauth.v2.access answers), refresh tokens (token
rotation sends them) and codes. Rather than trust every library's logger, every log
record's message is scrubbed as it is formatted: Slack's token shapes (`xoxb-`,
`xoxp-`, `xoxe-`, `xoxe.xoxb-`, `xapp-` ...) and the configured secrets' values are
replaced. Only messages that are actually written pay for it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

#: Slack's token formats (bot, user, app-level, refresh and rotating ones).
TOKEN = re.compile(r"\b(?:xoxe\.)?xox[abeoprs]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")
REDACTED = "[redacted]"

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """``text`` without tokens or any registered secret."""
    text = TOKEN.sub(REDACTED, text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class _RedactedRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return redact(super().getMessage())


def install(secrets: Iterable[str | None] = ()) -> None:
    """Scrub every log record from now on (once per process), and these values too."""
    global _installed
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= 6)
        if _installed:
            return
        if logging.getLogRecordFactory() is not logging.LogRecord:
            # Someone else's factory: wrap it instead of replacing it.
            inner = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                record = inner(*args, **kwargs)
                record.msg = redact(record.getMessage())
                record.args = None
                return record

            logging.setLogRecordFactory(factory)
        else:
            logging.setLogRecordFactory(_RedactedRecord)
        _installed = True
