"""People (bot/slack/people.py) on a SQLite store, without HTTP or Slack: what a
person's Home view is built from, and the Home publish queued in their own queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.flow.loader import FlowRegistry, load_flow
from bot.slack import people as people_module
from bot.slack.moves import Moves
from bot.slack.people import People
from bot.store import Store
from bot.store.models import TEAM as TEAM_KEY

TEAM, ALICE, BOB = "T1", "U0ALICE", "U0BOB"
FIRST_QUESTION = "Is this workload training or inference?"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(None, tmp_path)
    yield store
    store.dispose()


@pytest.fixture
def people(store: Store) -> People:
    flows = FlowRegistry([load_flow("llm_cost")])
    return People(store, flows, Moves(store, flows, flow_name="llm_cost", command="/llm-cost"))


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What People hands the Home view builder, each time it builds one."""
    calls: list[dict[str, Any]] = []

    def record(items, results, command, notice=None):  # type: ignore[no-untyped-def]
        calls.append({"items": items, "results": results, "command": command, "notice": notice})
        return {"type": "home", "blocks": []}

    monkeypatch.setattr(people_module, "home_view", record)
    return calls


def start(people: People, user: str, channel: str) -> str:
    found = people.moves.start(team=TEAM, channel=channel, user=user, response_url=None)
    assert found is not None
    return found


def test_home_lists_the_persons_open_conversations_with_the_question_each_waits_on(
    people: People, built: list[dict[str, Any]]
) -> None:
    mine = {start(people, ALICE, "C1"), start(people, ALICE, "C2")}
    start(people, BOB, "C1")  # someone else's: not on Alice's Home
    people.home_view(TEAM, ALICE, notice="Couldn't start: *why*")
    (call,) = built
    assert {item.conversation_id for item in call["items"]} == mine
    assert {item.channel for item in call["items"]} == {"C1", "C2"}
    assert all(item.question == FIRST_QUESTION for item in call["items"])
    assert call["results"] == [] and call["command"] == "/llm-cost"
    assert call["notice"] == "Couldn't start: *why*"


def test_a_link_slack_just_gave_shows_before_the_store_has_it(
    people: People, built: list[dict[str, Any]]
) -> None:
    cid = start(people, ALICE, "C1")
    people.home_view(TEAM, ALICE)
    people.home_view(TEAM, ALICE, links={cid: "https://fake.slack.com/archives/C1/p1"})
    before, after = ([item.permalink for item in call["items"]] for call in built)
    assert before == [None]
    assert after == ["https://fake.slack.com/archives/C1/p1"]


def test_show_home_queues_one_publish_in_the_persons_own_queue(
    people: People, store: Store
) -> None:
    queue = store.person_queue(TEAM, ALICE)
    people.show_home(team=TEAM, user=ALICE, seen="event:Ev1")
    people.show_home(team=TEAM, user=ALICE, seen="event:Ev1")  # Slack retried the event
    rows = store.outbox_rows(queue)
    assert [(r.kind, r.payload["user_id"]) for r in rows] == [("publish", ALICE)]
    assert store.outbox_rows(store.person_queue(TEAM, BOB)) == []


def test_a_publish_row_carries_the_view_built_when_it_was_queued(
    store: Store, tmp_path: Path
) -> None:
    """The sender only sends: the row holds the view, built from the store and the
    links Slack just gave (``links``), and a notice when there is one."""
    flows = FlowRegistry([load_flow("llm_cost")])
    fresh: dict[str, str] = {}
    moves = Moves(store, flows, flow_name="llm_cost", command="/llm-cost")
    people = People(store, flows, moves, links=lambda: dict(fresh))
    cid = start(people, ALICE, "C1")
    fresh[cid] = "https://fake.slack.com/archives/C1/p1"
    people.publish_home(team=TEAM, user=ALICE, notice="Couldn't start: *why*")
    (row,) = store.outbox_rows(store.person_queue(TEAM, ALICE))
    view = row.payload["view"]
    assert row.kind == "publish" and view["type"] == "home"
    assert FIRST_QUESTION in json.dumps(view)
    assert fresh[cid] in json.dumps(view) and "Couldn't start" in json.dumps(view)
    assert row.meta == {TEAM_KEY: TEAM}  # whose workspace: metadata, never sent
