"""Everything a running app needs, built once per process from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import App
from slack_sdk import WebClient

from bot.delivery import Deliverer, RetryPolicy
from bot.flow.loader import FlowRegistry, load_flow
from bot.pricing.live import LivePrices
from bot.pricing.purchase_file import read_purchase_file
from bot.pricing.source import read_api_prices
from bot.settings import Settings
from bot.slack import after_send, redact
from bot.slack.app import create_app
from bot.slack.claims import sent_when_done
from bot.slack.failure_notes import FailureNotes
from bot.slack.installations import (
    BOT_NAME,
    DEFAULT_SCOPES,
    Installations,
    InstalledWorkspaces,
)
from bot.slack.moves import Moves
from bot.slack.people import People
from bot.slack.plan import DirectMessage
from bot.slack.sender import TRANSIENT, SlackSender
from bot.slack.shared_pacing import channel_pacer
from bot.slack.start_limit import StartLimit
from bot.slack.token_health import TokenHealth, auth_check
from bot.slack.workspace_client import WorkspaceClient
from bot.store import Store, run_retention
from bot.store.health import DatabaseState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """What `/healthz` says: 503 while the database cannot be written (an orchestrator
    should restart the process or move it to working storage), and 503 while Slack
    refuses the bot token (auth.test confirmed it): the app can send nothing, and a
    restart with a reinstalled app's token is the fix. Both say why."""

    database: DatabaseState
    slack_token_refused: str | None

    @property
    def ok(self) -> bool:
        return self.database is DatabaseState.OK and self.slack_token_refused is None

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "database": str(self.database),
            "slack": f"token refused: {self.slack_token_refused}"
            if self.slack_token_refused
            else "ok",
        }


@dataclass
class Runtime:
    settings: Settings
    store: Store
    client: WebClient
    app: App
    moves: Moves
    deliverer: Deliverer
    token: TokenHealth
    people: People
    installations: Installations | None = None

    @classmethod
    def create(cls, settings: Settings, *, poll_interval: float = 0.2) -> Runtime:
        """Load the flow, open the store, check the token with auth.test (single-token
        mode; in OAuth mode each workspace's token comes from its installation), wire up."""
        flows = FlowRegistry([load_flow(settings.flow_name, settings.flows_dir)])
        store = Store.from_url(
            settings.database_url,
            settings.data_dir,
            limits=settings.database_limits,
            idle_timeout=timedelta(hours=settings.conversation_ttl_hours),
        )
        # Estimates price from the stored prices (reloaded after `prices refresh`),
        # in AWS_REGION unless a person names another Region.
        catalogue = flows.current(settings.flow_name).catalogue
        api = read_api_prices(settings.flows_dir)
        purchase = read_purchase_file(settings.flows_dir)
        flows.attach_prices(LivePrices(store.engine, catalogue, settings.aws_region, api, purchase))
        bot_token = settings.slack_bot_token
        redact.install(
            secret.get_secret_value() if secret else None
            for secret in (bot_token, settings.slack_client_secret, settings.slack_signing_secret)
        )
        client = WorkspaceClient(
            token=bot_token.get_secret_value() if bot_token else None,
            timeout=settings.slack_api_timeout,  # type: ignore[arg-type] - urlopen takes floats
            **({"base_url": settings.slack_api_url} if settings.slack_api_url else {}),
        )
        installations = workspaces = None
        if settings.oauth:
            # Many workspaces: each one's token comes from its installation, looked up
            # per request and per send; there is no one token to check at start.
            assert settings.slack_client_id and settings.slack_client_secret
            installations = Installations(
                store.engine,
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                client=client,
                rotation_minutes=settings.slack_token_rotation_minutes,
            )
            workspaces = InstalledWorkspaces(installations)
            auth: dict = {"user": BOT_NAME}
            token = TokenHealth("")
        else:
            auth = dict(client.auth_test().data)  # type: ignore[arg-type]
            token = TokenHealth(str(auth.get("team_id") or ""), check=auth_check(client))
            log.info(
                "Slack accepts the bot token (workspace %s, bot user %s)",
                auth.get("team_id") or "?",
                auth.get("user_id") or "?",
            )
        # Shared by every replica on PostgreSQL: together they keep the channel's rate.
        pacer = channel_pacer(
            store, settings.slack_channel_post_rate, settings.slack_channel_post_burst
        )
        policy = RetryPolicy.for_api(timeout=settings.slack_api_timeout, transient=TRANSIENT)
        moves = Moves(
            store,
            flows,
            flow_name=settings.flow_name,
            command=settings.slack_command,
            policy=settings.answer_policy,
            native_charts=settings.slack_native_charts,
        )

        def start_in_dm(opened: DirectMessage) -> None:
            """A person's DM was opened (an after-send hook, in a sender thread): start
            there, and send what that queued."""
            with sent_when_done(deliverer):
                moves.start_in_dm(opened)

        links = after_send.FreshLinks()
        people = People(store, flows, moves, links=links.links)

        def publish_home(team: str, user: str, fresh: dict[str, str]) -> None:
            """A person's Home again, with a thread's link just given (an after-send
            hook, in a sender thread): queued, and sent now if nothing is ahead of it."""
            with sent_when_done(deliverer):
                people.publish_home(team=team, user=user, links=fresh)

        def home_notice(team: str, user: str, notice: str) -> None:
            """A refused DM, told on the person's Home (the give-up hook's)."""
            people.publish_home(team=team, user=user, notice=notice)

        bot_name = str(auth.get("user") or "the app")
        sender = SlackSender(client, pacer=pacer, token=token, policy=policy, workspaces=workspaces)

        def maintenance() -> None:
            token.recheck()  # a refused token that works again says so, and sends again
            moves.expire_idle()  # every idle conversation, each thread tidied up, in batches
            run_retention(store)  # only purges

        deliverer = Deliverer(
            store,
            sender,
            policy=policy,
            poll_interval=poll_interval,
            lease=settings.outbox_lease_seconds,
            workers=settings.outbox_senders,
            maintenance=maintenance,
            on_give_up=FailureNotes(
                command=settings.slack_command, bot_name=bot_name, home=home_notice
            ),
        )
        # What follows a send is the application's: the sender only sends.
        after_send.register(
            deliverer,
            command=settings.slack_command,
            start=start_in_dm,
            links=links,
            home=publish_home,
        )
        app = create_app(
            client=client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            moves=moves,
            people=people,
            token=token,
            installations=installations,
            scopes=_scopes(settings.slack_scopes),
            redirect_uri=settings.slack_redirect_uri,
            starts=StartLimit(settings.start_limit_burst, settings.start_limit_seconds),
        )
        return cls(settings, store, client, app, moves, deliverer, token, people, installations)

    def health(self) -> Health:
        return Health(self.store.health(), self.token.refused)

    def start(self) -> Runtime:
        self.deliverer.start()
        return self

    def stop(self) -> None:
        self.deliverer.stop()
        self.store.dispose()


def _scopes(configured: str | None) -> list[str]:
    """SLACK_SCOPES (comma-separated), else the bot scopes manifest.json declares."""
    found = [scope.strip() for scope in (configured or "").split(",") if scope.strip()]
    return found or list(DEFAULT_SCOPES)
