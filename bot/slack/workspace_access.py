"""Which token an outbox row goes with, as the sender asks it: `Workspaces`, with
`OneWorkspace` for single-token mode (OAuth mode's `InstalledWorkspaces` lives with the
installations). Apart from them so that the sender imports no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.slack.token_health import TokenHealth


@dataclass(frozen=True)
class Access:
    """How to call Slack for one workspace: its token (None: the client's own, in
    single-token mode) and what Slack last said of that token."""

    token: str | None
    health: TokenHealth


class Workspaces(Protocol):
    """Which token a row goes with: `OneWorkspace` or `InstalledWorkspaces`."""

    def access(self, team: str | None, enterprise: str | None) -> Access: ...


class OneWorkspace:
    """Single-token mode: every row goes with SLACK_BOT_TOKEN."""

    def __init__(self, health: TokenHealth) -> None:
        self.health = health

    def access(self, team: str | None, enterprise: str | None) -> Access:
        return Access(None, self.health)
