"""`python -m bot estimate training|inference ...`: the estimator for scripts and checks.

Without ``--instance`` every offering of that kind in the flow is sized and the
cheapest one that fits comes first, marked recommended (the CLI has no flowchart
path to recommend from). Bad input gets one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import NoReturn, TextIO

from bot.estimate import (
    METHODS,
    PRECISIONS,
    SECONDS_PER_DAY,
    Estimate,
    EstimateError,
    InferenceJob,
    TrainingJob,
    estimate_inference,
    estimate_training,
)
from bot.estimate.amounts import read_count
from bot.estimate.sizes import ModelSize, read_model_size, read_number
from bot.estimate.training import MAX_INSTANCES
from bot.estimate.view import (
    bar_chart,
    cheaper_alternative,
    headline,
    job_line,
    serving_line,
    text_table,
)
from bot.flow.catalogue import PriceBasis
from bot.flow.compiled import Flow
from bot.pricing.estimate_prices import EstimatePrices
from bot.pricing.estimate_prices import add_arguments as add_price_arguments

BAD_INPUT = 2


class _OneLineErrors(argparse.ArgumentParser):
    """Usage mistakes as one line and exit status 2, like bad values."""

    def error(self, message: str) -> NoReturn:
        self.exit(BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def add_parser(commands: argparse._SubParsersAction) -> None:
    """The `estimate` command and its two kinds."""
    estimate = commands.add_parser("estimate", help="size and price a training run or a deployment")
    kinds = estimate.add_subparsers(dest="kind", required=True, parser_class=_OneLineErrors)
    training = kinds.add_parser("training", help="a training or fine-tuning run")
    training.add_argument(
        "--params", required=True, help="model size, e.g. 70B, 671B-A37B or DeepSeek-V3"
    )
    training.add_argument("--tokens", required=True, help="training tokens, e.g. 2T")
    training.add_argument("--method", default="full", help="full (default), lora or qlora")
    training.add_argument("--instances", help="instance count (default: sized to the days)")
    inference = kinds.add_parser("inference", help="serving a model")
    inference.add_argument(
        "--params", required=True, help="model size, e.g. 70B, 671B-A37B or Mixtral 8x7B"
    )
    inference.add_argument("--tokens-per-day", help="average traffic, e.g. 500M")
    inference.add_argument("--requests-per-second", help="with --tokens-per-request")
    inference.add_argument("--tokens-per-request", help="with --requests-per-second")
    inference.add_argument(
        "--context",
        help="tokens per sequence (prompt and output) the KV cache must hold, e.g. 8K; "
        "sizes the cache from a named model's shape",
    )
    inference.add_argument(
        "--input-tokens", help="prompt tokens per request, with --requests-per-second"
    )
    inference.add_argument(
        "--output-tokens", help="generated tokens per request, with --requests-per-second"
    )
    inference.add_argument("--precision", default="bf16", help="bf16 (default), fp8, int8, int4")
    inference.add_argument("--latency-ms", help="longest decode step allowed, in ms")
    for kind in (training, inference):
        kind.add_argument(
            "--active-params", help="mixture of experts: parameters each token uses, e.g. 37B"
        )
        kind.add_argument("--instance", help="size just this instance type, e.g. p4d.24xlarge")
        kind.add_argument("--json", action="store_true", help="print JSON, one object per option")
        add_price_arguments(kind)


def run(args: argparse.Namespace, flow: Flow, out: TextIO, err: TextIO) -> int:
    try:
        prices = EstimatePrices.from_args(args, flow, err)
        estimate = _estimate(args, flow, prices)
    except EstimateError as exc:
        print(f"estimate: {exc}", file=err)
        return BAD_INPUT
    if args.json:
        json.dump(prices.to_json(estimate, estimate.to_json()), out, indent=2)
        out.write("\n")
    else:
        out.write("\n".join([*prices.lines(estimate), "", *describe(estimate)]) + "\n")
    return 0


def describe(estimate: Estimate) -> list[str]:
    """The estimate for a terminal: headline, table, text chart, formula and assumptions."""
    lines = [f"Estimate: {job_line(estimate)}", headline(estimate)]
    cheaper = cheaper_alternative(estimate)
    lines += [cheaper] if cheaper else []
    serving = serving_line(estimate)
    lines += [f"Serving configuration: {serving}"] if serving else []
    lines.append(f"Formula: {estimate.formula}")
    lines += [f"Assumes {note}" for note in estimate.assumption_notes]
    for option in estimate.options:
        lines += [f"{option.instance}: {note}" for note in option.notes]
    lines += ["Sources:", *(f"  {url}" for url in estimate.sources)]
    lines += ["", "Cost:", *bar_chart(estimate), "", *text_table(estimate)]
    return lines


def _estimate(args: argparse.Namespace, flow: Flow, prices: EstimatePrices) -> Estimate:
    words = flow.words.estimate
    if words is None:
        raise EstimateError(f"The flow {flow.name!r} has no [estimate] assumptions.")
    size = _sizes(args, flow)
    params, active = size.params, size.active_params
    groups = prices.groups(_groups(args, flow))
    if args.kind == "training":
        if args.method not in METHODS:
            raise EstimateError(f"--method must be one of {', '.join(METHODS)}.")
        instances = None
        if args.instances is not None:
            instances = _whole(args.instances, "--instances", "16")
            if instances > MAX_INSTANCES:
                raise EstimateError(
                    f"--instances: {args.instances} is more than {MAX_INSTANCES:,}; "
                    "give the count you would run, such as 64."
                )
        tokens = _count(args.tokens, "--tokens", "2T")
        job = TrainingJob(params, tokens, args.method, instances, active)
        return _cheapest_first(estimate_training(prices.catalogue, words, job, groups), args)
    if args.precision not in PRECISIONS:
        raise EstimateError(f"--precision must be one of {', '.join(PRECISIONS)}.")
    rate, prompt = _traffic(args)
    latency = None
    if args.latency_ms:
        latency = _count(args.latency_ms.removesuffix("ms"), "--latency-ms", "100")
    context = None
    if args.context is not None:
        context = _whole(args.context, "--context", "8K")
    elif args.input_tokens is not None and args.output_tokens is not None:
        context = int(_count(args.input_tokens, "--input-tokens", "2000")) + int(
            _count(args.output_tokens, "--output-tokens", "300")
        )
    shape = size.shape.values_per_token if size.shape else None
    job = InferenceJob(params, rate, args.precision, latency, active, prompt, shape, context)
    return _cheapest_first(estimate_inference(prices.catalogue, words, job, groups), args)


def _traffic(args: argparse.Namespace) -> tuple[float, float]:
    """(generated, prompt) tokens per second. --input-tokens and --output-tokens per
    request separate the two; the other forms count every token as generated."""
    split = args.input_tokens is not None or args.output_tokens is not None
    if split and (args.tokens_per_day is not None or args.tokens_per_request is not None):
        raise EstimateError(
            "Give --input-tokens and --output-tokens with --requests-per-second, "
            "instead of --tokens-per-day or --tokens-per-request."
        )
    if split:
        if not (args.requests_per_second and args.input_tokens and args.output_tokens):
            raise EstimateError(
                "Give --requests-per-second 40 with both --input-tokens 2000 and "
                "--output-tokens 300 (tokens per request)."
            )
        rps = _count(args.requests_per_second, "--requests-per-second", "40")
        prompt = _count(args.input_tokens, "--input-tokens", "2000")
        return rps * _count(args.output_tokens, "--output-tokens", "300"), rps * prompt
    if args.tokens_per_day is not None:
        if args.requests_per_second or args.tokens_per_request:
            raise EstimateError(
                "Give --tokens-per-day or the two --requests/--tokens options, not both."
            )
        return _count(args.tokens_per_day, "--tokens-per-day", "500M") / SECONDS_PER_DAY, 0.0
    if args.requests_per_second and args.tokens_per_request:
        rate = _count(args.requests_per_second, "--requests-per-second", "40") * _count(
            args.tokens_per_request, "--tokens-per-request", "800"
        )
        return rate, 0.0
    raise EstimateError(
        "Give the traffic: --tokens-per-day 500M, or --requests-per-second 40 "
        "with --tokens-per-request 800 (or --input-tokens 2000 --output-tokens 300)."
    )


def _sizes(args: argparse.Namespace, flow: Flow) -> ModelSize:
    """Total and active parameters (and a known model's KV shape): from --params in
    any form `read_model_size` reads, and --active-params when given."""
    text = args.params.strip()
    size = None if text.startswith("-") else read_model_size(text, flow.catalogue.models)
    if size is None and not text.startswith("-") and read_count(text):
        size = ModelSize(_count(text, "--params", "70B"))  # a bare count: 7e10, 70000000000
    if size is None:
        raise EstimateError(
            f"--params: cannot read {args.params!r} as a model size; give one such as 70B, "
            "671B-A37B or DeepSeek-V3."
        )
    active = size.active_params
    if args.active_params is not None:
        active = _count(args.active_params, "--active-params", "37B")
        if active > size.params:
            raise EstimateError(
                f"--active-params: {args.active_params!r} is more than --params "
                f"{args.params!r}; the active parameters are part of the total."
            )
    return replace(size, active_params=active)


def _groups(args: argparse.Namespace, flow: Flow) -> list[tuple[str, ...]]:
    if args.instance:
        if args.instance not in flow.catalogue.instances:
            known = ", ".join(sorted(flow.catalogue.instances))
            raise EstimateError(f"unknown instance {args.instance!r}; known: {known}.")
        return [(args.instance,)]
    return [instances for _, instances in flow.estimate_groups(args.kind)]


def _cheapest_first(estimate: Estimate, args: argparse.Namespace) -> Estimate:
    """Reorder so the cheapest option that fits (and meets the latency) leads, marked
    recommended."""
    if args.instance:
        return estimate
    serving = estimate.kind == "inference"  # always on: prepaid Capacity Blocks come last
    options = sorted(
        (replace(o, recommended=False) for o in estimate.options),
        key=lambda o: (
            not o.fits,
            not o.meets_latency,
            serving and o.price_basis == PriceBasis.CAPACITY_BLOCK,
            o.cost or float("inf"),
        ),
    )
    options[0] = replace(options[0], recommended=True)
    return replace(estimate, options=tuple(options))


def _whole(text: str, flag: str, example: str) -> int:
    value = _count(text, flag, example)
    if value != int(value):
        raise EstimateError(f"{flag}: {text!r} is not a whole number; give one such as {example}.")
    return int(value)


def _count(text: str, flag: str, example: str) -> float:
    value = read_number(text) if "_" in text else read_count(text)
    if value is None or text.strip().startswith("-"):
        raise EstimateError(
            f"{flag}: cannot read {text!r} as a positive number; give one such as {example}."
        )
    return value


def main_estimate(args: argparse.Namespace, flow: Flow) -> int:
    return run(args, flow, sys.stdout, sys.stderr)
