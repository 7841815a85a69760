"""OAuth mode (issue 20), over HTTP against the fake: installs through /slack/install
and /slack/oauth_redirect, each workspace's calls with its own token, uninstall,
restart, token rotation, Enterprise Grid org-wide installs, a forged state."""

from __future__ import annotations

import http.client
import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from bot.settings import Settings
from bot.slack.installations import NOT_INSTALLED_TEXT
from bot.testing.slack_api import Call, FakeSlack
from bot.testing.slack_requests import slash_command_body
from tests.slack.harness import SECRET, Slack, processes, running
from tests.slack.test_edge import lifecycle_event

A, B = "T0AAAA", "T0BBBB"
CHANNEL_OF = {A: "C0AAAA", B: "C0BBBB"}


def oauth_settings(fake: FakeSlack, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        slack_client_id=fake.oauth.client_id,
        slack_client_secret=fake.oauth.client_secret,
        slack_signing_secret=SECRET,
        slack_api_url=fake.base_url,
        data_dir=data_dir,
        **extra,
    )


def get(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def begin_install(slack: Slack | str) -> str:
    """Open the Add to Slack page (of ``slack``'s first app, or at a base URL); the
    state it issued (also in its cookie)."""
    base = slack if isinstance(slack, str) else slack.apps[0].base_url
    status, headers, page = get(base + "/slack/install")
    assert status == 200, page
    cookie = headers["Set-Cookie"].split(";")[0]
    name, _, state = cookie.partition("=")
    assert name == "slack-app-oauth-state" and state
    assert f"state={state}" in page and "client_id=" in page
    return state


def finish_install(
    slack: Slack | str, code: str, state: str, cookie: str | None
) -> tuple[int, str]:
    base = slack if isinstance(slack, str) else slack.apps[0].base_url
    status, _, page = get(f"{base}/slack/oauth_redirect?code={code}&state={state}", cookie)
    return status, page


def install(
    slack: Slack | str,
    team: str,
    code: str | None = None,
    fake: FakeSlack | None = None,
    finish_at: str | None = None,
    **grant: Any,
) -> None:
    """Someone adds the app to ``team`` through the app's own pages (Slack sends them
    back to ``finish_at``, another replica, when given)."""
    code = code or f"code-{team}-{time.monotonic_ns()}"
    state = begin_install(slack)
    (fake or slack.fake).oauth.grant(code, team, **grant)  # type: ignore[union-attr]
    cookie = f"slack-app-oauth-state={state}"
    status, page = finish_install(finish_at or slack, code, state, cookie)
    assert status == 200 and "Thank you!" in page, page


def converse(slack: Slack, team: str, **kw: Any) -> None:
    """A conversation in ``team``'s channel: started, one answer, cancelled."""
    channel = CHANNEL_OF[team]
    status, body = slack.command(team=team, channel=channel, **kw)
    assert status == 200, body
    slack.settle()
    slack.answer("Inference", channel=channel, team=team)
    slack.answer("Cancel", channel=channel, team=team)


def estimate_and_home(slack: Slack, team: str) -> None:
    """A run in ``team`` to an estimate (its chart uploaded), then the Home tab."""
    channel = CHANNEL_OF[team]
    status, body = slack.command(team=team, channel=channel)
    assert status == 200, body
    slack.settle()
    for label in ("Training", "10-100B params", "Active"):
        slack.answer(label, channel=channel, team=team)
    slack.click(slack.current(channel), "Estimate the cost", channel=channel, team=team)
    slack.settle()
    for text in ("70B", "2T tokens"):
        slack.say(text, thread_ts=slack.root(channel)["ts"], channel=channel, team=team)
        slack.settle()
    assert slack.fake.calls("files.completeUploadExternal"), "no chart was shared"
    slack.open_home(team=team)


def api_calls(fake: FakeSlack, since: int = 0) -> list[Call]:
    """Web API calls the app made (not response_urls, uploads or the OAuth exchange)."""
    skip = {"response_url", "oauth.v2.access", "upload"}  # upload: a pre-signed URL
    return [c for c in fake.calls()[since:] if c.method not in skip]


def tokens_by_channel(calls: list[Call]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for call in calls:
        channel = call.params.get("channel") or call.params.get("channel_id")
        if isinstance(channel, str):
            found.setdefault(channel, set()).add(str(call.token))
    return found


def test_two_workspaces_each_with_its_own_token_uninstall_and_restart(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = oauth_settings(fake, tmp_path / "data")
    with running(settings, fake) as slack:
        install(slack, A, team_name="Alpha")
        install(slack, B, team_name="Beta")
        token_a = fake.oauth.owner(f"xoxb-{A}-1") and f"xoxb-{A}-1"
        token_b = f"xoxb-{B}-2"
        assert fake.oauth.owner(token_a).team_id == A and fake.oauth.owner(token_b).team_id == B
        start = len(fake.calls())
        converse(slack, A)
        estimate_and_home(slack, B)
        calls = api_calls(fake, start)
        methods = {c.method for c in calls}
        assert {"files.getUploadURLExternal", "views.publish", "pins.add"} <= methods
        assert {c.token for c in calls} == {token_a, token_b}
        for call in calls:  # the chart, the Home view: B's, as its team is B
            if call.method in ("files.getUploadURLExternal", "views.publish"):
                assert call.token == token_b
        refused = [(c.method, c.error) for c in calls if not c.ok and c.error != "no_pin"]
        assert calls and not refused, refused  # no_pin: Cancel unpins what was never pinned
        assert tokens_by_channel(calls) == {CHANNEL_OF[A]: {token_a}, CHANNEL_OF[B]: {token_b}}
        # Bolt checked each request's token once (auth.test, cached per token).
        assert {c.token for c in calls if c.method == "auth.test"} <= {token_a, token_b}

        # A is uninstalled: its installation goes, its conversation ends, and its token
        # is never used again while B carries on. (The conversation's messages are all
        # sent first: a call already on its way when the event comes may still finish,
        # and this test would race with it.)
        status, _ = slack.command(team=A, channel=CHANNEL_OF[A])
        slack.settle()
        fake.oauth.uninstall(A)
        status, _ = slack.post(lifecycle_event("app_uninstalled", A))
        assert status == 200
        slack.settle()
        store = slack.apps[0].runtime.store
        with store.engine.connect() as conn:
            teams = set(conn.execute(sa.text("SELECT team_id FROM slack_bots")).scalars())
            pending = conn.execute(
                sa.text("SELECT count(*) FROM outbox WHERE team = :t AND status = 'pending'"),
                {"t": A},
            ).scalar()
            states = set(
                conn.execute(
                    sa.text("SELECT status FROM conversations WHERE team = :t"), {"t": A}
                ).scalars()
            )
        assert teams == {B} and pending == 0
        assert "active" not in states  # A's open conversation was ended
        after = len(fake.calls())
        assert_told_not_installed(slack, A, "rA")
        converse(slack, B)
        later = api_calls(fake, after)
        assert token_a not in {c.token for c in later}
        assert {c.token for c in later} == {token_b}

    # A restart (a new process on the same database) keeps B's installation.
    with running(settings, fake) as slack:
        start = len(fake.calls())
        converse(slack, B)
        assert {c.token for c in api_calls(fake, start)} == {token_b}
        assert_told_not_installed(slack, A, "rA2")


def assert_told_not_installed(slack: Slack, team: str, response_token: str) -> None:
    """A slash command from a workspace without an installation: a 200, and the person
    is told privately (through the command's response_url, which needs no token)."""
    status, _ = slack.command(team=team, channel=CHANNEL_OF[team], response_token=response_token)
    assert status == 200
    said = [c for c in slack.fake.calls("response_url") if c.token == response_token]
    assert len(said) == 1 and said[0].params["text"] == NOT_INSTALLED_TEXT
    assert said[0].params.get("response_type", "ephemeral") == "ephemeral"


def installed_teams(slack: Slack) -> set[str | None]:
    with slack.apps[0].runtime.store.engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT team_id FROM slack_installations")).scalars())


def test_a_forged_or_cookieless_state_installs_nothing(fake: FakeSlack, tmp_path: Path) -> None:
    with running(oauth_settings(fake, tmp_path / "data"), fake) as slack:
        fake.oauth.grant("code-1", A)
        state = begin_install(slack)
        # A state nobody issued, though the browser's cookie agrees with it.
        status, page = finish_install(slack, "code-1", "forged", "slack-app-oauth-state=forged")
        assert status != 200 or "Thank you!" not in page
        # The issued state without the cookie of the browser that began: refused too.
        status, page = finish_install(slack, "code-1", state, None)
        assert "Thank you!" not in page
        assert installed_teams(slack) == set()
        assert not fake.calls("oauth.v2.access")  # the code was never even exchanged
        # The same state, then, with its cookie: installs (a state is good once).
        status, page = finish_install(slack, "code-1", state, f"slack-app-oauth-state={state}")
        assert "Thank you!" in page and installed_teams(slack) == {A}
        status, page = finish_install(slack, "code-1", state, f"slack-app-oauth-state={state}")
        assert "Thank you!" not in page


def test_oauth_v2_access_goes_to_slack_api_url(fake: FakeSlack, tmp_path: Path) -> None:
    with running(oauth_settings(fake, tmp_path / "data"), fake) as slack:
        install(slack, A)
        exchange = fake.calls("oauth.v2.access")
        assert len(exchange) == 1 and exchange[0].ok


def test_rotating_tokens_are_refreshed_before_they_expire(fake: FakeSlack, tmp_path: Path) -> None:
    """A token that expires within SLACK_TOKEN_ROTATION_MINUTES is refreshed (through the
    fake, as SLACK_API_URL says) before it is used, and the new one is kept."""
    settings = oauth_settings(fake, tmp_path / "data", slack_token_rotation_minutes=120)
    with running(settings, fake) as slack:
        install(slack, A, expires_in=3600)  # an hour left: inside the two-hour window
        first = f"xoxb-{A}-1"
        start = len(fake.calls())
        converse(slack, A)
        refreshes = [c for c in fake.calls("oauth.v2.access")[1:]]
        assert len(refreshes) == 1 and refreshes[0].params["grant_type"] == "refresh_token"
        used = {c.token for c in api_calls(fake, start)}
        assert used == {f"xoxb-{A}-2"} and first not in used
        with slack.apps[0].runtime.store.engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT bot_token FROM slack_bots")).scalars().all()
        assert kept[-1] == f"xoxb-{A}-2"


def test_an_org_wide_install_serves_its_workspaces_by_enterprise(
    fake: FakeSlack, tmp_path: Path
) -> None:
    with running(oauth_settings(fake, tmp_path / "data"), fake) as slack:
        install(slack, "E0ORG", enterprise_id="E0ORG", org_wide=True)
        token = "xoxb-E0ORG-1"
        start = len(fake.calls())
        for team in (A, B):
            status, reply = slack.post(org_command(fake, team))
            assert status == 200, reply
        slack.settle()
        calls = api_calls(fake, start)
        assert calls and {c.token for c in calls} == {token}
        assert set(tokens_by_channel(calls)) == {CHANNEL_OF[A], CHANNEL_OF[B]}
        with slack.apps[0].runtime.store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT DISTINCT team, enterprise FROM outbox")).all()
        assert set(rows) == {(A, "E0ORG"), (B, "E0ORG")}  # conversations stay per workspace


def test_tokens_revoked_forgets_the_workspace(fake: FakeSlack, tmp_path: Path) -> None:
    with running(oauth_settings(fake, tmp_path / "data"), fake) as slack:
        install(slack, A)
        install(slack, B)
        converse(slack, A)
        fake.oauth.uninstall(A)
        revoked = lifecycle_event("tokens_revoked", A, tokens={"oauth": [], "bot": ["U0BOT"]})
        assert slack.post(revoked)[0] == 200
        assert installed_teams(slack) == {B}
        after = len(fake.calls())
        assert_told_not_installed(slack, A, "rA")
        assert not api_calls(fake, after)  # nothing at all was sent for A


def test_an_org_wide_uninstall_ends_every_workspace_of_the_organisation(
    fake: FakeSlack, tmp_path: Path
) -> None:
    with running(oauth_settings(fake, tmp_path / "data"), fake) as slack:
        install(slack, "E0ORG", enterprise_id="E0ORG", org_wide=True)
        for team in (A, B):
            status, _ = slack.post(org_command(fake, team))
            assert status == 200
        slack.settle()
        fake.oauth.uninstall("E0ORG")
        event = json.loads(lifecycle_event("app_uninstalled", A))
        event["authorizations"] = [
            {"enterprise_id": "E0ORG", "team_id": None, "is_enterprise_install": True}
        ]
        assert slack.post(json.dumps(event).encode())[0] == 200
        store = slack.apps[0].runtime.store
        with store.engine.connect() as conn:
            bots = conn.execute(sa.text("SELECT count(*) FROM slack_bots")).scalar()
            open_ = conn.execute(
                sa.text("SELECT count(*) FROM conversations WHERE status = 'active'")
            ).scalar()
        assert bots == 0 and open_ == 0
        after = len(fake.calls())
        status, _ = slack.post(org_command(fake, B))
        assert status == 200
        slack.settle()
        assert not api_calls(fake, after)


def org_command(fake: FakeSlack, team: str) -> bytes:
    """/llm-cost in ``team``, a workspace of the organisation E0ORG (installed org-wide)."""
    return slash_command_body(
        team_id=team,
        channel_id=CHANNEL_OF[team],
        user_id="U0ALICE",
        enterprise_id="E0ORG",
        response_url=fake.response_url(f"{team}-{time.monotonic_ns()}"),
    ).replace(b"is_enterprise_install=false", b"is_enterprise_install=true")


@pytest.mark.postgres
def test_two_processes_on_postgresql_share_the_installations(
    fake: FakeSlack, tmp_path: Path, pg_url: str
) -> None:
    """Two `python -m bot run` processes on one database: installed through one, the
    other serves the workspace too, requests alternating between them."""
    oauth_env = {
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": fake.oauth.client_id,
        "SLACK_CLIENT_SECRET": fake.oauth.client_secret,
    }
    with processes(fake, pg_url, tmp_path / "data", **oauth_env) as slack:
        first, second = (f"http://127.0.0.1:{app.port}" for app in slack.apps)  # type: ignore[attr-defined]
        install(first, A, fake=fake)
        install(second, B, fake=fake, finish_at=first)  # the state is shared too
        start = len(fake.calls())
        converse(slack, A)
        converse(slack, B)
        calls = api_calls(fake, start)
        assert tokens_by_channel(calls) == {
            CHANNEL_OF[A]: {f"xoxb-{A}-1"},
            CHANNEL_OF[B]: {f"xoxb-{B}-2"},
        }


def test_no_token_refresh_token_or_secret_is_logged(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, where slack_sdk logs request parameters and response bodies."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("bot.slack.api").setLevel(logging.DEBUG)
    settings = oauth_settings(fake, tmp_path / "data")
    try:
        with running(settings, fake) as slack:
            install(slack, A, expires_in=3600)  # a refresh token, and a rotation
            converse(slack, A)
    finally:
        logging.getLogger("bot.slack.api").setLevel(logging.NOTSET)
    assert len(fake.calls("oauth.v2.access")) == 2
    text = caplog.text
    assert "oauth.v2.access" in text  # slack_sdk did log the exchange, scrubbed
    for secret in (f"xoxb-{A}-1", f"xoxb-{A}-2", f"xoxe-1-{A}-1", fake.oauth.client_secret, SECRET):
        assert secret not in text


def test_maintenance_tidies_each_workspace_up_with_its_own_token(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Expiry (the maintenance schedule) edits each idle thread as its own workspace."""
    from tests.slack.test_scenarios import _expire_everything_now

    with running(oauth_settings(fake, tmp_path / "data"), fake) as slack:
        install(slack, A)
        install(slack, B)
        for team in (A, B):
            assert slack.command(team=team, channel=CHANNEL_OF[team])[0] == 200
            slack.settle()
        runtime = slack.apps[0].runtime
        _expire_everything_now(runtime.store)
        start = len(fake.calls())
        assert runtime.moves.expire_idle() == 2
        slack.settle()
        edits = [c for c in api_calls(fake, start) if c.method == "chat.update"]
        assert tokens_by_channel(edits) == {
            CHANNEL_OF[A]: {f"xoxb-{A}-1"},
            CHANNEL_OF[B]: {f"xoxb-{B}-2"},
        }
