"""SearchBatcher without Ray: requests that arrive together share one batched search, on both backends."""

import asyncio
import json

import pytest

from latentseek_agents import LatentSeekConfig
from latentseek_agents.integrations.serve.batching import SearchBatcher
from latentseek_agents.integrations.serve.protocol import ServeLimits, parse_request
from latentseek_agents.rewards import MathAnswer


def request(reference, iters, tokens=16):
    body = {"model": "m", "messages": [{"role": "user", "content": "What is 2 + 3?"}], "max_tokens": tokens,
            "latentseek": {"max_iters": iters, **({"reference": reference} if reference else {})}}
    return parse_request(json.dumps(body).encode(), model_names=["m"], rewards=["math"],
                         base=LatentSeekConfig(lr=0.3), limits=ServeLimits())


async def solve(batcher, parsed, leave_after=None):
    seen, events = [], batcher.events(parsed)
    async for event in events:
        seen.append(event)
        if leave_after is not None and len(seen) == leave_after:
            await events.aclose()  # the client goes away (what the server does when a stream is closed)
            break
    return seen


@pytest.fixture(params=["torch", pytest.param("llama_cpp", marks=pytest.mark.default_model)])
def lm(request, tiny_lm):
    if request.param == "torch":
        return tiny_lm
    from latentseek_agents import backends, load_model

    if not backends.is_llama_cpp_available():
        pytest.skip("llama-cpp-python is not installed (the llama-cpp extra)")
    return load_model(backend="llama_cpp", n_threads=1)


def test_requests_sent_together_share_a_batch_and_a_leaver_does_not_stop_the_others(lm):
    batcher = SearchBatcher(lm, {"math": MathAnswer()}, max_batch_size=4, wait_s=0.5)

    async def run():
        return await asyncio.gather(solve(batcher, request("5", 3)), solve(batcher, request(None, 3)),
                                    solve(batcher, request("7", 3), leave_after=1))

    stays, skips, leaves = asyncio.run(run())
    assert (batcher.batches_run, batcher.largest_batch) == (1, 3)  # one batched search for the three
    assert stays[-1].kind == "result" and stays[-1].result.stop_reason in ("max_iters", "threshold")
    assert skips[-1].result.stop_reason == "reward_skipped"  # no reference: its own rule, not its neighbours'
    assert len(leaves) == 1 and batcher.active == 0
    if stays[-1].result.stop_reason == "max_iters":
        assert stays[-1].result.iterations == 3  # the leaver did not cut its batch-mates' searches short


def test_requests_with_other_settings_run_in_a_batch_of_their_own(tiny_lm):
    batcher = SearchBatcher(tiny_lm, {"math": MathAnswer()}, max_batch_size=4, wait_s=0.3)

    async def run():
        return await asyncio.gather(solve(batcher, request("5", 1)), solve(batcher, request("5", 2)))

    one, two = asyncio.run(run())
    assert (one[-1].result.iterations, two[-1].result.iterations) == (1, 2)
    assert (batcher.batches_run, batcher.largest_batch) == (2, 1)
