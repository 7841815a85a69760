"""The loopback Slack Web API fake, driven by a real slack_sdk.WebClient."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.testing.slack_api import FakeSlack, FakeSlackRemote

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Which workload?*"}}]


@pytest.fixture
def fake():
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return fake.client(timeout=5)


def test_base_url_and_auth_test(fake: FakeSlack, client: WebClient):
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/api/"
    resp = client.auth_test()
    assert resp["user_id"] == "U0BOT" and resp["bot_id"] == "B0BOT"
    assert resp["team_id"] == "T0FAKE" and resp["is_enterprise_install"] is False
    (call,) = fake.calls("auth.test")
    assert call.token == "xoxb-test" and call.status == 200
    assert call.headers["Authorization"] == "Bearer xoxb-test"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_bolt_app_constructs_against_fake(fake: FakeSlack, client: WebClient):
    from slack_bolt import App

    app = App(client=client, signing_secret="s3cret")
    assert app.client is client
    assert [c.method for c in fake.calls()] == ["auth.test"]


def test_post_message_json_params_and_unique_increasing_ts(fake: FakeSlack, client: WebClient):
    r1 = client.chat_postMessage(channel="C1", text="first", blocks=BLOCKS)
    r2 = client.chat_postMessage(channel="C1", text="second")
    assert r1["ok"] and r1["channel"] == "C1"
    assert float(r2["ts"]) > float(r1["ts"]) and r1["ts"] == "1700000000.000100"
    assert r1["message"]["blocks"] == BLOCKS and r1["message"]["bot_id"] == "B0BOT"
    call = fake.calls("chat.postMessage")[0]
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.params == {"channel": "C1", "text": "first", "blocks": BLOCKS}
    assert fake.message("C1", r1["ts"])["text"] == "first"


def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: WebClient):
    client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "t", "blocks": json.dumps(BLOCKS)}
    )
    call = fake.calls("chat.postMessage")[0]
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.params["blocks"] == BLOCKS and call.ok


def test_thread_update_and_messages_in_thread(fake: FakeSlack, client: WebClient):
    parent = client.chat_postMessage(channel="C1", text="Q1")["ts"]
    reply = client.chat_postMessage(channel="C1", text="Q2", thread_ts=parent)
    assert reply["message"]["thread_ts"] == parent
    assert reply["message"]["parent_user_id"] == "U0BOT"
    client.chat_postMessage(channel="C2", text="elsewhere", thread_ts=parent)
    client.chat_update(channel="C1", ts=reply["ts"], text="Q2 answered", blocks=BLOCKS)
    thread = fake.messages_in_thread("C1", parent)
    assert [m["text"] for m in thread] == ["Q1", "Q2 answered"]
    assert thread[1]["blocks"] == BLOCKS and "edited" in thread[1]
    # blocks are kept when an update gives only text
    client.chat_update(channel="C1", ts=reply["ts"], text="again")
    assert fake.message("C1", reply["ts"])["blocks"] == BLOCKS


@pytest.mark.parametrize(
    ("method", "kwargs", "error"),
    [
        ("chat_postMessage", {"channel": "", "text": "x"}, "channel_not_found"),
        ("chat_postMessage", {"channel": "C1"}, "no_text"),
        ("chat_update", {"channel": "C1", "ts": "1.000001", "text": "x"}, "message_not_found"),
        ("pins_add", {"channel": "C1", "timestamp": "1.000001"}, "message_not_found"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_api_errors(fake: FakeSlack, client: WebClient, method, kwargs, error):
    with pytest.raises(SlackApiError) as exc:
        getattr(client, method)(**kwargs)
    assert exc.value.response["error"] == error and exc.value.response.status_code == 200
    assert fake.calls()[-1].error == error


def test_pins_ephemeral_info_and_unknown_method(fake: FakeSlack, client: WebClient):
    ts = client.chat_postMessage(channel="C1", text="Result")["ts"]
    assert client.pins_add(channel="C1", timestamp=ts)["ok"]
    with pytest.raises(SlackApiError) as exc:
        client.pins_add(channel="C1", timestamp=ts)
    assert exc.value.response["error"] == "already_pinned"
    assert fake.pins("C1") == [ts]
    assert [i["message"]["ts"] for i in client.pins_list(channel="C1")["items"]] == [ts]
    eph = client.chat_postEphemeral(channel="C1", user="U1", text="Stale click")
    assert eph["message_ts"] and fake.ephemerals(user="U1")[0]["text"] == "Stale click"
    assert client.conversations_info(channel="C1")["channel"]["is_member"] is True
    with pytest.raises(SlackApiError) as exc:
        client.api_call("nope.nothing")
    assert exc.value.response["error"] == "unknown_method"
    assert fake.calls("nope.nothing")[0].status == 200
    assert fake.stats()["pins.add"] == 2


def test_auth_errors(fake: FakeSlack):
    with pytest.raises(SlackApiError) as exc:
        fake.client(token=None).auth_test()
    assert exc.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as exc:
        fake.client(token="xoxp-user").chat_postMessage(channel="C1", text="x")
    assert exc.value.response["error"] == "invalid_auth"
    with FakeSlack(allowed_tokens={"xoxb-good"}) as strict:
        assert strict.client(token="xoxb-good").auth_test()["ok"]
        with pytest.raises(SlackApiError) as exc:
            strict.client(token="xoxb-other").auth_test()
        assert exc.value.response["error"] == "invalid_auth"


def test_429_raises_with_retry_after_and_changes_nothing(fake: FakeSlack, client: WebClient):
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    resp = exc.value.response
    assert resp.status_code == 429 and resp["error"] == "ratelimited"
    assert resp.headers["Retry-After"] == "7" and resp.headers["retry-after"] == "7"
    assert fake.messages() == [] and fake.calls()[0].status == 429
    assert client.chat_postMessage(channel="C1", text="x")["ok"]  # consumed


def test_429_is_retried_by_slack_sdk_handler(fake: FakeSlack):
    client = fake.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    fake.fail_next("chat.postMessage", status=429, retry_after=0)  # handler sleeps 0 + rand()
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c.status for c in fake.calls()] == [429, 200]


@pytest.mark.parametrize("status", [500, 503])
def test_server_error(fake: FakeSlack, client: WebClient, status):
    fake.fail_next("chat.update", status=status)
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C1", ts="1.1", text="x")
    assert exc.value.response.status_code == status
    assert fake.calls()[0].status == status


def test_error_code_only_in_one_channel(fake: FakeSlack, client: WebClient):
    fake.fail_next("chat.postMessage", error="not_in_channel", channel="C2", times=2)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C2", text="x")
        assert exc.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C2", text="x")["ok"]
    assert len(fake.messages()) == 2


def test_remove_bot_from_channel(fake: FakeSlack, client: WebClient):
    fake.remove_bot_from("C9")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C9", text="x")
    assert exc.value.response["error"] == "not_in_channel"
    assert client.conversations_info(channel="C9")["channel"]["is_member"] is False


def test_delay_slow_success_and_client_timeout(fake: FakeSlack):
    fake.fail_next("chat.postMessage", delay=0.3)
    t0 = time.monotonic()
    assert fake.client().chat_postMessage(channel="C1", text="slow")["ok"]
    assert time.monotonic() - t0 >= 0.3
    fake.fail_next("chat.postMessage", delay=0.4)
    with pytest.raises(TimeoutError):
        fake.client(timeout=0.1).chat_postMessage(channel="C1", text="timed out")
    # the server still applies the call after its delay, as Slack would
    fake.wait_for(lambda c: c.params.get("text") == "timed out")
    assert [m["text"] for m in fake.messages("C1")] == ["slow", "timed out"]


def test_fail_for_then_recovers(fake: FakeSlack, client: WebClient):
    fake.fail_for("pins.add", 0.3, status=503)
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.pins_add(channel="C1", timestamp=ts)
    time.sleep(0.35)
    assert client.pins_add(channel="C1", timestamp=ts)["ok"]
    assert [c.status for c in fake.calls("pins.add")] == [503, 503, 200]


def test_rate_limit_mode_per_channel():
    with FakeSlack(rate_limit_per_channel=1.0) as fake:
        client = fake.client()
        assert client.chat_postMessage(channel="C1", text="1")["ok"]
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="2")
        assert exc.value.response.status_code == 429
        assert exc.value.response.headers["Retry-After"] == "1"
        assert client.chat_postMessage(channel="C2", text="1")["ok"]
        assert client.chat_update(channel="C1", ts=fake.messages("C1")[0]["ts"], text="u")["ok"]
    with FakeSlack(rate_limit_per_channel=20.0, rate_limit_retry_after=0) as fast:
        client = fast.client()
        client.chat_postMessage(channel="C1", text="1")
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="2")
        assert exc.value.response.headers["Retry-After"] == "0"
        time.sleep(0.06)
        assert client.chat_postMessage(channel="C1", text="3")["ok"]


def test_wait_for(fake: FakeSlack, client: WebClient):
    threading.Timer(0.1, lambda: client.chat_postMessage(channel="C1", text="late")).start()
    (call,) = fake.wait_for("chat.postMessage", timeout=2)
    assert call.params["text"] == "late"
    assert fake.wait_for(lambda c: c.params.get("channel") == "C1")[0] is call
    with pytest.raises(AssertionError, match=r"2 call\(s\) of chat.postMessage.*received 1"):
        fake.wait_for("chat.postMessage", count=2, timeout=0.1)


def test_response_url(fake: FakeSlack):
    url = fake.response_url("abc123")
    assert url == f"http://127.0.0.1:{fake.port}/response/abc123"
    webhook = WebhookClient(url)
    webhook.proxy = None
    resp = webhook.send(text="Invite me with /invite @llmcost", response_type="ephemeral")
    assert resp.status_code == 200
    (call,) = fake.calls("response_url")
    assert call.token == "abc123" and call.params["response_type"] == "ephemeral"
    assert call.params["text"].startswith("Invite me")


def test_clear_and_reset(fake: FakeSlack, client: WebClient):
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    fake.clear()
    assert fake.calls() == [] and fake.message("C1", ts) is not None
    fake.fail_next("auth.test", error="fatal_error")
    fake.reset()
    assert fake.message("C1", ts) is None and client.auth_test()["ok"]


def test_standalone_process():
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.testing.slack_api", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:") and line.endswith("/api/")
        base_url = line.split(" ", 1)[1]
        client = WebClient(token="xoxb-test", base_url=base_url)
        client.proxy = None
        remote = FakeSlackRemote(base_url)
        assert client.chat_postMessage(channel="C1", text="from bench")["ok"]
        (call,) = remote.calls(method="chat.postMessage")
        assert call["params"]["text"] == "from bench" and call["index"] == 0
        assert remote.calls(since=1) == []
        remote.fail_next("chat.postMessage", status=429)
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="x")
        assert exc.value.response.status_code == 429
        assert remote.stats() == {"chat.postMessage": 2}
        remote.reset()
        assert remote.calls() == []
        remote.close()
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert proc.returncode == 0


def test_oauth_codes_are_exchanged_once_and_refresh_tokens_rotate() -> None:
    from slack_sdk.errors import SlackApiError

    with FakeSlack() as fake:
        oauth = fake.oauth
        client = fake.client(token=None)  # type: ignore[arg-type]
        creds = {"client_id": oauth.client_id, "client_secret": oauth.client_secret}
        oauth.grant("c1", "T0AAAA", expires_in=3600)
        first = client.oauth_v2_access(code="c1", **creds)
        assert first["access_token"] == "xoxb-T0AAAA-1" and first["expires_in"] == 3600
        with pytest.raises(SlackApiError, match="invalid_code"):
            client.oauth_v2_access(code="c1", **creds)  # a code is good once
        with pytest.raises(SlackApiError, match="invalid_client_id"):
            client.oauth_v2_access(code="c1", client_id=oauth.client_id, client_secret="x")
        rotated = client.oauth_v2_access(
            grant_type="refresh_token", refresh_token=first["refresh_token"], **creds
        )
        assert rotated["access_token"] == "xoxb-T0AAAA-2"
        assert fake.client(token="xoxb-T0AAAA-2").auth_test()["team_id"] == "T0AAAA"
        oauth.uninstall("T0AAAA")
        with pytest.raises(SlackApiError, match="token_revoked"):
            fake.client(token="xoxb-T0AAAA-1").auth_test()
