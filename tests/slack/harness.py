"""Drive the real app the way Slack does: signed HTTP requests in, a fake Web API out."""

from __future__ import annotations

import atexit
import json
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from waitress import wasyncore

from bot.settings import Settings
from bot.slack.http_server import HttpLimits, Server, make_server
from bot.slack.runtime import Runtime
from bot.slack.wsgi import make_wsgi
from bot.store import Store
from bot.store.engine import DB_FILENAME
from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import (
    SlackClientSim,
    app_home_opened_body,
    block_actions_body,
    global_shortcut_body,
    home_actions_body,
    message_event_body,
    slash_command_body,
)
from tests.slack.ports import reserve_port

SECRET = "test-signing-secret"
TEAM = "T0001"
CHANNEL = "C0001"
ALICE = "U0ALICE"
BOB = "U0BOB"


#: Scenarios start as often as they need; tests/slack/test_start_limit.py sets its own.
NO_START_LIMIT = 1000
#: Scenarios post as fast as the fake takes them (the most the settings allow), so that no
#: scenario waits out Slack's real one post per second per channel: the pacer is tested
#: on a fake clock and end to end in tests/slack/test_rate_limits.py, at rates of its own.
UNPACED = {"slack_channel_post_rate": 100.0, "slack_channel_post_burst": 100}

#: For a test of what the app reads or says (pure work in one process), whose run on two
#: processes sharing PostgreSQL would prove nothing its SQLite run does not: the `slack`
#: fixture's SQLite run only. Each use names the PostgreSQL run of the same kind of
#: behaviour that remains.
sqlite_only = pytest.mark.parametrize("slack", ["sqlite"], indirect=True)


def settings_for(
    fake: FakeSlack, data_dir: Path, database_url: str | None = None, **extra: Any
) -> Settings:
    extra.setdefault("start_limit_burst", NO_START_LIMIT)
    for name, value in UNPACED.items():
        extra.setdefault(name, value)
    return Settings(
        _env_file=None,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SECRET,
        slack_api_url=fake.base_url,
        database_url=database_url,
        data_dir=data_dir,
        **extra,
    )


@cache
def _migrated_sqlite() -> Path:
    """An empty SQLite database at the newest schema, made once per test process."""
    data_dir = Path(tempfile.mkdtemp(prefix="llm-cost-bot-schema-"))
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    Store.from_url(None, data_dir).dispose()
    return data_dir / DB_FILENAME


def begin_sqlite(data_dir: Path) -> None:
    """A new app's SQLite database starts as a copy of one already migrated, as the app
    would leave it after its first start (the migrations have tests of their own);
    a data directory that has a database keeps it."""
    target = data_dir / DB_FILENAME
    if target.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(_migrated_sqlite())) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)


@dataclass
class AppServer:
    """The real app (Runtime + WSGI) served over HTTP on 127.0.0.1 by the real front
    (waitress, configured as `python -m bot run` configures it)."""

    runtime: Runtime
    server: Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.effective_port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/slack/events"

    @classmethod
    def start(cls, settings: Settings) -> AppServer:
        if settings.database_url is None:
            begin_sqlite(settings.data_dir)
        runtime = Runtime.create(settings, poll_interval=0.05)
        runtime.client.proxy = None  # loopback only, whatever the environment says
        runtime.start()
        limits = HttpLimits.from_settings(settings)
        server = make_server(make_wsgi(runtime), "127.0.0.1", 0, limits)
        thread = threading.Thread(target=server.run, name="waitress", daemon=True)
        thread.start()
        return cls(runtime, server, thread)

    def stop(self) -> None:
        # The listening socket and every connection are closed by the event loop's own
        # thread (through waitress's trigger), so its select never meets a closed file
        # descriptor; with its map empty the loop ends, and the thread with it.
        self.server.task_dispatcher.shutdown()
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout=30)
        if self.thread.is_alive():  # the loop is stuck: close from here, as a last resort
            wasyncore.close_all(self.server._map)
        self.runtime.stop()


@dataclass
class Slack:
    """What Slack does on behalf of people, and what the fake Web API received."""

    fake: FakeSlack
    apps: list[AppServer]
    client: SlackClientSim = field(default_factory=SlackClientSim)
    probes: list[Any] = field(default_factory=list)
    _turn: int = 0
    _ts: float = field(default_factory=lambda: 1_800_000_000.0)

    # -- sending --------------------------------------------------------------------------

    def _url(self) -> str:
        """Alternate between app processes when there are several."""
        self._turn += 1
        return self.apps[self._turn % len(self.apps)].url

    def post(self, body: bytes, **kw: Any) -> tuple[int, bytes]:
        status, _, data = self.client.post(self._url(), body, secret=kw.pop("secret", SECRET), **kw)
        return status, data

    def command(
        self,
        text: str = "",
        *,
        user: str = ALICE,
        channel: str = CHANNEL,
        team: str = TEAM,
        response_token: str = "r1",
        **kw: Any,
    ) -> tuple[int, bytes]:
        body = slash_command_body(
            text=text,
            user_id=user,
            channel_id=channel,
            team_id=team,
            response_url=self.fake.response_url(response_token),
        )
        return self.post(body, **kw)

    def click(
        self,
        message: dict,
        label: str,
        *,
        user: str = ALICE,
        channel: str = CHANNEL,
        team: str = TEAM,
        **kw: Any,
    ) -> tuple[int, bytes]:
        fields = click_fields(
            message,
            label,
            user=user,
            channel=channel,
            team=team,
            response_url=self.fake.response_url("click"),
        )
        return self.post(block_actions_body(**fields), **kw)

    def say(
        self,
        text: str,
        *,
        thread_ts: str | None,
        user: str = ALICE,
        channel: str = CHANNEL,
        team: str = TEAM,
        **kw: Any,
    ) -> tuple[int, bytes]:
        self._ts += 1
        event_keys = {k: kw.pop(k) for k in ("event_id", "bot_id", "subtype") if k in kw}
        body = message_event_body(
            text=text,
            user_id=user,
            channel_id=channel,
            ts=f"{self._ts:.6f}",
            thread_ts=thread_ts,
            team_id=team,
            channel_type="im" if channel.startswith("D") else "channel",
            **event_keys,
        )
        return self.post(body, **kw)

    def open_home(self, *, user: str = ALICE, team: str = TEAM, **kw: Any) -> dict:
        """The person opens the app's Home tab; the view the app published for it."""
        before = len(self.fake.calls("views.publish"))
        body = app_home_opened_body(user_id=user, channel_id=f"D{user}", team_id=team, **kw)
        status, _ = self.post(body)
        assert status == 200
        self.settle()
        assert len(self.fake.calls("views.publish")) > before, "no view was published"
        view = self.fake.home_view(user)
        assert view is not None
        return view

    def home_click(
        self, label: str, *, user: str = ALICE, team: str = TEAM, occurrence: int = 0
    ) -> tuple[int, bytes]:
        """Click ``label`` on the Home view published for ``user`` (the ``occurrence``-th
        button with that label)."""
        view = self.fake.home_view(user)
        assert view is not None, "no Home view published"
        found = [
            {**element, "_block": block.get("block_id", "b")}
            for block in view["blocks"]
            for element in (
                block.get("elements") or []
                if block.get("type") == "actions"
                else [block["accessory"]]
                if block.get("accessory")
                else []
            )
            if element.get("type") == "button" and element["text"]["text"] == label
        ]
        assert len(found) > occurrence, f"no button {label!r} on the Home view"
        button = found[occurrence]
        body = home_actions_body(
            action_id=button["action_id"],
            value=button["value"],
            block_id=button["_block"],
            user_id=user,
            team_id=team,
            view=view,
            button_text=label,
        )
        return self.post(body)

    def shortcut(
        self, callback_id: str, *, user: str = ALICE, team: str = TEAM, **kw: Any
    ) -> tuple[int, bytes]:
        body = global_shortcut_body(callback_id=callback_id, user_id=user, team_id=team, **kw)
        return self.post(body)

    # -- reading what the app sent -------------------------------------------------------

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every app's outbox is empty (everything due was sent or failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(p.runtime.store.outbox_pending() == 0 for p in self.probes or self.apps):
                return
            time.sleep(0.01)
        raise AssertionError("the outbox did not drain in time")

    def root(self, channel: str = CHANNEL) -> dict:
        """The newest conversation's first message. In a direct message, where the
        conversation goes on in the main stream, the newest message that was the first
        of its conversation (outbox row 1, by the marker in its metadata)."""
        roots = [m for m in self.fake.messages(channel) if not m.get("thread_ts")]
        if channel.startswith("D"):
            roots = [m for m in roots if _outbox_seq(m) == "1"]
        assert roots, "no root message was posted"
        return roots[-1]

    def thread(self, channel: str = CHANNEL) -> list[dict]:
        """What the newest conversation posted after its first message: its thread, and
        in a direct message also the main stream after it."""
        root = self.root(channel)
        found = [
            m for m in self.fake.messages_in_thread(channel, root["ts"]) if m["ts"] != root["ts"]
        ]
        if channel.startswith("D"):
            found += [
                m
                for m in self.fake.messages(channel)
                if not m.get("thread_ts") and float(m["ts"]) > float(root["ts"])
            ]
            found.sort(key=lambda m: float(m["ts"]))
        return found

    def current(self, channel: str = CHANNEL) -> dict:
        """The newest thread message that still has buttons."""
        for message in reversed(self.thread(channel)):
            if any(b.get("type") == "actions" for b in message.get("blocks") or []):
                return message
        raise AssertionError("no message with buttons in the thread")

    def choose(self, message: dict, menu: str, option: str, **kw: Any) -> tuple[int, bytes]:
        """Pick ``option`` (its text) in the menu whose placeholder is ``menu``."""
        block, element = find_menu(message, menu)
        chosen = next(o for o in element["options"] if o["text"]["text"] == option)
        body = block_actions_body(
            action_id=element["action_id"],
            value="",
            block_id=block.get("block_id", "b"),
            message_ts=message["ts"],
            thread_ts=message.get("thread_ts"),
            channel_id=kw.get("channel", CHANNEL),
            user_id=kw.get("user", ALICE),
            team_id=kw.get("team", TEAM),
            message_blocks=message.get("blocks"),
            button_text=menu,
            response_url=self.fake.response_url("click"),
            selected_option=chosen,
        )
        return self.post(body)

    def answer(self, label: str, **kw: Any) -> None:
        """Click `label` on the current question and wait for the app to finish."""
        status, _ = self.click(self.current(kw.get("channel", CHANNEL)), label, **kw)
        assert status == 200
        self.settle()


def _outbox_seq(message: dict) -> str | None:
    """The outbox row number a message was posted from (the sender's marker)."""
    marker = (message.get("metadata") or {}).get("event_payload") or {}
    found = str(marker.get("outbox") or "")
    return found.rsplit(":", 1)[-1] if ":" in found else None


def click_fields(
    message: dict, label: str, *, user: str, channel: str, team: str, response_url: str
) -> dict[str, Any]:
    """The keyword arguments of `block_actions_payload` for clicking ``label`` on
    ``message`` (a message as the fake recorded it)."""
    button = find_button(message, label)
    return {
        "action_id": button["action_id"],
        "value": button["value"],
        "block_id": button["_block"],
        "message_ts": message["ts"],
        "thread_ts": message.get("thread_ts"),
        "channel_id": channel,
        "user_id": user,
        "team_id": team,
        "message_blocks": message.get("blocks"),
        "button_text": button["text"]["text"],
        "response_url": response_url,
    }


def find_menu(message: dict, placeholder: str) -> tuple[dict, dict]:
    """(actions block, static_select element) of the menu with this placeholder."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or [] if block.get("type") == "actions" else []:
            if element.get("type") == "static_select" and (
                element["placeholder"]["text"] == placeholder
            ):
                return block, element
    raise AssertionError(f"no menu {placeholder!r}")


def find_button(message: dict, label: str) -> dict:
    for block in message.get("blocks") or []:
        if block.get("type") != "actions":
            continue
        for element in block["elements"]:
            if element["text"]["text"] == label:
                return {**element, "_block": block.get("block_id", "b")}
    labels = [
        e["text"]["text"]
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
    ]
    raise AssertionError(f"no button {label!r}; buttons: {labels}")


def text_of(message: dict) -> str:
    """All visible text of a message, for assertions."""
    parts = [message.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return "\n".join(parts)


def form(body: bytes) -> dict:
    return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}


def payload_json(data: bytes) -> Any:
    return json.loads(data) if data else None


@contextmanager
def running(settings: Settings, fake: FakeSlack, copies: int = 1) -> Iterator[Slack]:
    apps = [AppServer.start(settings) for _ in range(copies)]
    try:
        slack = Slack(fake, apps)
        yield slack
        slack.client.close()
    finally:
        for app in apps:
            app.stop()


class AppProcess:
    """`python -m bot run` in its own OS process (HTTP), configured by environment, on
    127.0.0.1 at a port reserved for it (`reserve_port`) until it has stopped."""

    def __init__(self, env: dict[str, str], stderr: Any = None):
        """``stderr``: a file for the app's log; by default it is kept for errors.
        ``env`` names no HOST or PORT: they are the reserved port's."""
        import subprocess
        import sys

        self._reserved = reserve_port()
        self.port: int = self._reserved.getsockname()[1]
        # The kernel places its threads unless the test says otherwise: a test's server
        # kept on a core that the machine's other work also keeps busy would only be
        # slower, and would claim that CPU machine-wide (SERVER_CPU's own tests set it).
        env = {"SERVER_CPU": "off", **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--mode", "http"],
            env=env,
            cwd=str(Path(__file__).parents[2]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE if stderr is None else stderr,
            text=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def wait_ready(self, timeout: float = 30.0) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.process.stderr.read()[-2000:] if self.process.stderr else ""
                raise AssertionError(f"the app exited: {log}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the app did not become healthy in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
        self._reserved.close()  # only now: no other process may take the port before


@dataclass
class _StoreProbe:
    """Lets `Slack.settle` see the outbox of app processes it cannot reach into."""

    url: str
    probe_store: Any = None

    @property
    def runtime(self) -> Any:
        return self

    @property
    def store(self) -> Any:
        if self.probe_store is None:
            from bot.store import Store

            self.probe_store = Store.from_url(self.url, Path("/nonexistent"))
        return self.probe_store


@contextmanager
def processes(
    fake: FakeSlack, database_url: str, data_dir: Path, copies: int = 2, **extra_env: str
) -> Iterator[Slack]:
    """Several app processes on one database, each at its own URL; requests alternate."""
    import os

    base = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    base.update(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.base_url,
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        SLACK_APP_TOKEN="",
    )
    unpaced = {name.upper(): str(value) for name, value in UNPACED.items()}
    base.update({"START_LIMIT_BURST": str(NO_START_LIMIT), **unpaced, **extra_env})
    apps = [AppProcess(base) for _ in range(copies)]
    probe = _StoreProbe(database_url)
    try:
        for app in apps:
            app.wait_ready()
        slack = Slack(fake, apps)  # type: ignore[arg-type]
        slack.probes = [probe]
        yield slack
        slack.client.close()
    finally:
        for app in apps:
            app.stop()
        if probe.probe_store is not None:
            probe.probe_store.dispose()
