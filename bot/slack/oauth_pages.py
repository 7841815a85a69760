"""GET /slack/install and GET /slack/oauth_redirect in OAuth mode: Bolt's own flow.

`OAuthFlow.handle_installation` serves the "Add to Slack" page and sets the state
cookie; `handle_callback` checks the state against the cookie and the state store
(a forged or replayed state installs nothing), exchanges the code with
oauth.v2.access (through SLACK_API_URL) and saves the installation. This module
only turns those Bolt responses into WSGI ones. Query strings hold the one-time
code and state: they are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.oauth import OAuthFlow

log = logging.getLogger(__name__)


def oauth_paths(flow: OAuthFlow | None) -> frozenset[str]:
    """The paths the flow answers (none in single-token mode)."""
    if flow is None:
        return frozenset()
    return frozenset({flow.install_path, flow.redirect_uri_path})


def serve_oauth(
    flow: OAuthFlow, path: str, query: str, headers: dict[str, str], start_response: Callable
) -> list[bytes]:
    """Answer one GET on an OAuth path with Bolt's flow; never a 5xx."""
    request = BoltRequest(body="", query=query, headers=headers)
    try:
        if path == flow.install_path:
            response = flow.handle_installation(request)
        else:
            response = flow.handle_callback(request)
    except Exception as exc:  # the database or Slack failed mid-way: say so, no trace
        log.error("the OAuth flow failed at %s: %s", path, type(exc).__name__)
        response = BoltResponse(
            status=200,  # the house rule: no 5xx; the log line above has the fault
            body="Installing the app failed on our side (details in its log). Please try "
            "again from the install page in a minute.",
            headers={"content-type": "text/plain; charset=utf-8"},
        )
    return _wsgi(response, start_response)


def _wsgi(response: BoltResponse, start_response: Callable) -> list[bytes]:
    data = response.body.encode("utf-8") if isinstance(response.body, str) else response.body
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
    headers.append(("Content-Length", str(len(data))))
    start_response(f"{response.status} {HTTPStatus(response.status).phrase}", headers)
    return [data]
