"""score_completions: one call for rewards that batch, one call each otherwise, never a lost result."""

import time

import pytest

from latentseek_agents import CheckResult
from latentseek_agents.scoring import as_check_fn, score_completion, score_completions

CONTEXTS = [{"prompt": "q1", "reference": "1"}, {"prompt": "q2", "reference": "2"}]


class Batched:
    """A checker with check_batch that records how it is called."""

    def __init__(self, batch=None):
        self.batch_calls, self.single_calls = [], []
        self.batch = batch

    def check(self, completion, *, prompt=None, reference=None):
        self.single_calls.append(completion)
        return CheckResult(score=float(reference in completion))

    def check_batch(self, completions, *, prompts=None, references=None):
        self.batch_calls.append((list(completions), list(prompts), list(references)))
        if self.batch is not None:
            return self.batch(completions)
        return [CheckResult(score=float(r in c)) for c, r in zip(completions, references)]


def test_a_reward_that_batches_gets_one_call_with_every_context():
    reward = Batched()
    results = score_completions(reward, ["it is 1", "it is 3"], CONTEXTS)
    assert [r.score for r, _ in results] == [1.0, 0.0]
    assert reward.batch_calls == [(["it is 1", "it is 3"], ["q1", "q2"], ["1", "2"])] and not reward.single_calls


def test_a_plain_callable_is_called_once_per_completion():
    seen = []
    results = score_completions(lambda text, reference: seen.append(text) or float(reference in text),
                                ["it is 1", "it is 2"], CONTEXTS)
    assert [r.score for r, _ in results] == [1.0, 1.0] and seen == ["it is 1", "it is 2"]


def test_a_batch_that_raises_or_miscounts_falls_back_to_one_by_one():
    for broken in (lambda cs: 1 / 0, lambda cs: [CheckResult(score=1.0)], lambda cs: ["not a result"] * len(cs)):
        reward = Batched(broken)
        results = score_completions(reward, ["it is 1", "it is 3"], CONTEXTS)
        assert [r.score for r, _ in results] == [1.0, 0.0]
        assert reward.single_calls == ["it is 1", "it is 3"]


def test_batched_scores_are_still_clamped_and_flagged():
    reward = Batched(lambda cs: [1.5, float("nan")])
    (high, _), (nan, _) = score_completions(reward, ["a", "b"], CONTEXTS)
    assert high.score == 1.0 and "clamped" in high.details["score_flag"]
    assert nan.score == 0.0 and "non-finite" in nan.error


def test_a_batch_that_hangs_times_out_as_a_whole():
    reward = Batched(lambda cs: time.sleep(5))
    start = time.perf_counter()
    results = score_completions(reward, ["a", "b"], CONTEXTS, timeout_s=0.1)
    assert time.perf_counter() - start < 2
    assert all(r.score == 0.0 and "timed out" in r.error for r, _ in results)


def test_real_numbers_of_any_type_are_scores():
    from decimal import Decimal
    from fractions import Fraction

    import numpy as np
    import torch

    from latentseek_agents.scoring import as_check_fn, score_completion

    for value in (np.float32(0.5), np.float64(0.5), torch.tensor(0.5), Decimal("0.5"), Fraction(1, 2)):
        result, _ = score_completion(as_check_fn(lambda text, v=value: v), "x")
        assert (result.score, result.error) == (0.5, None), type(value)
        boxed, _ = score_completion(as_check_fn(lambda text, v=value: CheckResult(score=v)), "x")
        assert type(boxed.score) is float and boxed.score == 0.5
    text, _ = score_completion(as_check_fn(lambda text: "0.5"), "x")
    assert text.score == 0.0 and "got str" in text.error


def test_a_carelessly_built_result_is_normalised_not_a_crash():
    from latentseek_agents.scoring import as_check_fn, score_completion

    odd = CheckResult(score=1.0, passed=1, feedback=["looks", "right"], details=None)  # type: ignore[arg-type]
    result, _ = score_completion(as_check_fn(lambda text: odd), "x")
    assert (result.score, result.passed, result.feedback, dict(result.details)) == (1.0, True, "['looks', 'right']", {})
    listed = CheckResult(score=0.2, details=[1, 2])  # type: ignore[arg-type]
    result, _ = score_completion(as_check_fn(lambda text: listed), "x")
    assert result.details == {"raw_details": "[1, 2]"}


def test_a_timed_out_model_backed_reward_stops_at_its_next_decoding_step(tiny_lm):
    import threading

    from latentseek_agents import LatentSeek, LatentSeekConfig
    from latentseek_agents.generation import generate

    threads = []

    def endless_judge(text):
        threads.append(threading.current_thread())
        generate(tiny_lm, [[1, 2, 3]], 1_000_000, stop_ids=())  # would decode for hours
        return 1.0

    config = LatentSeekConfig(max_iters=0, max_new_tokens=4, reward_timeout_s=0.2)
    result = LatentSeek(tiny_lm, reward=endless_judge, config=config).solve("What is 2 + 3?")
    assert "timed out after 0.2 s" in result.trace[0].error
    threads[0].join(timeout=60)
    assert not threads[0].is_alive()  # cancelled inside its decoding loop, not left running
    assert tiny_lm.lock.acquire(timeout=5)
    tiny_lm.lock.release()


def test_reward_calls_that_cannot_be_stopped_are_capped():
    import threading

    from latentseek_agents.scoring import MAX_LINGERING_REWARDS, as_check_fn, score_completion

    release = threading.Event()
    stuck = as_check_fn(lambda text: release.wait(30) and 1.0)
    results = [score_completion(stuck, "x", timeout_s=0.01)[0] for _ in range(MAX_LINGERING_REWARDS + 2)]
    release.set()
    timed_out = [r for r in results if "timed out after" in r.error]
    refused = [r for r in results if r.error.startswith(f"not run: {MAX_LINGERING_REWARDS} timed-out")]
    assert len(timed_out) + len(refused) == len(results) and len(timed_out) <= MAX_LINGERING_REWARDS
    assert results[-1] in refused and results[-2] in refused  # never more than the cap left running


def test_a_timed_reward_in_its_own_thread_stops_when_its_caller_is_cancelled():
    import threading

    from latentseek_agents.cancel import Cancelled, cancel_scope, check_cancelled

    def patient(text):
        while True:  # a model-backed judge checks at each decoding step
            check_cancelled()
            time.sleep(0.01)

    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled), cancel_scope(event=stop):
        score_completion(as_check_fn(patient), "x", timeout_s=60)
    assert time.monotonic() - start < 30  # at the cancel, not at the 60 s time bound
