"""A loopback fake of the Slack Web API for tests and benchmarks.

``FakeSlack`` serves ``/api/<method>`` on 127.0.0.1 (ephemeral port) from a
``ThreadingHTTPServer`` in a daemon thread, keeps a little state (messages,
ephemerals, pins), records every call, and injects failures on demand::

    with FakeSlack() as fake:
        client = fake.client()                  # a slack_sdk.WebClient aimed at the fake
        client.chat_postMessage(channel="C1", text="hi")
        fake.wait_for("chat.postMessage")

Standalone (benchmarks)::

    python -m tests.fakes.slack_api --port 0 [--rate-limit-per-channel 1.0]

prints ``READY http://127.0.0.1:PORT/api/`` and serves control endpoints:
``GET /_calls?since=N[&method=M]`` (JSON list of calls, each with ``index``),
``GET /_stats``, ``POST /_reset``, ``POST /_clear`` and ``POST /_fail`` (JSON
body: the keyword arguments of ``fail_next``, plus ``method``; with ``seconds``
it is ``fail_for``). ``FakeSlackRemote`` is a small client for them.

Behaviour worth knowing:

* ``apps.connections.open`` (Socket Mode) takes an ``xapp-`` token and answers
  with ``socket_mode_url`` (see ``tests/fakes/socket_mode.py``).
* OAuth v2 (``fake.oauth``, see ``tests/fakes/slack_oauth.py``): ``oauth.v2.access``
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
import contextlib
import dataclasses
import gc
import http.client
import itertools
import json
import math
import signal
import socketserver
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.slack_oauth import FakeOAuth

__all__ = ["Call", "FakeSlack", "FakeSlackRemote"]

JSON_CT = "application/json; charset=utf-8"
_JSON_STRING_KEYS = ("blocks", "attachments", "metadata")
_HTML_ERROR = b"<html><head><title>Server Error</title></head><body>Server Error</body></html>"


@dataclasses.dataclass
class Call:
    """One request the fake received (also failed and unknown ones)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float  # time.time() when the request arrived
    response: dict[str, Any]
    status: int
    token: str | None = None  # bearer token for API calls; the URL token for "response_url"

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")

    def to_json(self) -> dict[str, Any]:
        # Shallow: the fake never changes a recorded call, and a deep copy of every
        # call's blocks made /_calls the costliest thing it did under load.
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclasses.dataclass
class _Failure:
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


def _retry_after_header(value: float | None, computed: float) -> str:
    if value is not None:
        return str(max(0, math.ceil(value)))
    return str(max(1, math.ceil(computed)))


def _decode_params(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if query:
        params.update({k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()})
    ctype = content_type.split(";", 1)[0].strip().lower()
    if raw:
        if ctype == "application/json" or (not ctype and raw.lstrip()[:1] == b"{"):
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            if isinstance(body, dict):
                params.update(body)
            else:
                params["_json"] = body
        elif ctype == "application/x-www-form-urlencoded" or not ctype:
            text = raw.decode("utf-8", "replace")
            params.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
        else:
            params["_raw"] = raw.decode("utf-8", "replace")
    for key in _JSON_STRING_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out before a slow answer (a test of timeouts) is normal.
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FakeSlack/1.0"
    sys_version = ""
    fake: FakeSlack  # set on the per-instance subclass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON_CT,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()):
        self._send(status, json.dumps(payload).encode(), JSON_CT, headers)

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        self._dispatch(self._read_body())

    def _dispatch(self, raw: bytes) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        headers = dict(self.headers.items())
        ctype = self.headers.get("Content-Type", "")
        if path.startswith("/api/"):
            params = _decode_params(raw, ctype, query)
            status, payload, extra, kind = self.fake._handle_api(path[5:], params, headers)
        elif path.startswith("/response/"):
            params = _decode_params(raw, ctype, query)
            status, payload, extra, kind = self.fake._handle_response_url(
                path[len("/response/") :], params, headers
            )
        elif path.startswith("/upload/"):
            status, payload, extra, kind = self.fake._handle_upload(path[len("/upload/") :], raw)
        elif path.startswith("/_"):
            status, payload = self.fake._handle_control(path, query, raw)
            extra, kind = [], "json"
        else:
            status, payload, extra, kind = 404, {"ok": False, "error": "not_found"}, [], "json"
        if kind == "html":
            self._send(status, _HTML_ERROR, "text/html; charset=utf-8", extra)
        elif kind == "empty":
            self._send(status, b"", "text/plain; charset=utf-8", extra)
        else:
            self._send_json(status, payload, extra)


class FakeSlack:
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
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        handler = type("FakeSlackHandler", (_Handler,), {"fake": self})
        self._server = _Server((self.host, self._port), handler)
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
            self._failures: list[_Failure] = []
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

    # ---------------------------------------------------------------- failures
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
                _Failure(
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
                _Failure(
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

    def _take_failure(self, method: str, channel: str | None) -> _Failure | None:
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
    def _render_failure(f: _Failure) -> tuple[int, dict, list[tuple[str, str]], str]:
        if f.status == 429:
            header = _retry_after_header(f.retry_after, 1)
            return (
                429,
                {"ok": False, "error": f.error or "ratelimited"},
                [("Retry-After", header)],
                "json",
            )
        extra = []
        if f.retry_after is not None:
            extra.append(("Retry-After", _retry_after_header(f.retry_after, 1)))
        if f.status >= 500 and f.error is None:
            return f.status, {}, extra, "html"
        return f.status, {"ok": False, "error": f.error or "fatal_error"}, extra, "json"

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
                    extra = [
                        ("Retry-After", _retry_after_header(self.rate_limit_retry_after, wait))
                    ]
                else:
                    handler = _METHODS.get(method)
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

    def _handle_upload(self, file_id: str, raw: bytes):
        """The upload URL that files.getUploadURLExternal hands out: it takes the bytes."""
        arrived = time.time()
        failure = self._take_failure("upload", None)
        if failure is not None and failure.delay > 0:
            time.sleep(failure.delay)
        with self._lock:
            if failure is not None and failure.fails and not failure.applied:
                status, payload, extra, kind = self._render_failure(failure)
            elif file_id not in self._files:
                status, payload, extra, kind = 404, {"ok": False}, [], "empty"
            else:
                self._files[file_id]["content"] = raw
                status, payload, extra, kind = 200, {"ok": True}, [], "empty"
                if failure is not None and failure.fails:  # applied, then failed
                    status, payload, extra, kind = self._render_failure(failure)
            params = {"file_id": file_id, "size": len(raw)}
            self._record(Call("upload", params, {}, arrived, payload, status, None))
        return status, payload, extra, kind

    def files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files shared by files.completeUploadExternal (with their bytes), oldest first."""
        with self._lock:
            shared = [dict(f) for f in self._files.values() if f.get("shared_ts")]
        return [f for f in shared if channel is None or f["channel"] == channel]

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

    def _handle_control(self, path: str, query: str, raw: bytes) -> tuple[int, Any]:
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        if path == "/_calls":
            since = int(q.get("since", 0))
            method = q.get("method")
            with self._lock:
                out = [
                    {"index": i, **c.to_json()}
                    for i, c in enumerate(self._calls[since:], start=since)
                    if method is None or c.method == method
                ]
            return 200, out
        if path == "/_stats":
            return 200, self.stats()
        if path == "/_reset":
            self.reset()
            return 200, {"ok": True}
        if path == "/_clear":
            self.clear()
            return 200, {"ok": True}
        if path == "/_fail":
            try:
                spec = json.loads(raw or b"{}")
                method = spec.pop("method")
                if "seconds" in spec:
                    self.fail_for(method, spec.pop("seconds"), **spec)
                else:
                    self.fail_next(method, **spec)
            except (ValueError, KeyError, TypeError) as exc:
                return 400, {"ok": False, "error": f"bad_request: {exc}"}
            return 200, {"ok": True}
        if path == "/_messages":
            return 200, self.messages(q.get("channel"))
        return 404, {"ok": False, "error": "not_found"}

    # ---------------------------------------------------------------- Web API methods
    def _m_apps_connections_open(self, token: str) -> dict:
        """Socket Mode: needs an app-level token; answers with ``socket_mode_url``."""
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if not self.socket_mode_url:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_mode_url}

    def _m_auth_test(self, p: dict) -> dict:
        return self._auth_test_of(None)

    def _auth_test_of(self, token: str | None) -> dict:
        """auth.test: as the workspace a token was issued for (OAuth), else the fake's."""
        owner = self.oauth.owner(token)
        if owner is not None:
            return self.oauth.auth_test(owner)
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": self.team,
            "user": self.bot_user_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _bot_message(self, p: dict, ts: str) -> dict:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": p.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if p.get(key) is not None:
                msg[key] = p[key]
        if p.get("thread_ts"):
            msg["thread_ts"] = str(p["thread_ts"])
            parent = self._messages.get((p["channel"], msg["thread_ts"]))
            if parent is not None:
                msg["parent_user_id"] = parent.get("user")
        return msg

    @staticmethod
    def _has_content(p: dict) -> bool:
        return any(p.get(k) not in (None, "", []) for k in ("text", "blocks", "attachments"))

    def _m_chat_post_message(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self._not_member:
            return {"ok": False, "error": "not_in_channel"}
        if channel in self._archived:
            return {"ok": False, "error": "is_archived"}
        if not self._has_content(p):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        msg = self._bot_message(p, ts)
        self._messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": msg}

    def _visible(self, msg: dict, p: dict) -> dict:
        """A message as conversations.* return it: metadata only when asked for."""
        shown = json.loads(json.dumps(msg))
        if str(p.get("include_all_metadata", "")).lower() not in ("1", "true"):
            shown.pop("metadata", None)
        return shown

    def _m_files_get_upload_url_external(self, p: dict) -> dict:
        try:
            length = int(p.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not p.get("filename") or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._file_counter):08d}"
        self._files[file_id] = {
            "id": file_id,
            "name": str(p["filename"]),
            "length": length,
            "alt_txt": p.get("alt_txt"),
        }
        return {"ok": True, "upload_url": f"{self.root_url}upload/{file_id}", "file_id": file_id}

    def _m_files_complete_upload_external(self, p: dict) -> dict:
        files = p.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        channel = p.get("channel_id")
        if not isinstance(files, list) or not files or not channel:
            return {"ok": False, "error": "invalid_arguments"}
        if channel in self._not_member:
            return {"ok": False, "error": "not_in_channel"}
        done = []
        for item in files:
            found = self._files.get(str(item.get("id")))
            if found is None or "content" not in found or found.get("shared_ts"):
                return {"ok": False, "error": "file_not_found"}
            found["title"] = item.get("title") or found["name"]
            done.append(found)
        ts = self._next_ts()
        message = self._bot_message(
            {"channel": channel, "thread_ts": p.get("thread_ts"), "text": p.get("initial_comment")},
            ts,
        )
        message["files"] = [
            {k: f.get(k) for k in ("id", "name", "title", "alt_txt")} | {"mimetype": "image/png"}
            for f in done
        ]
        self._messages[(channel, ts)] = message
        for found in done:
            found.update(shared_ts=ts, channel=channel, thread_ts=p.get("thread_ts"))
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in done]}

    def _m_conversations_replies(self, p: dict) -> dict:
        """A thread, parent first then replies oldest first (no pagination)."""
        channel, ts = p.get("channel"), str(p.get("ts") or "")
        if not channel or channel in self._not_member:
            return {"ok": False, "error": "channel_not_found"}
        parent = self._messages.get((channel, ts))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = sorted(
            (
                m
                for (ch, _), m in self._messages.items()
                if ch == channel and m.get("thread_ts") == ts and m["ts"] != ts
            ),
            key=lambda m: float(m["ts"]),
        )
        limit = int(p.get("limit") or 1000)
        found = [parent, *replies][:limit]
        return {"ok": True, "messages": [self._visible(m, p) for m in found], "has_more": False}

    def _m_conversations_history(self, p: dict) -> dict:
        """A channel's top-level messages, newest first, from ``oldest`` on."""
        channel = p.get("channel")
        if not channel or channel in self._not_member:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(p.get("oldest") or 0)
        found = sorted(
            (
                m
                for (ch, ts), m in self._messages.items()
                if ch == channel and not m.get("thread_ts") and float(ts) >= oldest
            ),
            key=lambda m: -float(m["ts"]),
        )[: int(p.get("limit") or 100)]
        return {"ok": True, "messages": [self._visible(m, p) for m in found], "has_more": False}

    def _m_chat_update(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        msg = self._messages.get((channel, str(ts))) if ts else None
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        if not self._has_content(p):
            return {"ok": False, "error": "no_text"}
        if p.get("text") is not None:
            msg["text"] = p["text"]
        for key in ("blocks", "attachments", "metadata"):
            if p.get(key) is not None:  # Slack keeps previous blocks unless given
                msg[key] = p[key]
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": msg["ts"],
            "text": msg["text"],
            "message": msg,
        }

    def _m_chat_post_ephemeral(self, p: dict) -> dict:
        channel, user = p.get("channel"), p.get("user")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}
        if not self._has_content(p):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        msg = {**self._bot_message(p, ts), "channel": channel, "to_user": user}
        self._ephemerals.append(msg)
        return {"ok": True, "message_ts": ts}

    def _m_pins_add(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("timestamp")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "no_item_specified"}
        if channel in self._not_member:
            return {"ok": False, "error": "not_in_channel"}
        if (channel, str(ts)) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        pinned = self._pins.setdefault(channel, [])
        if str(ts) in pinned:
            return {"ok": False, "error": "already_pinned"}
        pinned.append(str(ts))
        return {"ok": True}

    def _m_pins_remove(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("timestamp")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        pinned = self._pins.get(channel, [])
        if not ts or str(ts) not in pinned:
            return {"ok": False, "error": "no_pin"}
        pinned.remove(str(ts))
        return {"ok": True}

    def _m_pins_list(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        items = [
            {
                "type": "message",
                "channel": channel,
                "created_by": self.bot_user_id,
                "message": self._messages[(channel, ts)],
            }
            for ts in self._pins.get(channel, [])
        ]
        return {"ok": True, "items": items}

    def _m_conversations_info(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": self.channel_names.get(channel, channel.lower()),
                "is_channel": channel.startswith("C"),
                "is_group": channel.startswith("G"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": channel not in self._not_member,
            },
        }

    def _m_conversations_open(self, p: dict) -> dict:
        users = p.get("users")
        if not isinstance(users, str) or not users or "," in users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users}}

    def _m_chat_get_permalink(self, p: dict) -> dict:
        channel, ts = p.get("channel"), p.get("message_ts")
        if not channel or channel in self._not_member:
            return {"ok": False, "error": "channel_not_found"}
        if not ts or (channel, str(ts)) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "permalink": self.permalink(channel, str(ts))}

    def _m_views_publish(self, p: dict) -> dict:
        """A Home view for ``user_id``; ``view`` may come as a JSON string (a form)."""
        user, view = p.get("user_id"), p.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        self._views[str(user)] = view
        return {"ok": True, "view": {"id": f"V{user}", "type": "home", **view}}

    def _m_conversations_join(self, p: dict) -> dict:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        self._not_member.discard(channel)
        return {"ok": True, "channel": self._m_conversations_info(p)["channel"]}


_METHODS: dict[str, Callable[[FakeSlack, dict], dict]] = {
    "auth.test": FakeSlack._m_auth_test,
    "files.getUploadURLExternal": FakeSlack._m_files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack._m_files_complete_upload_external,
    "chat.postMessage": FakeSlack._m_chat_post_message,
    "chat.update": FakeSlack._m_chat_update,
    "chat.postEphemeral": FakeSlack._m_chat_post_ephemeral,
    "pins.add": FakeSlack._m_pins_add,
    "pins.remove": FakeSlack._m_pins_remove,
    "pins.list": FakeSlack._m_pins_list,
    "conversations.info": FakeSlack._m_conversations_info,
    "conversations.replies": FakeSlack._m_conversations_replies,
    "conversations.history": FakeSlack._m_conversations_history,
    "conversations.join": FakeSlack._m_conversations_join,
    "conversations.open": FakeSlack._m_conversations_open,
    "chat.getPermalink": FakeSlack._m_chat_get_permalink,
    "views.publish": FakeSlack._m_views_publish,
}


class FakeSlackRemote:
    """Client for a standalone fake's control endpoints (keep-alive connection)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def _request(self, verb: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in (0, 1):
            try:
                self._conn.request(verb, path, body=data, headers=headers)
                resp = self._conn.getresponse()
                payload = json.loads(resp.read() or b"null")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                if attempt:
                    raise
        if resp.status != 200:
            raise RuntimeError(f"{verb} {path}: {resp.status} {payload}")
        return payload

    def calls(self, since: int = 0, method: str | None = None) -> list[dict[str, Any]]:
        path = f"/_calls?since={since}" + (f"&method={method}" if method else "")
        return self._request("GET", path)

    def stats(self) -> dict[str, int]:
        return self._request("GET", "/_stats")

    def reset(self) -> None:
        self._request("POST", "/_reset", {})

    def clear(self) -> None:
        self._request("POST", "/_clear", {})

    def fail_next(self, method: str, **kwargs: Any) -> None:
        self._request("POST", "/_fail", {"method": method, **kwargs})

    def fail_for(self, method: str, seconds: float, **kwargs: Any) -> None:
        self._request("POST", "/_fail", {"method": method, "seconds": seconds, **kwargs})

    def close(self) -> None:
        self._conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fakes.slack_api", description=__doc__)
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
