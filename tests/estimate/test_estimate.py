"""The estimator's arithmetic: memory fit, instance counts, costs, and bad input."""

from __future__ import annotations

import math

import pytest

from bot.estimate import (
    EstimateError,
    InferenceJob,
    TrainingJob,
    estimate_inference,
    estimate_training,
    largest_model,
)
from bot.estimate.calibration import band_for
from bot.flow.loader import load_flow

FLOW = load_flow()
WORDS = FLOW.words.estimate
CAT = FLOW.catalogue
assert WORDS is not None


def train(params: float, tokens: float, instance: str, **kw) -> object:
    job = TrainingJob(params, tokens, **kw)
    return estimate_training(CAT, WORDS, job, [[instance]]).recommended


def serve(params: float, rate: float, group: list[str], **kw) -> object:
    return estimate_inference(CAT, WORDS, InferenceJob(params, rate, **kw), [group]).recommended


def test_training_cost_is_instance_hours_times_the_price() -> None:
    option = train(70e9, 2e12, "p5en.48xlarge")
    flops = 6 * 70e9 * 2e12
    h200 = CAT.accelerators["H200"]
    band = band_for(CAT.calibration, "H200", 70e9)
    hours = flops / (h200.bf16_dense_tflops.value * 1e12 * band.likely) / 3600
    assert option.mfu == band.likely
    assert option.accelerator_hours == pytest.approx(hours)
    assert option.instance_hours == pytest.approx(hours / 8)
    assert option.cost_usd == pytest.approx(hours / 8 * 63.296)
    # The range is the hours at both ends of the band, priced the same way.
    low, high = option.accelerator_hours_range
    assert (low, high) == pytest.approx(
        (hours * band.likely / band.high, hours * band.likely / band.low)
    )
    assert option.cost_usd_range == pytest.approx((low / 8 * 63.296, high / 8 * 63.296))
    # With a Capacity Block on offer, the count finishes inside the longest whole block
    # within 30 days (28: 1-14 days, then 7-day steps), and both prices use that count.
    assert option.wall_clock_hours <= 28 * 24
    assert option.instances == math.ceil(hours / 8 / (28 * 24))
    assert option.capacity_block_cost_usd == pytest.approx(option.instances * 28 * 24 * 54.92)


def test_a_given_instance_count_sets_the_wall_clock_not_the_cost() -> None:
    few = train(70e9, 2e12, "p5en.48xlarge", instances=16)
    many = train(70e9, 2e12, "p5en.48xlarge", instances=64)
    assert few.cost_usd == pytest.approx(many.cost_usd)
    assert few.wall_clock_hours == pytest.approx(4 * many.wall_clock_hours)


def test_too_few_instances_to_hold_the_training_state_do_not_fit() -> None:
    # 70B x 16 bytes x 1.2 = 1,344 GB: more than one p4d (8 x 40 GB)
    option = train(70e9, 2e12, "p4d.24xlarge", instances=1)
    assert not option.fits
    assert option.cost_usd is None
    assert "does not fit" in option.notes[0] and "at least" in option.notes[0]


def test_lora_needs_less_memory_and_fewer_flops() -> None:
    full = train(70e9, 1e10, "p5en.48xlarge", instances=1)
    lora = train(70e9, 1e10, "p5en.48xlarge", method="lora", instances=1)
    assert not full.fits  # 1,344 GB of training state does not fit in 8 x 141 GB
    assert lora.fits  # 70B x (2 + 0.16) x 1.2 = 181 GB does
    assert lora.accelerator_hours == pytest.approx(full.accelerator_hours * 4 / 6)


def test_a_70b_model_does_not_fit_a_graviton_host_at_bf16_but_does_at_int4() -> None:
    at_bf16 = serve(70e9, 100, ["c7g.16xlarge"])
    assert not at_bf16.fits
    assert at_bf16.monthly_cost_usd is None
    assert "does not fit" in at_bf16.notes[0]
    assert serve(70e9, 100, ["c7g.16xlarge"], precision="int4").fits
    host = CAT.accelerators["Graviton3-host"]
    assert 40e9 < largest_model(host, 1, "bf16", WORDS) < 70e9


def test_the_cheapest_inf2_size_that_holds_the_model_is_chosen() -> None:
    sizes = ["inf2.xlarge", "inf2.8xlarge", "inf2.24xlarge", "inf2.48xlarge"]
    small = serve(7e9, 100, sizes)
    assert small.instance in ("inf2.xlarge", "inf2.8xlarge")  # 7B bf16 fits one chip
    large = serve(70e9, 100, sizes)
    assert large.instance == "inf2.24xlarge"  # 168 GB with KV headroom: 6 chips of 32 GiB
    larger = serve(120e9, 100, sizes)
    assert larger.instance == "inf2.48xlarge"  # 288 GB: 10 of its 12 chips


def test_inference_replicas_cover_the_traffic() -> None:
    option = serve(70e9, 50_000, ["p5en.48xlarge"])
    assert option.tokens_per_second_capacity >= 50_000
    per_replica = option.tokens_per_second_capacity / option.replicas
    assert (option.replicas - 1) * per_replica < 50_000
    assert option.monthly_cost_usd == pytest.approx(option.instances * 63.296 * 730)


def test_decoding_a_70b_model_on_h200s_is_bound_by_memory_bandwidth() -> None:
    """70B at bf16 spans two H200s; a step streams 140 GB of weights, which takes longer
    than the batch's FLOPs, so a replica serves batch / (weights / bandwidth) tokens/s."""
    option = serve(70e9, 1, ["p5en.48xlarge"])
    h200 = CAT.accelerators["H200"]
    assert option.accelerators_per_replica == 2
    step = 70e9 * 2 / (2 * h200.memory_bandwidth_tbps.value * 1e12)
    step /= WORDS.decode_bandwidth_efficiency.value
    compute = WORDS.max_batch.value * 2 * 70e9 / (2 * 989e12 * WORDS.compute_efficiency.value)
    assert compute < step
    assert option.tokens_per_second_capacity == pytest.approx(WORDS.max_batch.value / step)


def test_a_latency_the_offering_cannot_meet_is_said() -> None:
    relaxed = serve(70e9, 1, ["c7g.16xlarge"], precision="int4")
    strict = serve(70e9, 1, ["c7g.16xlarge"], precision="int4", latency_ms=50)
    assert relaxed.fits and strict.fits
    assert any("too slow for 50 ms" in note for note in strict.notes)


@pytest.mark.parametrize(
    "job",
    [TrainingJob(0, 1e12), TrainingJob(7e9, -1), TrainingJob(float("nan"), 1e12)],
)
def test_bad_training_input_is_refused_with_a_message(job: TrainingJob) -> None:
    with pytest.raises(EstimateError, match="must be a positive number"):
        estimate_training(CAT, WORDS, job, [["p4d.24xlarge"]])


def test_an_unknown_instance_is_refused_with_the_known_ones() -> None:
    with pytest.raises(EstimateError, match=r"Unknown instance 'x1\.huge'; known: .*p4d"):
        estimate_training(CAT, WORDS, TrainingJob(7e9, 1e12), [["x1.huge"]])


def test_a_capacity_block_only_run_is_sized_to_whole_blocks() -> None:
    option = train(70e9, 2e12, "p5e.48xlarge")
    assert option.price_basis == "Capacity Block"
    assert option.wall_clock_hours <= 28 * 24  # the longest block within the 30 days
    assert option.cost_usd == pytest.approx(option.instances * 28 * 24 * 47.76)


def test_more_instances_than_capacity_blocks_sell_is_said() -> None:
    option = train(1e12, 10e12, "p5e.48xlarge")
    assert option.instances > 256
    assert any("more than the 256 AWS sells" in note for note in option.notes)


def test_a_replica_spans_instances_only_over_efa() -> None:
    over_efa = serve(1e12, 100, ["p5en.48xlarge"])
    assert over_efa.fits and over_efa.accelerators_per_replica > 8
    assert not serve(1e12, 100, ["inf2.48xlarge"]).fits


def test_a_latency_no_option_meets_is_not_hidden() -> None:
    option = serve(70e9, 1000, ["p5en.48xlarge"], latency_ms=5)
    assert option.fits and not option.meets_latency
    assert "too slow for 5 ms" in option.notes[0]


def test_an_instance_holds_what_largest_model_says() -> None:
    """No contradiction between fitting and the largest model quoted for it."""
    inf2 = CAT.accelerators["Inferentia2"]
    biggest = largest_model(inf2, 6, "bf16", WORDS)
    assert serve(biggest * 0.99, 100, ["inf2.24xlarge"]).fits
    assert not serve(biggest * 1.01, 100, ["inf2.24xlarge"]).fits
