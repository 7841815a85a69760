"""Configuration from the environment and `.env` (read through python-dotenv)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.flow.loader import DEFAULT_FLOW, DEFAULT_FLOWS_DIR
from bot.store.limits import DatabaseLimits

_NO_MODE = object()  # neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID/SECRET was given


class DatabaseSettings(BaseSettings):
    """Where the database is: all that `python -m bot db upgrade` and `retention` need."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str | None = None
    data_dir: Path = Path("data")
    # Time limits of the database (seconds); see bot/store/limits.py and .env.example.
    db_request_timeout: float = Field(default=2.0, gt=0, le=2.5)
    db_background_timeout: float = Field(default=30.0, gt=0, le=600)
    db_connect_timeout: float = Field(default=2.0, ge=2, le=60)
    db_statement_timeout: float = Field(default=10.0, gt=0, le=3600)
    db_lock_timeout: float = Field(default=2.0, gt=0, le=60)
    db_idle_in_transaction_timeout: float = Field(default=10.0, gt=0, le=3600)
    db_tcp_user_timeout: float = Field(default=10.0, gt=0, le=600)

    @property
    def database_limits(self) -> DatabaseLimits:
        return DatabaseLimits(
            request_timeout=self.db_request_timeout,
            background_timeout=self.db_background_timeout,
            connect_timeout=self.db_connect_timeout,
            statement_timeout=self.db_statement_timeout,
            lock_timeout=self.db_lock_timeout,
            idle_in_transaction_timeout=self.db_idle_in_transaction_timeout,
            tcp_user_timeout=self.db_tcp_user_timeout,
        )


class PriceSettings(DatabaseSettings):
    """What `python -m bot estimate` and `prices refresh` need: the database (for
    refreshed prices) and the AWS Region prices are for unless one is asked for."""

    aws_region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


class ExpirySettings(PriceSettings):
    """What `python -m bot retention` needs besides the database and prices: the flow,
    to restore the conversations it expires, and the command their tidy-up names."""

    slack_command: str = Field(
        default="/llm-cost", validation_alias=AliasChoices("SLACK_COMMAND", "COMMAND_NAME")
    )
    flows_dir: Path = DEFAULT_FLOWS_DIR
    flow_name: str = DEFAULT_FLOW

    @field_validator("slack_command")
    @classmethod
    def _command(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/") or len(value) < 2 or " " in value:
            raise ValueError("must be a slash command such as /llm-cost")
        return value


class Settings(ExpirySettings):
    """Every variable is listed in `.env.example`."""

    # One workspace: its bot token. Many (OAuth, bot.slack.installations): the app's
    # client id and secret instead; each workspace's token comes from its installation.
    slack_bot_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: str | None = None  # comma-separated; default: manifest.json's bot scopes
    slack_redirect_uri: str | None = None
    slack_token_rotation_minutes: int = Field(default=120, ge=5, le=720)
    slack_signing_secret: SecretStr
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    answer_policy: Literal["starter", "anyone"] = "starter"
    # Slack's data_visualization block for the estimate's chart where it shows it as well
    # as the PNG (bot/slack/native_chart.py); on only where the workspace has the block.
    slack_native_charts: bool = False
    conversation_ttl_hours: float = Field(default=24.0, gt=0)
    slack_channel_post_rate: float = Field(default=1.0, gt=0, le=100)
    slack_channel_post_burst: int = Field(default=8, ge=1, le=100)
    slack_api_timeout: float = Field(default=10.0, gt=0, le=60)
    outbox_lease_seconds: float = Field(default=30.0, gt=0, le=600)
    outbox_senders: int = Field(default=4, ge=1, le=64)
    # Keep the server's threads on one CPU (bot/cli/cpu.py): auto, off or a CPU number.
    server_cpu: Literal["auto", "off"] | int = "auto"
    # Request threads of the HTTP server (waitress). A thread only ever sees a request
    # whose body has arrived in full, so slow clients do not tie them up.
    http_threads: int = Field(
        default=8, ge=1, le=256, validation_alias=AliasChoices("HTTP_THREADS", "GUNICORN_THREADS")
    )
    # The HTTP front's limits against connection floods (bot/slack/http_server.py).
    http_idle_timeout: float = Field(default=30.0, gt=0, le=3600)
    http_request_timeout: float = Field(default=10.0, gt=0, le=600)
    http_connections_per_address: int = Field(default=64, ge=0)
    http_connection_limit: int = Field(default=0, ge=0)
    # Starts per person and channel (`/llm-cost`): a burst, then one more every so many
    # seconds.
    start_limit_burst: int = Field(default=5, ge=1, le=1000)
    start_limit_seconds: float = Field(default=30.0, gt=0, le=86400)

    @field_validator("server_cpu", mode="before")
    @classmethod
    def _server_cpu(cls, value: object) -> object:
        """auto, off (any case) or a CPU's number in ASCII digits, once, here."""
        text = str(value).strip().lower()
        if text in ("auto", "off"):
            return text
        if text.isascii() and text.isdigit() and len(text) <= 4:
            return int(text)
        raise ValueError("must be auto, off or a CPU number such as 0")

    @field_validator("slack_bot_token", "slack_client_secret")
    @classmethod
    def _unset_when_empty(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("slack_client_id", "slack_scopes")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        local = parts.hostname in ("localhost", "127.0.0.1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("must be an https:// URL (http:// only for localhost)")
        if not parts.hostname or not parts.path.endswith("/slack/oauth_redirect"):
            raise ValueError("must be this app's https://<host>/slack/oauth_redirect")
        return value.strip()

    @model_validator(mode="before")
    @classmethod
    def _some_mode(cls, data: object) -> object:
        """Neither mode's variables given: said on SLACK_BOT_TOKEN, beside other errors
        (an "after" check would not run once another variable failed)."""
        if isinstance(data, dict):
            given = {str(k).lower() for k, v in data.items() if v not in (None, "")}
            if not given & {"slack_bot_token", "slack_client_id", "slack_client_secret"}:
                return {**data, "slack_bot_token": _NO_MODE}
        return data

    @field_validator("slack_bot_token", mode="before")
    @classmethod
    def _no_mode(cls, value: object) -> object:
        if value is _NO_MODE:
            raise ValueError(
                "is not set (one workspace), nor SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                "(OAuth, many workspaces); see .env.example"
            )
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> Settings:
        oauth = self.slack_client_id is not None or self.slack_client_secret is not None
        if self.slack_bot_token is not None and oauth:
            raise ValueError(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: set "
                "the bot token for one workspace, or the client id and secret for OAuth"
            )
        if self.slack_bot_token is None and not oauth:  # given, but blank
            raise ValueError(
                "SLACK_BOT_TOKEN is not set (one workspace), nor SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (OAuth, many workspaces); see .env.example"
            )
        if oauth and (self.slack_client_id is None or self.slack_client_secret is None):
            missing = "SLACK_CLIENT_ID" if self.slack_client_id is None else "SLACK_CLIENT_SECRET"
            raise ValueError(f"{missing} is not set: OAuth needs both the client id and secret")
        return self

    @property
    def oauth(self) -> bool:
        """Many workspaces, each installed through /slack/install (OAuth v2)."""
        return self.slack_bot_token is None

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None


_S = TypeVar("_S", bound=BaseSettings)


class ConfigError(Exception):
    """Configuration that cannot work; the message names each variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise `ConfigError` with one line per bad or missing variable."""
    return _load(Settings, overrides)


def load_database_settings(**overrides: object) -> DatabaseSettings:
    return _load(DatabaseSettings, overrides)


def load_expiry_settings(**overrides: object) -> ExpirySettings:
    return _load(ExpirySettings, overrides)


def load_price_settings(**overrides: object) -> PriceSettings:
    return _load(PriceSettings, overrides)


def _load(kind: type[_S], overrides: dict[str, object]) -> _S:
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else ""
            if not name:  # a rule across variables names them itself
                lines.append(error["msg"].removeprefix("Value error, "))
            elif error["type"] == "missing":
                lines.append(f"{name} is not set (see .env.example)")
            else:
                message = error["msg"].removeprefix("Value error, ")
                lines.append(f"{name} {message}")
        raise ConfigError("configuration error: " + "; ".join(lines)) from None
