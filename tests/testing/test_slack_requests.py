"""Signed Slack request builders, checked against slack_sdk and a real Bolt app."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import (
    SlackClientSim,
    block_actions_body,
    message_event,
    message_event_body,
    sign,
    slash_command_body,
    url_verification_body,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLASH_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
]


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


@pytest.mark.parametrize(
    "body",
    [
        slash_command_body(text="a & b"),
        block_actions_body(action_id="a", value="v", block_id="b", message_ts="1.2"),
        message_event_body(text="hi <!channel>", user_id="U1", channel_id="C1", ts="1.2"),
    ],
)
def test_signature_verifies_with_slack_sdk(body: bytes):
    verifier = SignatureVerifier(SECRET)
    headers = sign(body, SECRET)
    ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert sig.startswith("v0=") and abs(int(ts) - time.time()) < 5
    assert verifier.is_valid(body, ts, sig)
    assert verifier.is_valid_request(body, {k.lower(): v for k, v in headers.items()})
    assert not SignatureVerifier("other").is_valid(body, ts, sig)
    stale = sign(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)
    expected = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    assert headers["Content-Type"] == expected


def test_sign_is_deterministic_for_a_timestamp():
    assert sign(b"x=1", "s", 1531420618) == sign(b"x=1", "s", 1531420618)
    assert sign(b"x=1", "s", 1531420618)["X-Slack-Request-Timestamp"] == "1531420618"


def test_slash_command_body_has_every_field():
    body = slash_command_body("/llm-cost", "help me", response_url="http://127.0.0.1:1/r/x")
    keys = [k for k, _ in (pair.split("=", 1) for pair in body.decode().split("&"))]
    assert keys == SLASH_FIELDS
    form = _form(body)
    assert form["command"] == "/llm-cost" and form["text"] == "help me"
    assert form["team_id"] == "T0001" and form["is_enterprise_install"] == "false"
    assert form["response_url"] == "http://127.0.0.1:1/r/x" and form["trigger_id"].count(".") == 2
    assert _form(slash_command_body())["response_url"].startswith("http://127.0.0.1:9/")
    grid = _form(slash_command_body(enterprise_id="E1"))
    assert grid["enterprise_id"] == "E1" and "enterprise_name" in grid


def test_block_actions_body_parses_back():
    blocks = [{"type": "actions", "block_id": "q1", "elements": []}]
    body = block_actions_body(
        action_id="answer",
        value="conv-1:3:yes",
        block_id="q1",
        message_ts="1700000000.000200",
        channel_id="C9",
        user_id="U9",
        team_id="T9",
        thread_ts="1700000000.000100",
        message_blocks=blocks,
        response_url="http://127.0.0.1:1/response/t",
        button_text="Yes",
    )
    form = parse_qs(body.decode())
    assert list(form) == ["payload"]
    p = json.loads(form["payload"][0])
    assert p["type"] == "block_actions"
    assert p["user"] == {"id": "U9", "username": "ada", "name": "ada", "team_id": "T9"}
    assert p["container"] == {
        "type": "message",
        "message_ts": "1700000000.000200",
        "channel_id": "C9",
        "is_ephemeral": False,
        "thread_ts": "1700000000.000100",
    }
    assert p["team"] == {"id": "T9", "domain": "acme"} and p["channel"]["id"] == "C9"
    msg = p["message"]
    assert msg["ts"] == "1700000000.000200" and msg["thread_ts"] == "1700000000.000100"
    assert msg["bot_id"] == "B0BOT" and msg["blocks"] == blocks and msg["type"] == "message"
    assert p["state"] == {"values": {}} and p["response_url"] == "http://127.0.0.1:1/response/t"
    (action,) = p["actions"]
    assert action["action_id"] == "answer" and action["value"] == "conv-1:3:yes"
    assert action["block_id"] == "q1" and action["type"] == "button"
    assert action["text"] == {"type": "plain_text", "text": "Yes", "emoji": True}
    assert float(action["action_ts"]) > 0
    assert {"api_app_id", "token", "trigger_id"} <= p.keys()
    top = json.loads(_form(block_actions_body(**_ba()))["payload"])
    assert "thread_ts" not in top["container"] and "thread_ts" not in top["message"]


def _ba(**kw):
    return {"action_id": "a", "value": "v", "block_id": "b", "message_ts": "1.000100", **kw}


def test_message_event_body_shape():
    body = json.loads(
        message_event_body(
            text="yes", user_id="U1", channel_id="C1", ts="1700000001.000100", thread_ts="1.5"
        )
    )
    assert body["type"] == "event_callback" and body["event_id"].startswith("Ev")
    ev = body["event"]
    assert ev["type"] == "message" and ev["thread_ts"] == "1.5" and ev["parent_user_id"] == "U0BOT"
    assert ev["event_ts"] == ev["ts"] and ev["channel_type"] == "channel" and ev["client_msg_id"]
    assert "subtype" not in ev and "bot_id" not in ev
    assert body["authorizations"][0]["user_id"] == "U0BOT"
    assert body["authorizations"][0]["is_bot"] is True
    assert body["is_ext_shared_channel"] is False and body["event_context"]
    ids = {
        json.loads(message_event_body(text="x", user_id="U", channel_id="C", ts="1.1"))["event_id"]
        for _ in range(50)
    }
    assert len(ids) == 50
    bot = json.loads(
        message_event_body(
            text="x", user_id="U0BOT", channel_id="C", ts="1.1", bot_id="B0", subtype="bot_message"
        )
    )["event"]
    assert bot["bot_id"] == "B0" and bot["subtype"] == "bot_message" and "client_msg_id" not in bot
    given = json.loads(
        message_event_body(text="x", user_id="U", channel_id="C", ts="1.1", event_id="Ev1")
    )
    assert given["event_id"] == "Ev1"


def test_url_verification_body():
    assert json.loads(url_verification_body("abc")) == {
        "token": "fake-verification-token",
        "challenge": "abc",
        "type": "url_verification",
    }


# --------------------------------------------------------------------------- Bolt round trip


class _BoltHTTP(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app: App

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        resp = self.app.dispatch(BoltRequest(body=raw.decode(), headers=headers))
        out = (resp.body or "").encode()
        self.send_response(resp.status)
        for name, values in resp.headers.items():
            if name.lower() != "content-length":
                for value in values:
                    self.send_header(name, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture
def bolt() -> Iterator[tuple[str, dict[str, list]]]:
    seen: dict[str, list] = {"command": [], "action": [], "message": []}
    with FakeSlack() as fake:
        app = App(client=fake.client(), signing_secret=SECRET, process_before_response=True)

        @app.command("/llm-cost")
        def _command(ack, body):
            ack()
            seen["command"].append(body)

        @app.action("answer")
        def _action(ack, body):
            ack()
            seen["action"].append(body)

        @app.event("message")
        def _message(event, request):
            seen["message"].append((event, request.headers.get("x-slack-retry-num")))

        handler = type("H", (_BoltHTTP,), {"app": app})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/slack/events", seen
        finally:
            server.shutdown()
            server.server_close()


def test_bolt_accepts_every_body_over_one_connection(bolt):
    url, seen = bolt
    with SlackClientSim() as sim:
        status, _, body = sim.post(url, url_verification_body("chal"), secret=SECRET)
        assert status == 200 and json.loads(body) == {"challenge": "chal"}
        status, _, _ = sim.post(url, slash_command_body(text="start"), secret=SECRET)
        assert status == 200 and seen["command"][0]["text"] == "start"
        ba = block_actions_body(**_ba(action_id="answer", value="c1:1:yes"))
        assert sim.post(url, ba, secret=SECRET)[0] == 200
        assert seen["action"][0]["actions"][0]["value"] == "c1:1:yes"
        assert seen["action"][0]["container"]["message_ts"] == "1.000100"
        ev = message_event_body(
            text="yes", user_id="U1", channel_id="C1", ts="2.1", thread_ts="1.1"
        )
        assert sim.post(url, ev, secret=SECRET, retry_num=1, retry_reason="http_timeout")[0] == 200
        own = message_event_body(
            text="me", user_id="U0BOT", channel_id="C1", ts="2.2", bot_id="B0BOT"
        )
        assert sim.post(url, own, secret=SECRET)[0] == 200  # Bolt drops the app's own events
        assert [(e["text"], retry) for e, retry in seen["message"]] == [("yes", ["1"])]
        status, _, body = sim.post(url, slash_command_body(), secret="wrong")
        assert status == 401 and json.loads(body) == {"error": "invalid request"}
        assert sim.connects == 1


class _ClosingHandler(BaseHTTPRequestHandler):
    """Answers keep-alive style, then drops the connection without saying so."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.close_connection = True


def test_sim_reconnects_after_server_drops_idle_connection():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosingHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with SlackClientSim() as sim:
            url = f"http://127.0.0.1:{server.server_port}/slack/events"
            for _ in range(3):
                time.sleep(0.02)  # let the server's close reach us
                assert sim.post(url, b"a=1", secret=SECRET)[2] == b"ok"
            assert sim.connects == 3
    finally:
        server.shutdown()
        server.server_close()


def test_typed_text_is_escaped_as_slack_escapes_it() -> None:
    event = message_event(text="< 100ms & <b>", user_id="U1", channel_id="C1", ts="1.2")
    assert event["event"]["text"] == "&lt; 100ms &amp; &lt;b&gt;"
    assert _form(slash_command_body(text="a<b"))["text"] == "a&lt;b"
