"""Failures the fake Web API injects on demand (`fail_next`, `fail_for`, `hold_next`) and
its optional per-channel rate limit: a mixin of `FakeSlack`, kept apart so the fake's
request handling reads on its own."""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from typing import Any


@dataclasses.dataclass
class Failure:
    method: str  # "*" matches every method
    error: str | None
    status: int
    retry_after: float | None
    delay: float
    channel: str | None
    times: int | None  # None: until `until`
    until: float | None = None
    applied: bool = False  # the call takes effect, then the failure is answered

    def matches(self, method: str, channel: str | None) -> bool:
        if self.method not in ("*", method):
            return False
        return self.channel is None or self.channel == channel

    @property
    def fails(self) -> bool:
        return self.status != 200 or self.error is not None


class Hold:
    """One parked call (`FakeSlack.hold_next`)."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.arrived = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def park(self, timeout: float = 60.0) -> None:
        """In the fake's handler: say the call arrived, wait to be let go."""
        self.arrived.set()
        self._released.wait(timeout)


def retry_after_header(value: float | None, computed: float) -> str:
    if value is not None:
        return str(max(0, math.ceil(value)))
    return str(max(1, math.ceil(computed)))


class FailureInjection:
    """`FakeSlack`'s injected failures, parked calls and rate limit (state set up by
    `FakeSlack._reset_state`)."""

    _lock: Any
    _failures: list[Failure]
    _holds: list[Hold]
    _buckets: dict[str, tuple[float, float]]
    rate_limit_per_channel: float | None
    rate_limit_burst: float

    def hold_next(self, method: str) -> Hold:
        """Park the next call of ``method`` until the returned `Hold` is released."""
        hold = Hold(method)
        with self._lock:
            self._holds.append(hold)
        return hold

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: float | None = None,
        times: int = 1,
        delay: float = 0.0,
        channel: str | None = None,
        applied: bool = False,
    ) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any; optionally in ``channel``) fail.

        status=429 -> Retry-After + ``ratelimited``; status>=500 without error -> HTML body;
        error=code -> HTTP ``status`` with ``{"ok": false, "error": code}``;
        delay only -> a slow success. ``applied``: the call takes effect all the same
        and only its answer is the failure (a proxy or a load balancer that answered
        for Slack after Slack acted): an unclear answer.
        """
        if status == 200 and error is None and delay <= 0:
            raise ValueError("fail_next needs an error, a non-200 status or a delay")
        with self._lock:
            self._failures.append(
                Failure(
                    method,
                    error,
                    status,
                    retry_after,
                    delay,
                    channel,
                    times=times,
                    applied=applied,
                )
            )

    def fail_for(
        self,
        method: str,
        seconds: float,
        status: int = 500,
        *,
        error: str | None = None,
        retry_after: float | None = None,
        channel: str | None = None,
    ) -> None:
        """Every call of ``method`` fails for ``seconds`` from now, then the fake recovers."""
        with self._lock:
            self._failures.append(
                Failure(
                    method,
                    error,
                    status,
                    retry_after,
                    0.0,
                    channel,
                    times=None,
                    until=time.monotonic() + seconds,
                )
            )

    def clear_failures(self) -> None:
        """Forget every injected failure still queued; keep messages and calls."""
        with self._lock:
            self._failures.clear()

    def _take_failure(self, method: str, channel: str | None) -> Failure | None:
        now = time.monotonic()
        with self._lock:
            self._failures = [f for f in self._failures if f.until is None or f.until > now]
            for f in self._failures:
                if f.matches(method, channel):
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            self._failures.remove(f)
                    return f
        return None

    @staticmethod
    def _render_failure(f: Failure) -> tuple[int, dict, list[tuple[str, str]], str]:
        if f.status == 429:
            header = retry_after_header(f.retry_after, 1)
            return (
                429,
                {"ok": False, "error": f.error or "ratelimited"},
                [("Retry-After", header)],
                "json",
            )
        extra = []
        if f.retry_after is not None:
            extra.append(("Retry-After", retry_after_header(f.retry_after, 1)))
        if f.status >= 500 and f.error is None:
            return f.status, {}, extra, "html"
        return f.status, {"ok": False, "error": f.error or "fatal_error"}, extra, "json"

    def _rate_limited(self, method: str, channel: str | None) -> float | None:
        """Seconds to wait if this call exceeds the per-channel budget, else None."""
        rate = self.rate_limit_per_channel
        if not rate or method != "chat.postMessage" or not channel:
            return None
        now = time.monotonic()
        tokens, last = self._buckets.get(channel, (self.rate_limit_burst, now))
        tokens = min(self.rate_limit_burst, tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return None
        self._buckets[channel] = (tokens, now)
        return (1.0 - tokens) / rate
