"""The WSGI application: POST /slack/events (Bolt), GET /healthz, and in OAuth mode
GET /slack/install and /slack/oauth_redirect (`bot.slack.oauth_pages`).

In front of Bolt it refuses, cheaply and without logging what was sent, what
Slack never sends: a body over `MAX_BODY` (413, unread) and a request without a
valid, recent signature (401, one log line). `python -m bot run` serves it with
waitress (`bot.slack.http_server`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus

from slack_bolt import BoltRequest

from bot.slack.form_body import payload_json
from bot.slack.http_server import MAX_BODY
from bot.slack.oauth_pages import oauth_paths, serve_oauth
from bot.slack.runtime import Runtime
from bot.slack.signature import Signatures, team_of
from bot.store.claiming import claiming
from bot.store.watchdog import request_deadline

Wsgi = Callable[[dict, Callable], Iterable[bytes]]
EVENTS_PATH = "/slack/events"
log = logging.getLogger(__name__)


def make_wsgi(runtime: Runtime) -> Wsgi:
    """Route requests to Bolt or the health check; everything else is a 404."""
    signatures = Signatures(runtime.settings.slack_signing_secret.get_secret_value())
    oauth = runtime.app.oauth_flow  # OAuth mode: GET /slack/install, /slack/oauth_redirect
    oauth_gets = oauth_paths(oauth)

    def events(environ: dict, start_response: Callable) -> Iterable[bytes]:
        length = _content_length(environ)
        if length is None:
            return _json(start_response, "400 Bad Request", {"error": "bad content length"})
        if length > MAX_BODY:
            return _json(start_response, "413 Content Too Large", {"error": "body too large"})
        body = environ["wsgi.input"].read(length) if length else b""
        signed = {
            "x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
            "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE", ""),
        }
        refusal = signatures.check(signed, body)
        if refusal is not None:
            log.warning(
                "refused a request: %s (%d bytes, team %s)",
                refusal,
                length,
                team_of(body) or "unknown",
            )
            return _json(start_response, "401 Unauthorized", {"error": "invalid request"})
        deliverer = runtime.deliverer
        claims = deliverer.claims()  # what the request queues goes once it is answered
        try:
            text = body.decode("utf-8")
            request = BoltRequest(
                body=payload_json(text) or text,  # a click's JSON, decoded in C
                query=environ.get("QUERY_STRING", ""),
                headers=_headers(environ),
            )
            with request_deadline(runtime.settings.db_request_timeout), claiming(claims):
                response = runtime.app.dispatch(request)
        except Exception as exc:  # a malformed body must not be a 5xx
            deliverer.send_claimed(claims)
            log.warning("unreadable request refused: %s", type(exc).__name__)
            return _json(start_response, "400 Bad Request", {"error": "bad request"})
        data = response.body.encode("utf-8")
        headers = [(name, value) for name, values in response.headers.items() for value in values]
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("Content-Length", str(len(data))))
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", headers)
        return _ThenSend([data], lambda: deliverer.send_claimed(claims))

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST":
            return events(environ, start_response)
        if oauth is not None and path in oauth_gets and method == "GET":
            query = environ.get("QUERY_STRING", "")
            with request_deadline(runtime.settings.db_request_timeout):
                return serve_oauth(oauth, path, query, _headers(environ), start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            with request_deadline(runtime.settings.db_request_timeout):
                health = runtime.health()
            return _json(
                start_response,
                "200 OK" if health.ok else "503 Service Unavailable",
                health.to_dict(),
            )
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _content_length(environ: dict) -> int | None:
    value = environ.get("CONTENT_LENGTH") or "0"
    return int(value) if value.isascii() and value.isdigit() else None


def _headers(environ: dict) -> dict[str, str]:
    """The request's headers as Bolt takes them: lower-case names."""
    headers = {
        key[5:].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.lower().replace("_", "-")] = environ[key]
    return headers


class _ThenSend:
    """A response body whose ``close()`` (which the server calls after writing the
    response, PEP 3333) hands this request's messages to the sender threads."""

    def __init__(self, body: Iterable[bytes], after: Callable[[], None]) -> None:
        self._body = body
        self._after = after

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._after()


def _json(start_response: Callable, status: str, data: dict) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
