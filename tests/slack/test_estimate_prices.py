"""Issue 17 in Slack: the card names the Region, the purchase option and the prices'
date, shows the API alternative when serving, picks up refreshed prices without a
restart, and re-prices in a Region a person names; a Region with no price says so."""

from __future__ import annotations

import datetime as dt

from bot.pricing.model import Purchase, Quote
from bot.pricing.stored import save
from tests.slack.harness import ALICE, CHANNEL, Slack, text_of
from tests.slack.test_estimate import estimate_posts, reply
from tests.slack.test_estimate_kinds import estimate_after

SERVING = ("Inference", "Standard 100-500ms", "Throughput", "No Cache")  # Inf2


def refresh(slack: Slack, usd_per_hour: float) -> None:
    """What `python -m bot prices refresh` stores, for eu-west-1, as another process would."""
    quotes = [
        Quote(
            name,
            "eu-west-1",
            Purchase.ON_DEMAND,
            usd_per_hour * size,
            dt.date(2026, 11, 27),
            "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/eu-west-1/index.json",
            "AWS Price List, EC2, EU (Ireland)",
        )
        for name, size in (("inf2.xlarge", 1), ("inf2.48xlarge", 12))
    ]
    save((slack.probes or slack.apps)[0].runtime.store.engine, quotes, "offer file")


def test_the_card_names_region_option_and_date_and_the_api_alternative(slack: Slack) -> None:
    estimate_after(slack, *SERVING)
    reply(slack, "8B")
    reply(slack, "100M tokens a day")
    (card,) = estimate_posts(slack)
    text = text_of(card)
    assert "Priced in us-east-1, on-demand; prices as of 2026-09-19" in text
    assert "API alternative: Llama 3.1 8B Instruct on Amazon Bedrock, about $" in text


def test_a_region_named_under_the_estimate_reprices_it_with_refreshed_prices(
    slack: Slack,
) -> None:
    estimate_after(slack, *SERVING)
    reply(slack, "8B")
    reply(slack, "100M tokens a day")
    reply(slack, "in Frankfurt")  # nothing is priced there yet
    said = text_of(slack.fake.ephemerals(CHANNEL, ALICE)[-1])
    assert "None of these offerings has a price in eu-central-1" in said
    assert "us-east-1" in said
    refresh(slack, 0.9)  # no restart: the next estimate reads it
    reply(slack, "what about eu-west-1?")
    first, second = estimate_posts(slack)
    text = text_of(second)
    assert "Priced in eu-west-1, on-demand; prices as of 2026-11-27" in text
    assert "AWS Price List, EC2, EU (Ireland)" in text
    assert "Left out: no on-demand price for inf2.8xlarge in eu-west-1" in text
    assert "eu-west-1" not in text_of(first)


def test_the_card_names_the_cheapest_sensible_purchase_for_the_path(slack: Slack) -> None:
    estimate_after(slack, "Training", "10-100B params", "Checkpoints")
    reply(slack, "70B on 2T tokens")
    (card,) = estimate_posts(slack)
    text = text_of(card)
    # checkpointed: Spot is sensible, and flows/purchase.toml ships one dated sample for
    # p5en.48xlarge ($27.1988/h on 2026-08-06), so it is the cheapest, with its own day
    assert "Cheapest sensible way to buy p5en.48xlarge in us-east-1: Spot, $2.42M per run" in text
    assert "(no commitment; price of 2026-08-06)" in text
    assert "two minutes' notice" in text
    assert "Capacity Block $4.91M" in text and "on-demand $5.64M" in text


def test_serving_never_takes_a_capacity_block_and_names_bedrock_batch(slack: Slack) -> None:
    estimate_after(slack, *SERVING)
    reply(slack, "8B")
    reply(slack, "100M tokens a day")
    (card,) = estimate_posts(slack)
    text = text_of(card)
    assert "Cheapest sensible way to buy inf2" in text and ": on-demand, $" in text
    assert "Spot, not for this path (serving with a latency target" in text
    assert "Amazon Bedrock batch inference costs 50% of the on-demand price" in text
    assert "Llama 3.1 8B Instruct in batch: $0.11 / $0.11 per million" in text
    assert "prompt caching charges" not in text  # not the Prompt Cache leaf
