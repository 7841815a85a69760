"""A loopback fake of the Slack Web API for tests and benchmarks.

``FakeSlack`` serves ``/api/<method>`` on 127.0.0.1 (ephemeral port) from a
``ThreadingHTTPServer`` in a daemon thread, keeps a little state (messages,
ephemerals, pins), records every call, and injects failures on demand::

    with FakeSlack() as fake:
        client = fake.client()                  # a slack_sdk.WebClient aimed at the fake
        client.chat_postMessage(channel="C1", text="hi")
        fake.wait_for("chat.postMessage")

Standalone (benchmarks): ``python -m bot.testing.slack_api --port 0 [--rate-limit-per-channel
1.0]`` prints ``READY http://127.0.0.1:PORT/api/``; slack_control.py has its control
endpoints and `FakeSlackRemote`, their client.

Behaviour worth knowing:

* ``apps.connections.open`` (Socket Mode) takes an ``xapp-`` token and answers
  with ``socket_mode_url`` (see ``bot/testing/socket_mode.py``).
* OAuth v2 (``fake.oauth``, see ``bot/testing/slack_oauth.py``): ``oauth.v2.access``
  takes client credentials (Basic auth or form) and a code the test granted with
  ``fake.oauth.grant(code, team_id, ...)`` (once), or a refresh token (token
  rotation). The tokens it issues (``xoxb-<team>-<n>``) are allowed; auth.test
  answers as their workspace; ``fake.oauth.uninstall(team)`` makes them fail with
  ``token_revoked``. ``reset()`` keeps this state.


* Bodies may be ``application/x-www-form-urlencoded`` or ``application/json``
  (slack_sdk 3.48 sends JSON for chat.postMessage / chat.update /
  chat.postEphemeral and a form for auth.test / pins.* / conversations.*).
  ``blocks``, ``attachments`` and ``metadata`` given as JSON strings are decoded.
* Auth: ``Authorization: Bearer <token>`` (or a ``token`` body param, as Slack
  accepts). Missing -> ``not_authed``; not allowed -> ``invalid_auth`` (HTTP 200,
  as Slack). Default allows any ``xoxb-`` token.
* Order of checks per API call: injected failure (``fail_next``/``fail_for``),
  then auth, then the per-channel rate limit (chat.postMessage only), then the
  method. Failed calls are recorded with their status and change no state.
* A ``delay`` without an error is a *slow success*: the server sleeps, then
  applies the call. A client that timed out meanwhile still gets its message
  posted, as with Slack itself.
* ``hold_next(method)`` parks the next call of ``method`` before it is applied and
  returns a `Hold`: its ``arrived`` event says the call is in, ``release()`` lets it
  go on (a test can break something else while a call is under way, by events).
* ``Retry-After`` is always an integer string: slack_sdk's
  ``RateLimitErrorRetryHandler`` does ``int(header)``, so "0.5" would raise
  ``ValueError`` there. Computed waits are rounded up with a minimum of 1;
  an explicit ``retry_after`` (``fail_next``) or ``rate_limit_retry_after``
  (constructor) is only rounded up, so ``0`` is allowed for fast tests.
* ``response_url(token)`` -> ``http://127.0.0.1:PORT/response/<token>``;
  POSTs are recorded as method ``"response_url"`` with ``Call.token`` set and
  answered ``{"ok": true}`` (Slack answers a plain ``ok``; Bolt's ``respond``
  ignores the body). The 5-uses / 30-minutes limits are not enforced.
* slack_sdk's WebClient takes ``HTTPS_PROXY``/``HTTP_PROXY`` from the
  environment (ignoring ``NO_PROXY``) even for 127.0.0.1; ``FakeSlack.client()``
  clears ``client.proxy`` so loopback calls never go through a proxy.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from bot.testing.slack_control import ControlEndpoints, FakeSlackRemote
from bot.testing.slack_failures import Failure, FailureInjection, Hold, retry_after_header
from bot.testing.slack_methods import METHODS, WebApiMethods
from bot.testing.slack_oauth import FakeOAuth
from bot.testing.slack_wire import Call, Handler, Server

__all__ = ["Call", "FakeSlack", "FakeSlackRemote", "Hold"]


class FakeSlack(FailureInjection, WebApiMethods, ControlEndpoints):
    """Loopback fake of the Slack Web API. See the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        team_id: str = "T0FAKE",
        team: str = "Fake",
        bot_user_id: str = "U0BOT",
        bot_user_name: str = "llmcost",
        bot_id: str = "B0BOT",
        app_id: str = "A0001",
        allowed_tokens: Iterable[str] | None = None,
        rate_limit_per_channel: float | None = None,
        rate_limit_burst: float = 1.0,
        rate_limit_retry_after: float | None = None,
        ts_base: int = 1_700_000_000,
        channel_names: dict[str, str] | None = None,
    ) -> None:
        self.host, self._port = host, port
        self.team_id, self.team = team_id, team
        self.bot_user_id, self.bot_user_name, self.bot_id = bot_user_id, bot_user_name, bot_id
        self.app_id = app_id
        self.allowed_tokens = set(allowed_tokens) if allowed_tokens is not None else None
        self.rate_limit_per_channel = rate_limit_per_channel
        self.rate_limit_burst = rate_limit_burst
        self.rate_limit_retry_after = rate_limit_retry_after
        self.ts_base = ts_base
        self.channel_names = dict(channel_names or {})
        #: Where apps.connections.open points (a FakeSocketMode's url); None: refused.
        self.socket_mode_url: str | None = None
        #: OAuth v2: codes to grant, oauth.v2.access, and who each issued token is.
        self.oauth = FakeOAuth()
        self._lock = threading.RLock()

        self._cond = threading.Condition(self._lock)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        handler = type("FakeSlackHandler", (Handler,), {"fake": self})
        self._server = Server((self.host, self._port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return self._server.server_port

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def base_url(self) -> str:
        """For ``WebClient(base_url=...)``: ends with ``/api/``."""
        return f"{self.root_url}api/"

    def response_url(self, token: str) -> str:
        return f"{self.root_url}response/{token}"

    def client(self, token: str = "xoxb-test", **kwargs: Any):
        """A ``slack_sdk.WebClient`` pointed at this fake, never through a proxy."""
        from slack_sdk import WebClient

        client = WebClient(token=token, base_url=self.base_url, **kwargs)
        client.proxy = None  # WebClient loads HTTPS_PROXY/HTTP_PROXY from the environment
        return client

    # ---------------------------------------------------------------- state
    def _reset_state(self) -> None:
        with self._lock:
            self._calls: list[Call] = []
            self._messages: dict[tuple[str, str], dict[str, Any]] = {}
            self._ephemerals: list[dict[str, Any]] = []
            self._pins: dict[str, list[str]] = {}
            self._views: dict[str, dict[str, Any]] = {}
            self._failures: list[Failure] = []
            self._holds: list[Hold] = []
            self._buckets: dict[str, tuple[float, float]] = {}
            self._not_member: set[str] = set()
            self._archived: set[str] = set()
            self._revoked: str | None = None
            self._ts_counter = itertools.count(1)
            self._files: dict[str, dict[str, Any]] = {}
            self._file_counter = itertools.count(1)

    def reset(self) -> None:
        """Forget calls, messages, pins, queued failures and rate-limit buckets."""
        self._reset_state()

    def clear(self) -> None:
        """Forget recorded calls only (state and queued failures stay)."""
        with self._lock:
            self._calls = []

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{self.ts_base + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def remove_bot_from(self, channel: str) -> None:
        """chat.postMessage / pins.add in ``channel`` fail with not_in_channel from now on."""
        with self._lock:
            self._not_member.add(channel)

    def add_bot_to(self, channel: str) -> None:
        with self._lock:
            self._not_member.discard(channel)

    def archive(self, channel: str) -> None:
        """Posting into ``channel`` fails with is_archived from now on."""
        with self._lock:
            self._archived.add(channel)

    def revoke_token(self, error: str = "token_revoked") -> None:
        """Every Web API call fails with ``error`` from now on, as after the app's tokens
        were revoked (response_urls still work: they need no token)."""
        with self._lock:
            self._revoked = error

    def restore_token(self) -> None:
        """The token works again (as after a reinstall that kept it, or a rotation)."""
        with self._lock:
            self._revoked = None

    # ---------------------------------------------------------------- inspection
    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def stats(self) -> dict[str, int]:
        """Number of recorded calls per method (failed ones included)."""
        with self._lock:
            return dict(Counter(c.method for c in self._calls))

    def wait_for(
        self,
        predicate_or_method: str | Callable[[Call], bool],
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Block until ``count`` recorded calls match; return them (all matches so far)."""
        if isinstance(predicate_or_method, str):
            name = predicate_or_method

            def pred(call: Call) -> bool:
                return call.method == name

            what = f"{count} call(s) of {name}"
        else:
            pred = predicate_or_method
            what = f"{count} call(s) matching {getattr(pred, '__name__', pred)!r}"
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self._calls if pred(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    got = "\n".join(
                        f"  {c.method} status={c.status} error={c.error} "
                        f"params={json.dumps(c.params, default=str)[:200]}"
                        for c in self._calls
                    )
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what}; found {len(found)}; "
                        f"received {len(self._calls)} call(s):\n{got or '  (none)'}"
                    )
                self._cond.wait(left)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """Current state of a posted message (after updates), or None."""
        with self._lock:
            msg = self._messages.get((channel, ts))
            return json.loads(json.dumps(msg)) if msg is not None else None

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """All posted messages (current content), by ts; each has a ``channel`` key added."""
        with self._lock:
            items = sorted(self._messages.items(), key=lambda kv: float(kv[0][1]))
            return [
                {**json.loads(json.dumps(m)), "channel": ch}
                for (ch, _), m in items
                if channel is None or ch == channel
            ]

    def messages_in_thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The parent (if posted here) and its replies, current content, oldest first."""
        with self._lock:
            found = [
                m
                for (ch, ts), m in self._messages.items()
                if ch == channel and (ts == thread_ts or m.get("thread_ts") == thread_ts)
            ]
            found.sort(key=lambda m: float(m["ts"]))
            return json.loads(json.dumps(found))

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict]:
        """Ephemeral messages sent; ``user`` filters on the recipient (``to_user``)."""
        with self._lock:
            return [
                dict(e)
                for e in self._ephemerals
                if (channel is None or e["channel"] == channel)
                and (user is None or e["to_user"] == user)
            ]

    def pins(self, channel: str) -> list[str]:
        """Timestamps pinned in ``channel``, in pin order."""
        with self._lock:
            return list(self._pins.get(channel, []))

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home view last published for ``user`` (views.publish), or None."""
        with self._lock:
            view = self._views.get(user)
            return json.loads(json.dumps(view)) if view is not None else None

    def permalink(self, channel: str, ts: str) -> str:
        """The link chat.getPermalink gives for a message."""
        return f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    # ---------------------------------------------------------------- request handling
    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _handle_api(self, method: str, params: dict, headers: dict):
        arrived = time.time()
        token = None
        auth = headers.get("Authorization") or headers.get("authorization")
        if auth and auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        elif isinstance(params.get("token"), str):
            token = params["token"]
        channel = params.get("channel") if isinstance(params.get("channel"), str) else None

        with self._lock:
            hold = next((h for h in self._holds if h.method == method), None)
            if hold is not None:
                self._holds.remove(hold)
        if hold is not None:
            hold.park()
        failure = self._take_failure(method, channel)
        if failure is not None and failure.delay > 0:
            time.sleep(failure.delay)
        extra: list[tuple[str, str]] = []
        kind = "json"
        with self._lock:
            if failure is not None and failure.fails and not failure.applied:
                status, payload, extra, kind = self._render_failure(failure)
            elif method == "oauth.v2.access":  # client credentials, not a token
                status, payload = 200, self.oauth.access(params, headers)
            elif self.oauth.revoked(token):
                status, payload = 200, {"ok": False, "error": "token_revoked"}
            elif not token:
                status, payload = 200, {"ok": False, "error": "not_authed"}
            elif self._revoked:
                status, payload = 200, {"ok": False, "error": self._revoked}
            elif method == "apps.connections.open":
                status, payload = 200, self._m_apps_connections_open(token)
            elif (
                token not in self.allowed_tokens
                if self.allowed_tokens is not None
                else not token.startswith("xoxb-")
            ):
                status, payload = 200, {"ok": False, "error": "invalid_auth"}
            else:
                wait = self._rate_limited(method, channel)
                if wait is not None:
                    status, payload = 429, {"ok": False, "error": "ratelimited"}
                    extra = [("Retry-After", retry_after_header(self.rate_limit_retry_after, wait))]
                else:
                    handler = METHODS.get(method)
                    payload = (
                        self._auth_test_of(token)
                        if method == "auth.test"
                        else handler(self, params)
                        if handler
                        else {"ok": False, "error": "unknown_method", "req_method": method}
                    )
                    status = 200
            if failure is not None and failure.fails and failure.applied:
                status, payload, extra, kind = self._render_failure(failure)
            self._record(Call(method, params, headers, arrived, payload, status, token))
        return status, payload, extra, kind

    def _handle_response_url(self, url_token: str, params: dict, headers: dict):
        arrived = time.time()
        failure = self._take_failure("response_url", None)
        if failure is not None and failure.delay > 0:
            time.sleep(failure.delay)
        extra: list[tuple[str, str]] = []
        kind = "json"
        if failure is not None and failure.fails:
            status, payload, extra, kind = self._render_failure(failure)
        else:
            status, payload = 200, {"ok": True}
        self._record(Call("response_url", params, headers, arrived, payload, status, url_token))
        return status, payload, extra, kind


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bot.testing.slack_api", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rate-limit-per-channel", type=float, default=None)
    ap.add_argument("--rate-limit-burst", type=float, default=1.0)
    ap.add_argument("--rate-limit-retry-after", type=float, default=None)
    ap.add_argument("--token", action="append", help="allowed token (repeatable)")
    args = ap.parse_args(argv)
    fake = FakeSlack(
        host=args.host,
        port=args.port,
        rate_limit_per_channel=args.rate_limit_per_channel,
        rate_limit_burst=args.rate_limit_burst,
        rate_limit_retry_after=args.rate_limit_retry_after,
        allowed_tokens=args.token,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    fake.start()
    print(f"READY {fake.base_url}", flush=True)
    try:
        while not stop.wait(0.5):
            # Everything the fake records lives until it exits: keep it out of the
            # collector's full passes, which otherwise grow with the record (a long
            # benchmark run saw whole-second pauses, every app thread waiting on the fake).
            gc.freeze()
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
