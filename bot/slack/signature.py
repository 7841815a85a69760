"""Is a request really from Slack? The signature check, with the reason when it is not.

It runs before Bolt sees the request (Bolt's own check is turned off) for two
reasons: Bolt parses the whole body before it verifies it, and on failure it logs
that body, typed text and `response_url` included. Here a refusal costs one HMAC
(over the base string Slack documents) and is logged as one line without the body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from enum import StrEnum

#: Slack's limit: a request more than five minutes old (or ahead) may be a replay.
MAX_AGE_SECONDS = 60 * 5
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_TEAM = re.compile(rb'team_id(?:=|":")([A-Z0-9]{1,32})|"team":\{"id":"([A-Z0-9]{1,32})"')
_TEAM_SEARCH_BYTES = 4096


class Refusal(StrEnum):
    """Why a request was refused (401)."""

    UNSIGNED = "no signature or timestamp header"
    BAD_TIMESTAMP = "malformed timestamp header"
    STALE = "timestamp more than 5 minutes away from now"
    MISMATCH = "signature does not match"


class Signatures:
    def __init__(self, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode()
        self._clock = clock

    def check(self, headers: Mapping[str, str], body: bytes) -> Refusal | None:
        """None when ``body`` was signed with our secret, recently; else why not.
        ``headers`` are lower-case names."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp or not signature:
            return Refusal.UNSIGNED
        if not _TIMESTAMP.fullmatch(timestamp):
            return Refusal.BAD_TIMESTAMP
        if abs(self._clock() - int(timestamp)) > MAX_AGE_SECONDS:
            return Refusal.STALE
        # slack_sdk's SignatureVerifier would decode the body as UTF-8 first (and raise on
        # bytes that are not); Slack signs the raw bytes.
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return Refusal.MISMATCH
        return None


def team_of(body: bytes) -> str | None:
    """The workspace a (refused) request names, from the start of its body, for the log."""
    found = _TEAM.search(body[:_TEAM_SEARCH_BYTES])
    if found is None:
        return None
    return (found.group(1) or found.group(2)).decode("ascii")
