"""Fixtures: the fake Slack, and the real app over HTTP on SQLite or PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.native_chart import BLOCK, MAX_AXIS_LABEL, MAX_CATEGORY, MAX_TITLE
from bot.testing.slack_api import FakeSlack
from tests.pg_server_lock import ServerLock
from tests.slack.harness import Slack, processes, running, settings_for
from tests.slack.schemas import SchemaPool
from tests.store.conftest import pg_admin, pg_server, pg_server_lock  # noqa: F401 - shared


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(team_id="T0001") as server:
        yield server


#: Run the `slack` fixture's PostgreSQL variant as two `python -m bot run` OS processes
#: (seconds to start per test) instead of two app instances in this process.
APP_PROCESSES = bool(os.environ.get("TEST_APP_PROCESSES"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql-2-apps", marks=pytest.mark.postgres)])
def slack(request: pytest.FixtureRequest, fake: FakeSlack, tmp_path: Path) -> Iterator[Slack]:
    """The real app over HTTP: in this process on a SQLite file, or two apps sharing one
    PostgreSQL database, requests alternating. The two apps are two Runtimes in this
    process, each with its own pool, deliverer and caches, so they meet only in the
    database, as replicas do (starting two OS processes per test cost most of the suite's
    time); with TEST_APP_PROCESSES=1 they are two `python -m bot run` processes. Tests of
    what only separate processes show (a process killed, its own log, its command line)
    start `processes()` themselves."""
    if request.param == "sqlite":
        with running(settings_for(fake, tmp_path / "data"), fake) as driver:
            yield driver
    elif APP_PROCESSES:
        url = request.getfixturevalue("pg_url")
        with processes(fake, url, tmp_path / "data") as driver:
            yield driver
    else:
        url = request.getfixturevalue("pg_url")
        settings = settings_for(fake, tmp_path / "data", database_url=url)
        with running(settings, fake, copies=2) as driver:
            yield driver
    assert_every_message_is_valid(fake)


def assert_every_message_is_valid(fake: FakeSlack) -> None:
    """Every message the app sent passes slack_sdk's Block Kit validation, has a text
    fallback and at most 50 blocks."""
    for call in fake.calls():
        if call.method == "views.publish":
            assert_valid_home_view(call.params["view"])
            continue
        if call.method not in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            continue
        params = call.params
        assert (params.get("text") or "").strip(), f"{call.method} without a text fallback"
        found = params.get("blocks") or []
        assert len(found) <= 50, f"{call.method} with {len(found)} blocks"
        assert sum(b.get("type") == BLOCK for b in found) <= 2, "over two charts"
        for block in found:
            if block.get("type") == BLOCK:  # slack_sdk 3.48 has no model for it
                assert_valid_native_chart(block)
                continue
            Block.parse(block).validate_json()
            Block.parse(block).to_dict()  # also checks the lengths validate_json() skips


def assert_valid_native_chart(block: dict) -> None:
    """A data_visualization bar chart within the block's documented limits."""
    assert block["type"] == BLOCK and 0 < len(block["title"]) <= MAX_TITLE
    chart = block["chart"]
    assert chart["type"] == "bar" and 1 <= len(chart["series"]) <= 6
    categories = chart["axis_config"]["categories"]
    assert 1 <= len(categories) <= 20 and all(0 < len(c) <= MAX_CATEGORY for c in categories)
    for key in ("x_label", "y_label"):
        assert len(chart["axis_config"].get(key, "")) <= MAX_AXIS_LABEL
    for series in chart["series"]:
        assert [p["label"] for p in series["data"]] == categories
        assert all(isinstance(p["value"], int | float) for p in series["data"])


def assert_valid_home_view(view: dict | str) -> None:
    """A Home view passes slack_sdk's validation, every block's too, at most 100 blocks."""
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100, f"a Home view with {len(view['blocks'])} blocks"
    View(**view).validate_json()
    for block in view["blocks"]:
        Block.parse(block).validate_json()
        Block.parse(block).to_dict()


@pytest.fixture(scope="session")
def pg_schemas(
    pg_server: tuple[str, sa.Engine],  # noqa: F811
    pg_server_lock: ServerLock,  # noqa: F811
) -> Iterator[SchemaPool]:
    """This test process's PostgreSQL schemas, emptied between tests."""
    pool = SchemaPool(pg_server[1], pg_server_lock)
    yield pool
    pool.close()


@pytest.fixture
def pg_url(pg_admin: tuple[str, sa.Engine], pg_schemas: SchemaPool) -> Iterator[str]:  # noqa: F811
    """A PostgreSQL URL whose connections use a schema of their own, empty of rows (the
    app's tables may be there already, at the newest revision: tests/slack/schemas.py)."""
    url, _ = pg_admin
    schema = pg_schemas.take()
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    pg_schemas.give_back(schema)
