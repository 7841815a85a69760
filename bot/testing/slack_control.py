"""The standalone fake's control endpoints (``GET /_calls?since=N[&method=M]``,
``GET /_stats``, ``GET /_messages``, ``POST /_reset``, ``POST /_clear``, ``POST /_fail``)
and `FakeSlackRemote`, the client a benchmark drives them with from another process
(``python -m bot.testing.slack_api --port 0`` serves them)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit


class ControlEndpoints:
    """`FakeSlack`'s ``/_…`` paths: the same inspection and failures as its methods."""

    _lock: Any
    _calls: list[Any]

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
