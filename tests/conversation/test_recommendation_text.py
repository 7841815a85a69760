"""A recommendation's facts as words (bot/conversation/recommendation_text.py), on the shipped flow:
each line with the catalogue source it rests on, prices read from the catalogue, and a
terminal's plain form of them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation import Advanced, Conversation
from bot.conversation.recommendation import Recommendation, RecommendedNode
from bot.conversation.recommendation_text import (
    Sourced,
    claim,
    claim_text,
    plain,
    price_lines,
    prices,
)
from bot.flow.loader import load_flow
from bot.flow.words import Fact

FLOW = load_flow()
CATALOGUE = FLOW.catalogue


def recommendation(*replies: str) -> Recommendation:
    conversation = Conversation.start(FLOW)
    for reply in replies:
        assert isinstance(conversation.answer(reply), Advanced), reply
    found = conversation.recommendation()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def archive() -> Recommendation:
    """Training a trillion-parameter model, kept in S3 Glacier."""
    return recommendation("Training", "Trillion+ params", "Archive")


def test_a_claim_with_a_caveat_carries_it_on_its_line_and_its_source(
    archive: Recommendation,
) -> None:
    node = archive.instance
    assert node.details is not None
    with_caveat = [(line, c) for line, c in node.details.claims.items() if c.caveat]
    assert with_caveat, "the P6e node has a claim with a caveat"
    for line, said in with_caveat:
        assert claim(node, line) == Sourced(f"{line} ({said.caveat})", said.source)
        assert claim_text(node, line) == f"{line} ({said.caveat})"


def test_a_line_the_words_file_says_nothing_about_is_the_flowcharts_own(
    archive: Recommendation,
) -> None:
    node = archive.instance
    assert claim(node, "a line of nobody's") == Sourced("a line of nobody's", None)
    bare = RecommendedNode(node.node, None)
    line = next(iter(node.details.claims)) if node.details else "x"
    assert claim(bare, line) == Sourced(line, None)


def test_a_services_prices_are_every_charge_in_the_catalogue_with_its_source(
    archive: Recommendation,
) -> None:
    storage = archive.follow_up
    assert storage.details is not None and storage.details.services
    expected = [
        Sourced(f"{s.name}, {c.what}: ${c.usd:g} per {c.per}", c.source)
        for s in (CATALOGUE.services[n] for n in storage.details.services)
        for c in s.charges
    ]
    assert expected and prices(storage, CATALOGUE) == expected


def test_an_instances_prices_name_where_each_price_holds(archive: Recommendation) -> None:
    node = archive.instance
    assert node.details is not None
    found = prices(node, CATALOGUE)
    for name in node.details.instances:
        instance = CATALOGUE.instances[name]
        for kind, price in (
            ("on demand", instance.on_demand),
            ("as a Capacity Block", instance.capacity_block),
        ):
            if price is None:
                assert not any(kind in p.text and p.text.startswith(name) for p in found)
                continue
            line = f"{name}: ${price.usd_per_hour:g}/hr {kind} ({price.where})"
            assert Sourced(line, price.source) in found


def test_a_node_without_details_costs_nothing_it_can_say(archive: Recommendation) -> None:
    assert prices(RecommendedNode(archive.instance.node, None), CATALOGUE) == []


def test_the_words_files_price_note_comes_last(archive: Recommendation) -> None:
    storage = archive.follow_up
    assert storage.details is not None
    note = Fact(text="about $1 a month", source="s3-pricing")
    priced = replace(storage, details=storage.details.model_copy(update={"price": note}))
    found = prices(priced, CATALOGUE)
    assert found[-1] == Sourced("about $1 a month", "s3-pricing")
    assert found[:-1] == prices(storage, CATALOGUE)


def test_terminal_price_lines_end_with_their_sources_url(archive: Recommendation) -> None:
    for node in archive.nodes:
        shown = prices(node, CATALOGUE)
        lines = price_lines(node, CATALOGUE)
        assert len(lines) == len(shown)
        for price, line in zip(shown, lines, strict=True):
            assert price.source is not None
            url = CATALOGUE.url(price.source)
            assert url.startswith("https://")
            assert line == f"{price.text} [{url}]"


def test_plain_drops_mrkdwn_backticks_only() -> None:
    assert plain("run `python -m bot prices refresh` <now> & *then*") == (
        "run python -m bot prices refresh <now> & *then*"
    )
