"""The edge under hostile or broken conditions: slow clients, huge and unsigned bodies,
replays, Slack's escaping, malformed values, a storage that vanishes, and Slack refusing
the app (removed from a channel, token revoked, app uninstalled).

The front tests run the real entry point (`python -m bot run --mode http`) as its own
process and read its log; the rest drive the app in-process like every scenario test.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.engine import DB_FILENAME
from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import (
    block_actions_body,
    message_event_body,
    sign,
    slash_command_body,
)
from tests.slack.harness import (
    ALICE,
    CHANNEL,
    SECRET,
    TEAM,
    AppProcess,
    Slack,
    find_button,
    running,
    settings_for,
    text_of,
)
from tests.slack.ports import reserve_port
from tests.store.helpers import read_only

ROOT = Path(__file__).parents[2]
#: The failure these guard against is a wait that lasts as long as the bad clients
#: stay (for ever); this only bounds how long a broken build hangs the suite.
ANSWER_TIMEOUT = 10.0


def start(slack: Slack, **kw: object) -> dict:
    status, body = slack.command(**kw)
    assert status == 200, body
    slack.settle()
    return slack.root(kw.get("channel", CHANNEL))  # type: ignore[arg-type]


# -- the real process ------------------------------------------------------------------


class LoggedApp(AppProcess):
    """`python -m bot run --mode http` on SQLite, its log (stderr) in a file."""

    def __init__(self, fake: FakeSlack, data_dir: Path, log_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
        env.pop("DATABASE_URL", None)
        env.update(
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.base_url,
            SLACK_APP_TOKEN="",
            DATA_DIR=str(data_dir),
            LOG_LEVEL="INFO",
        )
        self.log_path = log_path
        self._log = log_path.open("w")
        super().__init__(env, stderr=self._log)
        self.wait_ready()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def stop(self) -> None:
        super().stop()
        self._log.close()


@pytest.fixture
def logged(fake: FakeSlack, tmp_path: Path) -> Iterator[tuple[Slack, LoggedApp]]:
    app = LoggedApp(fake, tmp_path / "data", tmp_path / "app.log")
    slack = Slack(fake, [app])  # type: ignore[list-item]
    probe = Store.from_url(f"sqlite:///{tmp_path / 'data' / DB_FILENAME}", tmp_path)
    slack.probes = [type("Probe", (), {"runtime": type("R", (), {"store": probe})})()]
    try:
        yield slack, app
    finally:
        slack.client.close()
        app.stop()
        probe.dispose()


def get(url: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=ANSWER_TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_idle_and_partial_connections_do_not_stop_the_app(
    logged: tuple[Slack, LoggedApp],
) -> None:
    """100 connections from another address that send nothing, or headers and 2 of 100
    body bytes, and stay (those past its per-address cap are closed): health checks and
    Slack's requests are still answered."""
    slack, app = logged
    held: list[socket.socket] = []
    try:
        for i in range(100):
            sock = socket.create_connection(
                ("127.0.0.1", app.port), timeout=ANSWER_TIMEOUT, source_address=("127.0.0.2", 0)
            )
            if i % 2:
                with contextlib.suppress(OSError):  # closed at once: past the cap
                    sock.sendall(
                        b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{}"
                    )
            held.append(sock)
        health = get(f"http://127.0.0.1:{app.port}/healthz")
        assert health == (200, {"ok": True, "database": "ok", "slack": "ok"})
        status, _ = slack.command()
        assert status == 200
        slack.settle()
        assert "training or inference" in text_of(slack.current())
    finally:
        for sock in held:
            sock.close()


def raw_post(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send ``head`` (and as much of ``body`` as the server takes); the raw response."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT) as sock:
        sock.sendall(head)
        # The server may answer and close without reading the body, as it should.
        with contextlib.suppress(OSError):
            sock.sendall(body)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def test_a_huge_body_is_refused_unread_and_unlogged(logged: tuple[Slack, LoggedApp]) -> None:
    _, app = logged
    before = app.log_size()
    body = b"payload=" + b"A" * (5 * 1024 * 1024)
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    response = raw_post(app.port, head, body)
    assert response.split(b"\r\n", 1)[0] == b"HTTP/1.1 413 Request Entity Too Large"
    # Refused on its declared length alone: the answer comes before any body is sent.
    with socket.create_connection(("127.0.0.1", app.port), timeout=ANSWER_TIMEOUT) as sock:
        sock.sendall(head)
        assert sock.recv(64).startswith(b"HTTP/1.1 413 ")
    assert get(f"http://127.0.0.1:{app.port}/healthz")[0] == 200
    assert app.log_size() - before < 1024, app.log_text()[before:][:2000]


def test_a_refused_signature_logs_one_line_without_the_body(
    logged: tuple[Slack, LoggedApp],
) -> None:
    slack, app = logged
    secret_text = "typed-text-nobody-may-log"
    for stale in (False, True):  # a wrong secret; a genuine but late request
        body = slash_command_body(text=secret_text, team_id=TEAM, user_id=ALICE)
        kw = {"timestamp": int(time.time()) - 600} if stale else {"secret": "not-the-secret"}
        status, _ = slack.post(body, **kw)
        assert status == 401
    log = app.log_text()
    assert secret_text not in log and "response_url" not in log, log
    assert "fake-verification-token" not in log, log
    refusals = [line for line in log.splitlines() if "refused a request" in line]
    # One line a minute: the second refusal is counted into the next line (see
    # tests/slack/test_malformed.py, with a fake clock).
    assert len(refusals) == 1 and f"team {TEAM}" in refusals[0], log


def test_typed_text_and_steps_stay_out_of_the_log(logged: tuple[Slack, LoggedApp]) -> None:
    """README: no typed text at INFO; transitions' per-step lines are held back."""
    slack, app = logged
    root = start(slack)
    slack.say("we run inference <for a chatbot> & more", thread_ts=root["ts"])
    slack.settle()
    slack.say("some-typed-words-to-find", thread_ts=root["ts"])
    slack.settle()
    log = app.log_text()
    assert "chatbot" not in log and "some-typed-words-to-find" not in log, log
    assert "transitions" not in log, log


def test_a_bad_postgresql_url_ends_in_one_line_and_exit_2(pg_url: str, tmp_path: Path) -> None:
    bad = pg_url.split("?")[0].rsplit("/", 1)[0] + "/no_such_database_here"
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL="http://127.0.0.1:9/api/",
        SLACK_APP_TOKEN="",
        DATABASE_URL=bad.replace("postgres@", "postgres:hunter2@"),
        DATA_DIR=str(tmp_path),
        HOST="127.0.0.1",
    )
    with reserve_port() as held:  # it should never listen; if it did, on its own port
        env["PORT"] = str(held.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--mode", "http"],
            env=env,
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=60,
        )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1, done.stderr
    assert "no_such_database_here" in lines[0] and "DATABASE_URL" in lines[0]
    assert "hunter2" not in done.stderr


# -- Slack's escaping, replays, malformed values -------------------------------------------


def test_slack_escaped_less_than_picks_ultra_low(slack: Slack) -> None:
    root = start(slack)
    slack.say("inference", thread_ts=root["ts"])
    slack.settle()
    slack.say("< 100ms", thread_ts=root["ts"])  # arrives as "&lt; 100ms"
    slack.settle()
    answered = [m for m in slack.thread() if "Took from" in text_of(m)]
    assert "→ *Ultra-low" in text_of(answered[-1]), text_of(answered[-1])
    assert "&amp;lt;" not in text_of(answered[-1])


def test_a_replayed_slash_command_makes_one_conversation(slack: Slack) -> None:
    body = slash_command_body(
        team_id=TEAM,
        channel_id=CHANNEL,
        user_id=ALICE,
        response_url=slack.fake.response_url("r1"),
    )
    headers = sign(body, SECRET)
    for _ in range(2):
        status, _ = slack.post(body, timestamp=int(headers["X-Slack-Request-Timestamp"]))
        assert status == 200
    slack.settle()
    roots = [m for m in slack.fake.messages(CHANNEL) if not m.get("thread_ts")]
    assert len(roots) == 1
    assert not any("Replaced" in text_of(m) for m in slack.fake.messages(CHANNEL))


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_malformed_values_get_a_4xx_or_are_ignored_without_an_error(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    root = start(slack)
    question = slack.current()
    before = len(slack.fake.messages(CHANNEL))
    # A timestamp header that is not a number.
    body = slash_command_body(team_id=TEAM, channel_id=CHANNEL, user_id=ALICE)
    status, _ = slack.post(
        body,
        headers_extra={"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
    )
    assert status == 401
    # A button whose step is a superscript two (str.isdigit() says yes, int() says no).
    button = find_button(question, "Training")
    cid = button["value"].split(":")[0]
    status, _ = slack.post(
        block_actions_body(
            action_id=button["action_id"],
            value=f"{cid}:\u00b2:1",
            block_id="b",
            message_ts=question["ts"],
            thread_ts=root["ts"],
            channel_id=CHANNEL,
            user_id=ALICE,
            team_id=TEAM,
        )
    )
    assert status == 200
    # Ids longer than any Slack id (and than the database columns).
    long_id = "C" + "X" * 40
    status, body_out = slack.command(channel=long_id)
    assert status == 200 and b"malformed" in body_out
    status, _ = slack.say("training", thread_ts=root["ts"], user="U" + "Y" * 40)
    assert status == 200
    slack.settle()
    assert len(slack.fake.messages(CHANNEL)) == before
    assert error_lines(caplog) == []


def test_a_lone_surrogate_in_typed_text_is_answered_not_dropped(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    root = start(slack)
    raw = json.loads(message_event_body(text="x", user_id=ALICE, channel_id=CHANNEL, ts="1.1"))
    raw["event"].update(text="training \ud800", thread_ts=root["ts"], ts="1800000100.000001")
    raw["team_id"] = TEAM
    body = json.dumps(raw).encode()  # ensure_ascii: the surrogate travels as \ud800
    status, _ = slack.post(body)
    assert status == 200
    slack.settle()
    assert "How large is the model" in text_of(slack.current())
    assert error_lines(caplog) == []


# -- storage faults ----------------------------------------------------------------------


def test_a_deleted_sqlite_file_turns_healthz_503(fake: FakeSlack, tmp_path: Path) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        base = slack.apps[0].base_url
        assert get(base + "/healthz")[0] == 200
        for name in os.listdir(tmp_path / "data"):
            if name.startswith(DB_FILENAME):
                os.remove(tmp_path / "data" / name)
        status, body = get(base + "/healthz")
        assert status == 503
        assert body["ok"] is False and "removed or replaced" in body["database"]


def test_a_read_only_sqlite_file_turns_healthz_503_until_it_recovers(
    fake: FakeSlack, tmp_path: Path
) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        base = slack.apps[0].base_url
        start(slack)
        # The database and its write-ahead log; not the shared-memory index, which is
        # mapped into memory (making it immutable would crash the process, not refuse).
        files = [tmp_path / "data" / DB_FILENAME, tmp_path / "data" / f"{DB_FILENAME}-wal"]
        with read_only(files):
            status, body = get(base + "/healthz")
            assert status == 503 and body["database"] == "not writable", body
            status, _ = slack.say("training", thread_ts=slack.root()["ts"])
            assert status == 200
        assert get(base + "/healthz")[0] == 200


# -- Slack refusing the app ------------------------------------------------------------


def test_removed_mid_conversation_tells_the_person_and_ends(slack: Slack) -> None:
    start(slack)
    slack.answer("Training")
    slack.answer("10-100B params")  # clicks edit the question in place: no post yet
    slack.fake.remove_bot_from(CHANNEL)
    status, _ = slack.click(slack.current(), "Back")
    assert status == 200
    slack.settle()
    status, _ = slack.say("70B", thread_ts=slack.root()["ts"])  # posts the next question
    assert status == 200
    slack.settle()
    # A typed reply has no response_url: the person is told in a direct message.
    told = [c for c in slack.fake.calls("chat.postMessage") if c.params["channel"] == f"D{ALICE}"]
    assert told, "nobody was told"
    assert "removed from this channel" in told[-1].params["text"]
    store = slack.probes[0].runtime.store if slack.probes else slack.apps[0].runtime.store
    with store.engine.connect() as conn:
        import sqlalchemy as sa

        statuses = conn.execute(sa.text("SELECT status FROM conversations")).scalars().all()
        pending = conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE status = 'pending'")
        ).scalar()
    assert statuses == ["cancelled"] and pending == 0


def test_an_archived_channel_is_not_told_to_invite(slack: Slack) -> None:
    slack.fake.archive(CHANNEL)
    slack.command()
    slack.settle()
    told = slack.fake.calls("response_url")
    assert told and "archived" in told[-1].params["text"]
    assert "/invite" not in told[-1].params["text"]


def test_a_refusal_without_a_response_url_goes_by_direct_message(slack: Slack) -> None:
    root = start(slack)
    slack.fake.remove_bot_from(CHANNEL)
    slack.say("training", thread_ts=root["ts"])  # typed: no response_url
    slack.settle()
    dms = slack.fake.messages(f"D{ALICE}")
    assert dms and "removed from this channel" in text_of(dms[-1])


def test_a_revoked_token_tells_the_person_stops_and_shows_in_health(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        checks = len(fake.calls("auth.test"))  # those of the start-up
        fake.revoke_token()
        slack.command()
        slack.settle()
        slack.command(channel="C0TWO")
        slack.settle()
        told = fake.calls("response_url")
        assert len(told) == 2 and all("revoked" in c.params["text"] for c in told)
        posts = fake.calls("chat.postMessage")
        assert len(posts) == 1, "kept calling Slack with a dead token"
        # auth.test confirmed it once; nothing asked it again within the minute.
        assert len(fake.calls("auth.test")) == checks + 1
        status, body = get(slack.apps[0].base_url + "/healthz")
        assert status == 503 and body["slack"] == "token refused: token_revoked"
        store = slack.apps[0].runtime.store
        assert store.outbox_pending() == 0
        refused = [m for m in error_lines(caplog) if "refused the bot token" in m]
        assert len(refused) == 1


def lifecycle_event(kind: str, team: str = TEAM, **event: object) -> bytes:
    body = {
        "token": "fake-verification-token",
        "team_id": team,
        "api_app_id": "A0001",
        "event": {"type": kind, "event_ts": f"{time.time():.6f}", **event},
        "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize("kind", ["app_uninstalled", "tokens_revoked"])
def test_uninstall_ends_that_workspaces_conversations(slack: Slack, kind: str) -> None:
    start(slack)
    start(slack, channel="C0TWO", team="T0OTHER")
    extra = {"tokens": {"oauth": [], "bot": ["U0BOT"]}} if kind == "tokens_revoked" else {}
    status, _ = slack.post(lifecycle_event(kind, **extra))
    assert status == 200
    store = slack.probes[0].runtime.store if slack.probes else slack.apps[0].runtime.store
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT team, status FROM conversations")).all())
    assert rows == {TEAM: "cancelled", "T0OTHER": "active"}
