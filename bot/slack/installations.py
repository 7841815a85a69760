"""Many workspaces (OAuth v2): their installations and tokens in the app's database.

slack_sdk's SQLAlchemy stores keep installations, bot tokens and OAuth states in the
app's own database (tables made by migration 0006). Bolt finds a request's
token through them (`authorize`, below); the sender finds each outbox row's token
through `InstalledWorkspaces`, at send time, so a rotated token is picked up and an
uninstalled workspace's token is never used again. A workspace's token is found by
its team id; an org-wide Enterprise Grid installation by the organisation's id.

Tokens that Slack rotates (token rotation on in the app's settings) are refreshed
`rotation_minutes` before they expire, here and in Bolt alike, through the same
`SLACK_API_URL`. No token, refresh token or client secret is ever logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.slack.token_health import Check, TokenHealth, auth_check
from bot.slack.workspace_access import Access
from bot.store import Store
from bot.store.engine import WRITE_OPTION
from bot.store.schema import BOTS_TABLE, INSTALLATIONS_TABLE, OAUTH_STATES_TABLE

log = logging.getLogger(__name__)

#: The bot scopes asked for when SLACK_SCOPES is not set: manifest.json's (a test checks).
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "pins:write",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "im:write",
    "files:write",
)
#: What a person in a workspace without an installation sees (a slash command's reply).
NOT_INSTALLED_TEXT = (
    "This app is not installed in this workspace (or was removed), so I can't work "
    "here. Ask a workspace admin to add it again from the app's install page."
)
#: The code a row gets when its workspace has no installation (nothing was sent): a
#: conversation only exists where the app was installed, so the installation is gone
#: as after `app_uninstalled`, and the refusal table's revoked-token row tells the person.
NOT_INSTALLED = "app_uninstalled"
#: The code when Slack refuses a workspace's refresh token: its tokens are as revoked.
REFRESH_REFUSED = "token_revoked"
#: Seconds an OAuth state (the Add to Slack link) stays valid.
STATE_SECONDS = 600
#: The app's name in Slack, as `manifest.json` gives it: in OAuth mode no single
#: auth.test names the bot, and every workspace sees it under this name.
BOT_NAME = "LLM Cost Advisor"


class Installations:
    """slack_sdk's installation and OAuth state stores on the app's database."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        client_id: str,
        client_secret: str,
        client: WebClient,
        rotation_minutes: int = 120,
    ) -> None:
        self.client_id = client_id
        self.client = client
        self.rotation_minutes = rotation_minutes
        # slack_sdk writes in plain engine.begin() transactions; on SQLite a read that
        # turns into a write fails at once when another writer committed in between
        # (SQLITE_BUSY_SNAPSHOT, no busy wait). Its writes therefore go through an
        # engine whose transactions take the write lock first (BEGIN IMMEDIATE), as
        # the store's own do; reads stay plain.
        writer = engine.execution_options(**{WRITE_OPTION: True})
        self.store = _ReadsAndWrites(
            SQLAlchemyInstallationStore(
                client_id,
                engine,
                bots_table_name=BOTS_TABLE,
                installations_table_name=INSTALLATIONS_TABLE,
                logger=log,
            ),
            SQLAlchemyInstallationStore(
                client_id,
                writer,
                bots_table_name=BOTS_TABLE,
                installations_table_name=INSTALLATIONS_TABLE,
                logger=log,
            ),
        )
        self.states = SQLAlchemyOAuthStateStore(
            STATE_SECONDS, writer, table_name=OAUTH_STATES_TABLE, logger=log
        )
        self.rotator = TokenRotator(client_id=client_id, client_secret=client_secret, client=client)
        self._secret = client_secret

    def oauth_settings(self, scopes: list[str], redirect_uri: str | None) -> OAuthSettings:
        """Bolt's OAuth flow: GET /slack/install (the Add to Slack page, a state cookie)
        and GET /slack/oauth_redirect (state checked, oauth.v2.access, installation saved)."""
        return OAuthSettings(
            client_id=self.client_id,
            client_secret=self._secret,
            scopes=scopes,
            user_scopes=[],
            redirect_uri=redirect_uri,
            installation_store=self.store,
            installation_store_bot_only=True,
            token_rotation_expiration_minutes=self.rotation_minutes,
            state_store=self.states,
            state_expiration_seconds=STATE_SECONDS,
            logger=log,
        )

    def authorize(self) -> InstallationStoreAuthorize:
        """Bolt's per-request token lookup, with rotation through our client (Bolt's own
        would call slack.com whatever SLACK_API_URL says) and auth.test cached per token."""
        return _AuthorizeTwice(
            logger=log,
            installation_store=self.store,
            client_id=self.client_id,
            client_secret=self._secret,
            token_rotation_expiration_minutes=self.rotation_minutes,
            bot_only=True,
            cache_enabled=True,
            client=self.client,
        )

    def bot_for(self, team: str | None, enterprise: str | None) -> Bot | None:
        """The workspace's bot (its own installation, or else its organisation's org-wide
        one), its token refreshed first when it is about to expire; None when neither."""
        bot = self._find(team, enterprise)
        if bot is None or bot.bot_refresh_token is None:
            return bot
        try:
            refreshed = self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self.rotation_minutes
            )
        except SlackTokenRotationError:
            # Another process (or a request, through Bolt) may have just refreshed it
            # with the same refresh token: then the stored token is new, and good.
            again = self._find(team, enterprise)
            if again is not None and again.bot_token != bot.bot_token:
                return again
            raise
        if refreshed is None:
            return bot
        self.store.save_bot(refreshed)
        log.info("rotated the bot token of workspace %s", team or enterprise)
        return refreshed

    def _find(self, team: str | None, enterprise: str | None) -> Bot | None:
        bot = None
        if team is not None:
            bot = self.store.find_bot(enterprise_id=enterprise, team_id=team)
        if bot is None and enterprise is not None:
            bot = self.store.find_bot(
                enterprise_id=enterprise, team_id=None, is_enterprise_install=True
            )
        return bot

    def forget(self, *, team: str | None, enterprise: str | None, org_wide: bool) -> None:
        """The app was uninstalled (or its tokens revoked): delete the installation and
        its bot tokens, so that nothing uses them again."""
        self.store.delete_all(enterprise_id=enterprise, team_id=None if org_wide else team)


class _AuthorizeTwice(InstallationStoreAuthorize):
    """Bolt's lookup, tried once more when it finds nothing: a token refresh lost to
    another process (the same refresh token, spent a moment earlier) makes Bolt give
    up; read again, the bot then holds the token that process stored."""

    def __call__(self, **kwargs: Any) -> AuthorizeResult | None:
        return super().__call__(**kwargs) or super().__call__(**kwargs)


class _ReadsAndWrites(InstallationStore):
    """One installation store: finds through ``reads``, saves and deletes through
    ``writes`` (the same tables; see `Installations`)."""

    def __init__(self, reads: InstallationStore, writes: InstallationStore) -> None:
        self.reads, self.writes = reads, writes

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        self.writes.save(installation)

    def save_bot(self, bot: Bot) -> None:
        self.writes.save_bot(bot)

    def find_bot(self, **kwargs: Any) -> Bot | None:
        return self.reads.find_bot(**kwargs)

    def find_installation(self, **kwargs: Any) -> Installation | None:
        return self.reads.find_installation(**kwargs)

    def delete_bot(self, **kwargs: Any) -> None:
        self.writes.delete_bot(**kwargs)

    def delete_installation(self, **kwargs: Any) -> None:
        self.writes.delete_installation(**kwargs)

    def delete_all(self, **kwargs: Any) -> None:
        self.writes.delete_all(**kwargs)


class InstalledWorkspaces:
    """OAuth mode: each row goes with its own workspace's token, looked up when sent."""

    def __init__(self, installations: Installations) -> None:
        self.installations = installations
        self._health: dict[str, TokenHealth] = {}
        self._lock = threading.Lock()

    def access(self, team: str | None, enterprise: str | None) -> Access:
        where = team or enterprise or "?"
        try:
            bot = self.installations.bot_for(team, enterprise)
        except SlackTokenRotationError as exc:
            # A refresh token Slack will not take: the installation is as good as gone.
            error = exc.api_error.response.get("error") if exc.api_error else None
            log.error("Slack refused the refresh token of workspace %s: %s", where, error)
            health = TokenHealth(where, advice=REINSTALL)
            health.refuse(REFRESH_REFUSED)
            return Access(None, health)
        if bot is None:
            return Access(None, _not_installed(where))
        token = bot.bot_token
        with self._lock:  # keyed by the token: a new installation starts healthy
            health = self._health.get(token)
            if health is None:
                check = _token_check(self.installations.client, token)
                health = TokenHealth(where, check=check, advice=REINSTALL)
                self._health[token] = health
        return Access(token, health)


REINSTALL = "; a workspace admin can add the app again from its install page"


def _token_check(client: WebClient, token: str) -> Check:
    """auth.test with this workspace's token (the sender thread may act for another)."""
    check = auth_check(client)

    def with_token() -> str | None:
        with client.acting_for(token):  # type: ignore[attr-defined]
            return check()

    return with_token


def _not_installed(where: str) -> TokenHealth:
    health = TokenHealth(where, advice=REINSTALL, quiet=True)
    health.refuse(NOT_INSTALLED)
    return health


def enterprise_recorder(store: Store) -> Callable[..., object]:
    """A Bolt middleware that records each Enterprise Grid workspace's organisation the
    first time this process sees it, so that the rows queued for it carry it."""
    known: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def remember_enterprise(context: BoltContext, next: Callable[[], object]) -> object:
        team, enterprise = context.team_id, context.enterprise_id
        if team and enterprise and (team, enterprise) not in known:
            try:
                store.remember_enterprise(team, enterprise)
            except Exception as exc:
                log.warning("could not record the organisation of %s: %s", team, type(exc).__name__)
            else:
                with lock:
                    known.add((team, enterprise))
        return next()

    return remember_enterprise
