"""What serving needs beyond the weights: the KV cache from a model's shape, the vLLM
settings that make a fit real, and the words that say which rule sized them."""

from __future__ import annotations

from bot.estimate.common import gb, say
from bot.estimate.model import InferenceJob, ServingConfig
from bot.flow.catalogue import Accelerator
from bot.flow.words import EstimateWords

# vLLM's --quantization for a checkpoint at each precision (int8 and int4 need one
# quantised ahead of time: compressed-tensors W8A8, AWQ)
_QUANTIZATION = {"bf16": None, "fp8": "fp8", "int8": "compressed-tensors", "int4": "awq"}


def kv_bytes_per_sequence(job: InferenceJob) -> float | None:
    """The KV cache one sequence of ``context_tokens`` holds, from the model's shape:
    values per token × 2 bytes (1 byte when serving at fp8, with an fp8 KV cache).
    None when the shape or the context is not known."""
    if job.kv_values_per_token is None or job.context_tokens is None:
        return None
    per_value = 1 if job.precision == "fp8" else 2
    return job.kv_values_per_token * per_value * job.context_tokens


def vllm_config(
    words: EstimateWords,
    job: InferenceJob,
    acc: Accelerator,
    accs: int,
    per_instance: int,
    batch: int,
) -> ServingConfig | None:
    """vLLM settings for an NVIDIA option, agreeing with the estimate: tensor parallel
    over the replica's GPUs on one instance, pipeline parallel across instances, the
    same memory share, KV dtype and batch. Other accelerators have their own engines."""
    if not acc.name.startswith("NVIDIA"):
        return None
    return ServingConfig(
        engine="vLLM",
        tensor_parallel_size=min(accs, per_instance),
        pipeline_parallel_size=-(-accs // per_instance),
        max_num_seqs=batch,
        gpu_memory_utilization=words.usable_memory.value,
        kv_cache_dtype="fp8" if job.precision == "fp8" else "auto",
        max_model_len=job.context_tokens,
        quantization=_QUANTIZATION[job.precision],
    )


def kv_note(job: InferenceJob, words: EstimateWords) -> str:
    kv = kv_bytes_per_sequence(job)
    if kv is None:
        return say("KV cache", words.kv_cache_headroom) + (
            " (name a known model, such as Llama 3 70B, and give the context to size it "
            "from the model's shape)"
        )
    return (
        f"KV cache from the model's published shape: {job.kv_values_per_token:,} values per "
        f"token, {gb(kv)} per sequence of {job.context_tokens:,} tokens, read in full at "
        "every decode step; the batch is capped by the sequences that fit beside the weights"
    )


def prompt_note(job: InferenceJob, words: EstimateWords) -> str:
    if not job.prompt_tokens_per_second:
        return (
            "every token of the traffic is counted as generated; prompt tokens cost less "
            "(they are processed in parallel), so long prompts make this an overestimate: "
            "give the prompt and output tokens per request to separate them"
        )
    return (
        f"prompts (prefill): {job.prompt_tokens_per_second:,.0f} tokens/s at 2·N FLOPs each, "
        f"compute bound at {words.compute_efficiency.value:.0%} of the dense peak on GPUs "
        "(on Inferentia2, the efficiency AWS Neuron's published time to first token gives); "
        f"generated (decode): {job.tokens_per_second:,.0f} tokens/s; a replica's time is "
        "split between the two"
    )
