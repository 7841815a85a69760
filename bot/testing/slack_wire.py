"""The fake Web API's wire: the HTTP server and handler, how a request's parameters
are decoded as Slack decodes them, and `Call`, the record of one request. Apart from
`FakeSlack` (slack_api.py) so that each module reads on its own."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socketserver
import sys
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


def decode_params(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
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


class Server(ThreadingHTTPServer):
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FakeSlack/1.0"
    sys_version = ""
    fake: Any  # the FakeSlack, set on the per-instance subclass

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
            params = decode_params(raw, ctype, query)
            status, payload, extra, kind = self.fake._handle_api(path[5:], params, headers)
        elif path.startswith("/response/"):
            params = decode_params(raw, ctype, query)
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
