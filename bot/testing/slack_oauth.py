"""The fake's OAuth v2 side: codes granted on a (simulated) consent screen,
oauth.v2.access for them and for refresh tokens, and who each issued token is.

A test grants a code for a workspace (``fake.oauth.grant(...)``) as Slack does when
someone approves the app, then hands the code to the app's redirect URL. The token
the exchange issues is then known to the fake: auth.test answers as that workspace's
bot, and ``uninstall(team)`` makes its tokens fail with ``token_revoked``.
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Workspace:
    team_id: str
    team_name: str
    enterprise_id: str | None = None
    org_wide: bool = False
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    installer: str = "U0ADMIN"
    scope: str = "commands,chat:write"
    #: Seconds the first token lives (token rotation on); None: it never expires.
    expires_in: int | None = None
    tokens: list[str] = field(default_factory=list)


class FakeOAuth:
    """Codes, refresh tokens and issued tokens (all under the fake's lock)."""

    #: Seconds a token issued for a refresh token lives (Slack: 12 hours).
    ROTATED_EXPIRES_IN = 43_200

    def __init__(self, client_id: str = "1111.2222", client_secret: str = "fake-secret"):
        self.client_id, self.client_secret = client_id, client_secret
        self._lock = threading.Lock()
        self._codes: dict[str, Workspace] = {}
        self._refresh: dict[str, Workspace] = {}
        self._issued: dict[str, Workspace] = {}
        self._revoked: set[str] = set()
        self._n = itertools.count(1)

    def grant(self, code: str, team_id: str, team_name: str = "", **kw: Any) -> Workspace:
        """Someone approved the app for ``team_id``: ``code`` may be exchanged once."""
        workspace = Workspace(team_id, team_name or team_id, **kw)
        with self._lock:
            self._codes[code] = workspace
        return workspace

    def uninstall(self, team_id: str) -> None:
        """Every token issued for the workspace (or organisation) fails from now on."""
        with self._lock:
            for token, ws in self._issued.items():
                if team_id in (ws.team_id, ws.enterprise_id):
                    self._revoked.add(token)

    def owner(self, token: str | None) -> Workspace | None:
        with self._lock:
            return self._issued.get(token or "")

    def revoked(self, token: str | None) -> bool:
        with self._lock:
            return token in self._revoked

    def access(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """oauth.v2.access: client credentials (Basic auth or form), then a code or a
        refresh token."""
        client_id, secret = params.get("client_id"), params.get("client_secret")
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (client_id, secret) != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        with self._lock:
            if params.get("grant_type") == "refresh_token":
                ws = self._refresh.pop(str(params.get("refresh_token")), None)
                if ws is None:
                    return {"ok": False, "error": "invalid_refresh_token"}
                return self._issue(ws, self.ROTATED_EXPIRES_IN)
            ws = self._codes.pop(str(params.get("code")), None)
            if ws is None:
                return {"ok": False, "error": "invalid_code"}
            return self._issue(ws, ws.expires_in)

    def _issue(self, ws: Workspace, expires_in: int | None) -> dict[str, Any]:
        n = next(self._n)
        token = f"xoxb-{ws.team_id}-{n}"
        ws.tokens.append(token)
        self._issued[token] = ws
        answer: dict[str, Any] = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": ws.scope,
            "bot_user_id": ws.bot_user_id,
            "app_id": "A0001",
            "team": None if ws.org_wide else {"id": ws.team_id, "name": ws.team_name},
            "enterprise": {"id": ws.enterprise_id, "name": "Org"} if ws.enterprise_id else None,
            "is_enterprise_install": ws.org_wide,
            "authed_user": {"id": ws.installer},
        }
        if expires_in is not None:
            refresh = f"xoxe-1-{ws.team_id}-{n}"
            self._refresh[refresh] = ws
            answer |= {"refresh_token": refresh, "expires_in": expires_in}
        return answer

    def auth_test(self, ws: Workspace) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{ws.team_id.lower()}.fake.slack.com/",
            "team": ws.team_name,
            "user": "llmcost",
            "team_id": ws.team_id if not ws.org_wide else None,
            "enterprise_id": ws.enterprise_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": ws.org_wide,
        }
