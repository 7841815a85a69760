"""Installations (issue 20): finding a workspace's token, rotating it, and the race of
two processes refreshing the same token."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation

from bot.slack.installations import NOT_INSTALLED, Installations, InstalledWorkspaces
from bot.store import Store
from bot.testing.slack_api import FakeSlack

TEAM = "T0AAAA"


@pytest.fixture
def installations(fake: FakeSlack, tmp_path: Path) -> Installations:
    store = Store.from_url(None, tmp_path / "data")
    return Installations(
        store.engine,
        client_id=fake.oauth.client_id,
        client_secret=fake.oauth.client_secret,
        client=fake.client(token=None),  # type: ignore[arg-type]
        rotation_minutes=120,
    )


def installed(fake: FakeSlack, installations: Installations, **grant: object) -> str:
    """An installation as the OAuth flow saves it, from the fake's code exchange."""
    fake.oauth.grant("code", TEAM, **grant)
    answer = fake.client(token=None).oauth_v2_access(
        client_id=fake.oauth.client_id, client_secret=fake.oauth.client_secret, code="code"
    )
    installations.store.save(
        Installation(
            app_id="A0001",
            team_id=TEAM,
            bot_token=answer["access_token"],
            bot_refresh_token=answer.get("refresh_token"),
            bot_token_expires_in=answer.get("expires_in"),
            bot_id="B0BOT",
            bot_user_id="U0BOT",
            user_id="U0ADMIN",
        )
    )
    return str(answer["access_token"])


def test_a_token_far_from_expiry_is_used_as_it_is(
    fake: FakeSlack, installations: Installations
) -> None:
    token = installed(fake, installations, expires_in=43_200)
    assert installations.bot_for(TEAM, None).bot_token == token  # type: ignore[union-attr]
    assert len(fake.calls("oauth.v2.access")) == 1  # the install only


def test_a_token_near_expiry_is_refreshed_once_and_kept(
    fake: FakeSlack, installations: Installations
) -> None:
    installed(fake, installations, expires_in=3600)
    first = installations.bot_for(TEAM, None)
    second = installations.bot_for(TEAM, None)
    assert first.bot_token == second.bot_token == f"xoxb-{TEAM}-2"  # type: ignore[union-attr]
    refreshes = fake.calls("oauth.v2.access")[1:]
    assert [c.params["grant_type"] for c in refreshes] == ["refresh_token"]


def test_a_refresh_lost_to_another_process_uses_the_token_it_stored(
    fake: FakeSlack, installations: Installations, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed(fake, installations, expires_in=3600)
    stale = installations.store.find_bot(enterprise_id=None, team_id=TEAM)
    installations.bot_for(TEAM, None)  # "the other process": refreshes and stores
    reads = installations.store.reads  # type: ignore[attr-defined]
    found = reads.find_bot
    served = iter([stale])  # this process read the bot before that refresh

    def find_bot(**kwargs: object):
        return next(served, None) or found(**kwargs)

    monkeypatch.setattr(reads, "find_bot", find_bot)
    bot = installations.bot_for(TEAM, None)  # its refresh token is spent: Slack refuses
    assert bot is not None and bot.bot_token == f"xoxb-{TEAM}-2"
    assert fake.calls("oauth.v2.access")[-1].response["error"] == "invalid_refresh_token"


def test_a_refresh_token_slack_refuses_stops_that_workspace_only(
    fake: FakeSlack, installations: Installations, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed(fake, installations, expires_in=3600)
    fake.oauth._refresh.clear()  # Slack no longer knows the refresh token
    with pytest.raises(SlackTokenRotationError):
        installations.bot_for(TEAM, None)
    access = InstalledWorkspaces(installations).access(TEAM, None)
    assert access.token is None and access.health.refused == "token_revoked"


def test_no_installation_means_no_token(installations: Installations) -> None:
    access = InstalledWorkspaces(installations).access("T0NONE", None)
    assert access.token is None and access.health.refused == NOT_INSTALLED
