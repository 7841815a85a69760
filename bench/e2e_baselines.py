"""Baseline Slack apps for `bench/e2e.py`, as WSGI apps gunicorn can load.

    gunicorn -c python:bench.e2e_gunicorn_conf bench.e2e_baselines:bare_pbr
    gunicorn -c python:bench.e2e_gunicorn_conf bench.e2e_baselines:bare_default
    gunicorn -c python:bench.e2e_gunicorn_conf bench.e2e_baselines:naive

Configured from the same environment variables as the app: SLACK_BOT_TOKEN,
SLACK_SIGNING_SECRET, SLACK_API_URL, DATA_DIR, SLACK_COMMAND, FLOWS_DIR,
FLOW_NAME. Each serves POST /slack/events and GET /healthz like the app.

* ``bare_pbr``: a bare Bolt app whose listeners only ack,
  ``process_before_response=True``.
* ``bare_default``: the same in Bolt's default mode (the listener runs in Bolt's
  executor and the request thread polls for the ack every 10 ms).
* ``naive``: the same flowchart and Block Kit messages as the app, the way Bolt's
  samples do it: default mode, ``ack()`` first, then the listener loads the record
  from a simple SQLite table (one row of JSON per conversation), moves it,
  saves it and calls Slack synchronously (chat.postMessage / chat.update /
  pins.add) in the listener. No outbox, no exactly-once, no retries.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

EVENTS_PATH = "/slack/events"
Wsgi = Callable[[dict, Callable], Iterable[bytes]]


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"{name} is not set")
    return value


def _client() -> WebClient:
    base_url = os.environ.get("SLACK_API_URL") or "https://slack.com/api/"
    client = WebClient(token=_env("SLACK_BOT_TOKEN"), base_url=base_url, timeout=10)
    client.proxy = None  # loopback only
    return client


def _wsgi(app: App) -> Wsgi:
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            return bolt(environ, start_response)
        if path == "/healthz":
            body = b'{"ok": true}'
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start_response("200 OK", headers)
            return [body]
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]

    return application


# ---- (a) and (b): listeners that only ack ----------------------------------------------


def build_bare(process_before_response: bool) -> Wsgi:
    app = App(
        client=_client(),
        signing_secret=_env("SLACK_SIGNING_SECRET"),
        process_before_response=process_before_response,
    )

    @app.command(re.compile(".*"))
    def on_command(ack) -> None:
        ack()

    @app.action(re.compile(".*"))
    def on_action(ack) -> None:
        ack()

    @app.event("message")
    def on_message() -> None:  # events are acked by Bolt
        return

    return _wsgi(app)


# ---- (c): the naive bot --------------------------------------------------------------------


class NaiveDB:
    """One table: conversation id -> channel, root ts, user and the record's JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        with self._conn() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, "
                "channel TEXT NOT NULL, thread_ts TEXT, user TEXT NOT NULL, record TEXT NOT NULL)"
            )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    def insert(self, cid: str, channel: str, thread_ts: str, user: str, record: str) -> None:
        self._conn().execute(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
            (cid, channel, thread_ts, user, record),
        )

    def load(self, cid: str) -> tuple[str, str, str, str] | None:
        return (
            self._conn()
            .execute(
                "SELECT channel, thread_ts, user, record FROM conversations WHERE id = ?", (cid,)
            )
            .fetchone()
        )

    def save(self, cid: str, record: str) -> None:
        self._conn().execute("UPDATE conversations SET record = ? WHERE id = ?", (record, cid))


def build_naive() -> Wsgi:
    from bot.conversation import Advanced, Conversation
    from bot.flow.loader import DEFAULT_FLOW, DEFAULT_FLOWS_DIR, FlowRegistry, load_flow
    from bot.slack import blocks

    flow = load_flow(
        os.environ.get("FLOW_NAME") or DEFAULT_FLOW,
        Path(os.environ.get("FLOWS_DIR") or DEFAULT_FLOWS_DIR),
    )
    flows = FlowRegistry([flow])
    data_dir = Path(os.environ.get("DATA_DIR") or "data")
    data_dir.mkdir(parents=True, exist_ok=True)
    db = NaiveDB(data_dir / "naive.sqlite3")
    app = App(client=_client(), signing_secret=_env("SLACK_SIGNING_SECRET"))

    @app.command(os.environ.get("SLACK_COMMAND") or "/llm-cost")
    def on_command(ack, command: dict, client: WebClient) -> None:
        ack()
        channel, user = command["channel_id"], command["user_id"]
        conversation = Conversation.start(flow)
        cid = uuid.uuid4().hex
        root = client.chat_postMessage(channel=channel, **blocks.root_message(user, flow.title))
        db.insert(cid, channel, root["ts"], user, conversation.dump())
        question = conversation.question()
        assert question is not None
        client.chat_postMessage(
            channel=channel,
            thread_ts=root["ts"],
            **blocks.question_message(question, cid, conversation.step, conversation.progress()),
        )

    @app.action(re.compile("^" + re.escape(blocks.ANSWER_ACTION)))
    def on_click(ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        parts = str(action.get("value") or "").split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            return
        cid, step, choice = parts[0], int(parts[1]), int(parts[2])
        found = db.load(cid)
        if found is None:
            return
        channel, root_ts, starter, record = found
        user = body["user"]["id"]
        conversation = Conversation.restore(flows, json.loads(record))
        if step != conversation.step or user != starter:
            return
        result = conversation.answer(choice, user=user)
        if not isinstance(result, Advanced):
            return
        db.save(cid, conversation.dump())
        number = len(conversation.record.answers)
        client.chat_update(
            channel=channel,
            ts=body["container"]["message_ts"],
            **blocks.closed_message(
                result.question.text, number, f"<@{user}> chose *{result.answer.option}*"
            ),
        )
        question = conversation.question()
        if question is not None:
            client.chat_postMessage(
                channel=channel,
                thread_ts=root_ts,
                **blocks.question_message(
                    question, cid, conversation.step, conversation.progress()
                ),
            )
            return
        recommendation = conversation.recommendation()
        if recommendation is None:
            return
        client.chat_postMessage(
            channel=channel,
            thread_ts=root_ts,
            **blocks.recommendation_message(recommendation, cid, conversation.step, starter),
        )
        client.chat_update(
            channel=channel,
            ts=root_ts,
            **blocks.recommendation_message(recommendation, user=starter),
        )
        client.pins_add(channel=channel, timestamp=root_ts)

    @app.action(re.compile(".*"))
    def on_other_click(ack) -> None:
        ack()

    @app.event("message")
    def on_message() -> None:
        return

    return _wsgi(app)


# ---- lazily built WSGI entry points ------------------------------------------------------


class _Lazy:
    """A WSGI callable that builds its app once per process (first request or warm())."""

    def __init__(self, build: Callable[[], Wsgi]) -> None:
        self._build = build
        self._app: Wsgi | None = None
        self._lock = threading.Lock()

    def warm(self) -> Wsgi:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._build()
        return self._app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        return (self._app or self.warm())(environ, start_response)


bare_pbr = _Lazy(lambda: build_bare(True))
bare_default = _Lazy(lambda: build_bare(False))
naive = _Lazy(build_naive)
APPS = {"bare_pbr": bare_pbr, "bare_default": bare_default, "naive": naive}
