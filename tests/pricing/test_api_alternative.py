"""The API alternative: the nearest hosted model, its monthly cost, and the traffic at
which self-hosting costs the same (checked against arithmetic done by hand)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.flow.catalogue import Source
from bot.flow.loader import DEFAULT_FLOWS_DIR
from bot.pricing.api_alternative import (
    ApiPrices,
    HostedModel,
    api_option,
    break_even_tokens_per_day,
    load_api_prices,
)

SOURCE = Source(title="t", url="https://example.test/bedrock", read_on=dt.date(2026, 12, 4))


def model(name: str, params: float, inp: float, out: float, region: str = "us-east-1"):
    return HostedModel(
        name=name,
        model_id=name.lower(),
        params=params,
        region=region,
        input_usd_per_million=inp,
        output_usd_per_million=out,
        source="s",
    )


PRICES = ApiPrices(
    sources={"s": SOURCE},
    models=(model("Small 8B", 8e9, 0.2, 0.4), model("Big 70B", 70e9, 1.0, 3.0)),
)


def test_monthly_cost_is_tokens_times_the_output_price() -> None:
    # 1,000 tokens/s for 720 h: 2.592e9 tokens at $3 per million = $7,776
    api = api_option(PRICES, 65e9, 1_000, "us-east-1", hours_per_month=720)
    assert api.model is not None and api.model.name == "Big 70B"
    assert api.monthly_cost_usd == pytest.approx(7_776.0)
    assert api.as_of == dt.date(2026, 12, 4)
    assert api.sources == ("https://example.test/bedrock",)


def test_prompt_tokens_are_charged_at_the_input_price() -> None:
    # 100 generated and 400 prompt tokens/s for 720 h: 2.592e8 × $3 + 1.0368e9 × $1 per million
    api = api_option(PRICES, 70e9, 100, "us-east-1", 720, prompt_tokens_per_second=400)
    assert api.monthly_cost_usd == pytest.approx(777.6 + 1_036.8)


def test_break_even_is_one_steps_cost_over_the_apis_rate() -> None:
    api = api_option(PRICES, 70e9, 1_000, "us-east-1", 720)
    # the API: $3e-6 × 3600 × 720 = $7.776 per token/s a month. Two instances at
    # $3,888 a month in all ($1,944 each), 600 tokens/s each: even at 1,944 / 7.776 =
    # 250 tokens/s = 21.6M tokens a day, within one instance's 600 tokens/s.
    even = break_even_tokens_per_day(api, 3_888.0, steps=2, capacity=1_200.0)
    assert even == pytest.approx(250 * 86_400)


def test_no_break_even_when_a_full_instance_costs_more_than_the_api() -> None:
    api = api_option(PRICES, 70e9, 1_000, "us-east-1", 720)
    # one instance at $7,776 a month carries 500 tokens/s; the API would bill that
    # instance's full load at 500 × 7.776 = $3,888, less than the instance
    assert break_even_tokens_per_day(api, 7_776.0, steps=1, capacity=500.0) is None
    assert break_even_tokens_per_day(api, 7_776.0, steps=1, capacity=1_000.0) == pytest.approx(
        1_000 * 86_400
    )
    assert break_even_tokens_per_day(api, None, steps=1, capacity=1_000.0) is None


def test_no_hosted_model_of_about_the_same_size() -> None:
    api = api_option(PRICES, 405e9, 1_000, "us-east-1", 730)
    assert api.model is None and api.monthly_cost_usd is None
    assert "within 2x" in api.notes[0]
    assert break_even_tokens_per_day(api, 1_000.0, 1, 1_000.0) is None


def test_a_region_without_a_sourced_price_says_where_there_is_one() -> None:
    api = api_option(PRICES, 8e9, 1_000, "eu-west-1", 730)
    assert api.model is None
    assert api.notes == ("no sourced Bedrock price in eu-west-1; Small 8B has one in us-east-1",)


def test_the_shipped_file_is_sourced_and_dated() -> None:
    prices = load_api_prices(DEFAULT_FLOWS_DIR)
    assert prices.models
    for hosted in prices.models:
        assert prices.sources[hosted.source].url.startswith("https://")
        assert prices.sources[hosted.source].read_on


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (('source = "lava-bedrock"', 'source = "nowhere"'), "unknown source 'nowhere'"),
        (("output_usd_per_million = 3.50", ""), "output_usd_per_million"),
    ],
)
def test_flow_check_fails_on_an_unsourced_or_incomplete_api_price(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], says: str
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(DEFAULT_FLOWS_DIR, flows)
    path = flows / "api_prices.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    assert main(["--flows-dir", str(flows), "flow", "check"]) == 1
    assert says in capsys.readouterr().err


def test_among_equally_near_models_the_cheaper_is_the_alternative() -> None:
    old = model("Old 70B", 70e9, 2.65, 3.5)
    new = model("New 70B", 70e9, 0.72, 0.72)
    api = api_option(
        ApiPrices(sources={"s": SOURCE}, models=(old, new)), 70e9, 100, "us-east-1", 730
    )
    assert api.model is not None and api.model.name == "New 70B"


def test_the_shipped_file_prices_the_8b_70b_and_mistral_classes_with_sources() -> None:
    prices = load_api_prices(DEFAULT_FLOWS_DIR)
    classes = (
        (8e9, "Llama 3.1 8B", "us-east-1"),
        (70e9, "Llama 3.1 70B", "us-east-1"),
        (123e9, "Mistral Large", "us-west-2"),  # on demand in Oregon only
    )
    for size, name, region in classes:
        api = api_option(prices, size, 1_000, region, 730)
        assert api.model is not None and api.model.name.startswith(name)
        assert api.as_of is not None and all(u.startswith("https://") for u in api.sources)
    # In N. Virginia a 123B model's nearest priced model is a 70B; the note says that
    # Mistral Large is nearer, priced in Oregon.
    east = api_option(prices, 123e9, 1_000, "us-east-1", 730)
    assert east.model is not None and east.model.params == 70e9
    assert any("Mistral Large" in n and "us-west-2" in n for n in east.notes), east.notes
    west = api_option(prices, 123e9, 1_000, "us-west-2", 730)
    assert not any("nearer in size" in n for n in west.notes), west.notes
    # no sourced input/output split for Llama 3.1 405B: said, not guessed
    none = api_option(prices, 405e9, 1_000, "us-east-1", 730)
    assert none.model is None and none.monthly_cost_usd is None
    assert "no hosted model within 2x" in none.notes[0]


AWS_COPY = "https://github.com/aws/agent-toolkit-for-aws/blob/"


def test_the_rows_aws_own_copy_of_its_page_gives_are_cited_to_it() -> None:
    """AWS's transcription of its Bedrock page names N. Virginia for Llama 3 and Ohio
    for Llama 3.1/3.3: those rows cite it, and 1,000 tokens/s for 730 h at $0.72 both
    ways is 2.628e9 tokens, $1,892.16 a month."""
    prices = load_api_prices(DEFAULT_FLOWS_DIR)
    by = {(m.model_id, m.region): m for m in prices.models}
    llama3 = by[("meta.llama3-70b-instruct-v1:0", "us-east-1")]
    assert (llama3.input_usd_per_million, llama3.output_usd_per_million) == (2.65, 3.50)
    assert prices.sources[llama3.source].url.startswith(AWS_COPY)
    ohio = api_option(prices, 70e9, 1_000, "us-east-2", 730)
    assert ohio.model is not None and ohio.model.name == "Llama 3.1 70B Instruct"
    assert ohio.monthly_cost_usd == pytest.approx(1_000 * 3600 * 730 * 0.72 / 1e6)
    assert ohio.monthly_cost_usd == pytest.approx(1892.16)
    assert any(url.startswith(AWS_COPY) for url in ohio.sources)
    assert (ohio.model.batch_input_usd_per_million, ohio.model.batch_output_usd_per_million) == (
        0.36,
        0.36,
    )
    # Llama 3.1 405B reached end of life on Bedrock: no row anywhere, none guessed
    assert not [m for m in prices.models if m.params >= 400e9]
