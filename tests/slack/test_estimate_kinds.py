"""Issue 16 in Slack: a mixture-of-experts size typed in the thread, the serving
configuration on an inference card, the cheaper option beside the flowchart's pick."""

from __future__ import annotations

from tests.slack.harness import Slack, sqlite_only, text_of
from tests.slack.test_estimate import cells, estimate_posts, reply, the_table
from tests.slack.test_scenarios import start

# What the estimate says is computed in one process, the same on either database: the
# estimate's PostgreSQL runs over two processes are in test_estimate.py.
pytestmark = sqlite_only


def estimate_after(slack: Slack, *labels: str) -> None:
    start(slack)
    for label in labels:
        slack.answer(label)
    slack.click(slack.current(), "Estimate the cost")
    slack.settle()


def test_a_mixture_of_experts_card_says_which_count_is_which(slack: Slack) -> None:
    estimate_after(slack, "Training", "100B+ params", "Checkpoints")
    reply(slack, "671B total, 37B active, on 14.8T tokens")
    (card,) = estimate_posts(slack)
    text = text_of(card)
    assert "a mixture-of-experts model (671B parameters, 37B active)" in text
    assert "6 × N_active × D" in text
    assert "likely $" in text and "range $" in text


def test_an_inference_card_gives_the_serving_configuration(slack: Slack) -> None:
    estimate_after(slack, "Inference", "Ultra-low <100ms", "High", "KV Cache")
    reply(slack, "Llama 3 70B")
    reply(slack, "40 requests/s, 2,000 tokens in, 300 out")
    (card,) = estimate_posts(slack)
    text = text_of(card)
    assert "Serving configuration:" in text and "--tensor-parallel-size" in text
    assert "--max-model-len 2300" in text


def test_the_card_names_a_cheaper_option_beside_the_pick(slack: Slack) -> None:
    estimate_after(slack, "Training", "10-100B params", "Active")
    reply(slack, "70B on 2T tokens")
    (card,) = estimate_posts(slack)
    assert "meets this for" in text_of(card) and "may still be the better pick" in text_of(card)


def test_the_throughput_path_compares_g6_and_g6e_with_inf2(slack: Slack) -> None:
    estimate_after(slack, "Inference", "Standard 100-500ms", "Throughput", "No Cache")
    reply(slack, "8B")
    reply(slack, "500M tokens a day")
    (card,) = estimate_posts(slack)
    rows = cells(the_table(card))
    offerings = [r[0] for r in rows[1:]]
    (pick,) = [o for o in offerings if "(flowchart's pick)" in o]
    assert pick.startswith("inf2.")
    assert "g6.xlarge" in offerings and "g6e.12xlarge" in offerings
    (g6,) = [r for r in rows[1:] if r[0] == "g6.xlarge"]
    assert g6[1].startswith("$")
