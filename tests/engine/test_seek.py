"""The LatentSeek loop on a tiny random model: stop rules, trace, rewards, determinism, batching."""

import math
import time

import pytest
import torch

from latentseek_agents import CheckResult, LatentSeek, LatentSeekConfig, SeekResult
from latentseek_agents.latents import num_latents

FAST = dict(lr=0.3, max_new_tokens=24)


class Recorder:
    """A reward that returns scripted scores and records what it was asked."""

    def __init__(self, scores=(0.0,)):
        self.scores = list(scores)
        self.calls = []

    def __call__(self, completion, **context):
        self.calls.append((completion, context))
        return self.scores[min(len(self.calls) - 1, len(self.scores) - 1)]


def seeker(tiny_lm, reward, **settings):
    return LatentSeek(tiny_lm, reward=reward, config=LatentSeekConfig(**{**FAST, **settings}))


def test_a_first_answer_that_passes_stops_at_once(tiny_lm):
    reward = Recorder([1.0])
    result = seeker(tiny_lm, reward).solve("What is 2 + 3?")
    assert isinstance(result, SeekResult)
    assert (result.iterations, result.stop_reason, len(reward.calls)) == (0, "threshold", 1)
    assert result.text == result.trace[0].text and result.score == 1.0


def test_a_reward_that_never_passes_runs_max_iters(tiny_lm):
    result = seeker(tiny_lm, Recorder([0.0]), max_iters=3).solve("What is 2 + 3?")
    assert (result.iterations, result.stop_reason) == (3, "max_iters")
    assert [a.iteration for a in result.trace] == [0, 1, 2, 3]
    assert result.text == result.trace[-1].text  # faithful: the last answer, not the best


def test_the_loop_stops_when_a_later_answer_passes(tiny_lm):
    result = seeker(tiny_lm, Recorder([0.2, 0.5, 0.9, 0.0]), max_iters=5).solve("What is 2 + 3?")
    assert (result.iterations, result.stop_reason, result.score) == (2, "threshold", 0.9)


def test_the_threshold_is_strict_like_the_papers(tiny_lm):
    result = seeker(tiny_lm, Recorder([0.8]), max_iters=1).solve("What is 2 + 3?")
    assert result.stop_reason == "max_iters"  # 0.8 is not above 0.8 (R = -0.2 is not > -0.2)


def test_max_iters_zero_returns_the_first_answer(tiny_lm):
    result = seeker(tiny_lm, Recorder([0.0]), max_iters=0).solve("What is 2 + 3?")
    assert (result.iterations, result.stop_reason, len(result.trace)) == (0, "max_iters", 1)


def test_an_answer_too_short_to_optimize_stops_with_no_latents(tiny_lm):
    result = seeker(tiny_lm, Recorder([0.0]), max_new_tokens=4).solve("What is 2 + 3?")
    assert result.trace[0].tokens == 4 and num_latents(4, 0.2, 300) == 0
    assert (result.iterations, result.stop_reason) == (0, "no_latents")


def test_only_the_first_fraction_of_positions_is_rewritten(tiny_lm):
    result = seeker(tiny_lm, Recorder([0.0]), max_iters=3, fraction=0.25).solve("What is 2 + 3?")
    first = result.trace[0]
    expected = num_latents(first.tokens, 0.25, 300)
    assert expected > 0
    for attempt in result.trace[1:]:
        assert attempt.prefix_tokens == expected
        assert attempt.tokens <= 24
    assert any(a.changed_positions > 0 for a in result.trace[1:])


def test_a_run_is_deterministic(tiny_lm):
    a = seeker(tiny_lm, Recorder([0.0]), max_iters=3).solve("What is 2 + 3?")
    b = seeker(tiny_lm, Recorder([0.0]), max_iters=3).solve("What is 2 + 3?")
    assert [t.text for t in a.trace] == [t.text for t in b.trace]


def test_select_best_returns_the_highest_score(tiny_lm):
    scores = [0.1, 0.6, 0.3, 0.2]
    first_pass = seeker(tiny_lm, Recorder(scores), max_iters=3).solve("What is 2 + 3?")
    best = seeker(tiny_lm, Recorder(scores), max_iters=3, select="best").solve("What is 2 + 3?")
    assert first_pass.score == 0.2
    assert best.score == 0.6 and best.text == best.trace[1].text


def test_the_sample_policy_scores_sampled_prefixes_and_is_seeded(tiny_lm):
    runs = [seeker(tiny_lm, Recorder([0.0, 0.5, 0.1, 0.3]), max_iters=3, policy="sample",
                   policy_temperature=2.0, seed=seed).solve("What is 2 + 3?") for seed in (1, 1, 2)]
    first = runs[0].trace[0]
    assert all(r.trace[0].text == first.text for r in runs)  # the greedy chain of thought
    assert [a.text for a in runs[0].trace] == [a.text for a in runs[1].trace]
    assert [a.text for a in runs[0].trace] != [a.text for a in runs[2].trace]
    assert all(a.prefix_tokens == num_latents(first.tokens, 0.2, 300) for a in runs[0].trace[1:])
    assert any(a.changed_positions > 0 for a in runs[0].trace[1:])


def test_the_sample_policy_weights_each_step_by_reward_minus_baseline():
    from latentseek_agents.result import Attempt
    from latentseek_agents.seek import _advantage

    def trace(*scores):
        return [Attempt(iteration=i, text="", score=s, passed=False) for i, s in enumerate(scores)]

    assert _advantage(trace(0.25)) == -0.75  # first update: R itself, away from the greedy answer
    assert _advantage(trace(0.0, 0.5)) == 0.5  # better than before: pulled towards
    assert _advantage(trace(0.5, 0.0, 0.25)) == 0.0  # as good as the mean: no move
    assert _advantage(trace(0.0, 0.0)) == 0.0  # 0/1 rewards stop moving; the sampling explores


def test_the_reward_sees_prompt_reference_and_generated_text_only(tiny_lm):
    reward = Recorder([0.0])
    result = seeker(tiny_lm, reward, max_iters=1).solve("What is 2 + 3?", reference="5")
    completion, context = reward.calls[0]
    assert completion == result.trace[0].text
    assert context["prompt"] == "What is 2 + 3?" and context["reference"] == "5"
    assert "<|im_start|>" not in completion


def test_chat_messages_are_accepted(tiny_lm):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 3?"}]
    reward = Recorder([1.0])
    seeker(tiny_lm, reward).solve(messages)
    assert reward.calls[0][1]["messages"] == messages


def test_a_checker_object_and_a_plain_callable_both_work(tiny_lm):
    class Checker:
        def check(self, completion, *, prompt=None, reference=None, **ctx):
            return CheckResult(score=1.0, feedback="fine")

    result = seeker(tiny_lm, Checker()).solve("What is 2 + 3?")
    assert result.trace[0].feedback == "fine"
    result = seeker(tiny_lm, lambda text: True).solve("What is 2 + 3?")  # bool -> 1.0
    assert result.score == 1.0


def test_a_reward_that_raises_is_recorded_and_the_run_goes_on(tiny_lm):
    calls = []

    def flaky(text):
        calls.append(text)
        if len(calls) == 2:
            raise RuntimeError("grader crashed")
        return 0.0

    result = seeker(tiny_lm, flaky, max_iters=3).solve("What is 2 + 3?")
    assert len(result.trace) == 4
    assert result.trace[1].error == "reward raised RuntimeError: grader crashed"
    assert result.trace[1].score == 0.0 and not result.trace[1].passed
    assert result.trace[2].error is None


def test_a_reward_that_hangs_is_timed_out(tiny_lm):
    def slow(text):
        time.sleep(5)
        return 1.0

    start = time.perf_counter()
    result = seeker(tiny_lm, slow, max_iters=1, reward_timeout_s=0.2).solve("What is 2 + 3?")
    assert time.perf_counter() - start < 4
    assert [a.error for a in result.trace] == ["reward timed out after 0.2 s"] * 2


@pytest.mark.parametrize(("raw", "score", "flag"), [
    (float("nan"), 0.0, "non-finite"),
    (1.7, 1.0, "outside [0, 1]; clamped to 1.0"),
    (-3, 0.0, "outside [0, 1]; clamped to 0.0"),
])
def test_bad_reward_values_are_clamped_and_flagged(tiny_lm, raw, score, flag):
    result = seeker(tiny_lm, lambda text: raw, max_iters=0).solve("What is 2 + 3?")
    first = result.trace[0]
    assert first.score == score
    assert flag in first.details["score_flag"]
    raw_seen = first.details["raw_score"]
    assert (math.isnan(raw_seen) and math.isnan(raw)) or raw_seen == raw


def test_a_reward_returning_a_wrong_type_is_recorded(tiny_lm):
    result = seeker(tiny_lm, lambda text: "yes", max_iters=0).solve("What is 2 + 3?")
    assert "must return a float" in result.trace[0].error


def test_identical_completions_are_scored_once(tiny_lm):
    # lr tiny: the latents barely move, so the decodes repeat the first answer.
    reward = Recorder([0.0])
    result = seeker(tiny_lm, reward, max_iters=3, lr=1e-6).solve("What is 2 + 3?")
    assert len({a.text for a in result.trace}) == 1
    assert len(reward.calls) == 1
    assert result.trace[2].details.get("cached") is True


def test_solve_batch_equals_solving_one_by_one(tiny_lm):
    questions = ["What is 2 + 3?", "Natalia sold 48 clips in April and half as many in May.", "6 * 7?"]
    scripted = {q: [0.0, 0.0, 1.0] if i == 1 else [0.0] for i, q in enumerate(questions)}

    def reward(text, prompt):
        counts[prompt] = counts.get(prompt, 0) + 1
        s = scripted[prompt]
        return s[min(counts[prompt] - 1, len(s) - 1)]

    counts = {}
    batch = seeker(tiny_lm, reward, max_iters=3).solve_batch(questions)
    counts = {}
    single = [seeker(tiny_lm, reward, max_iters=3).solve(q) for q in questions]
    assert [r.stop_reason for r in batch] == ["max_iters", "threshold", "max_iters"]
    for b, s in zip(batch, single):
        assert [a.text for a in b.trace] == [a.text for a in s.trace]


def test_a_batching_reward_is_called_once_per_round_for_the_whole_batch(tiny_lm):
    class Judge:
        def __init__(self):
            self.rounds = []

        def check(self, completion, **context):
            raise AssertionError("a batching reward is not called one by one")

        def check_batch(self, completions, *, prompts=None, references=None):
            self.rounds.append(list(references))
            return [CheckResult(score=0.0) for _ in completions]

    judge = Judge()
    results = seeker(tiny_lm, judge, max_iters=2).solve_batch(["What is 2 + 3?", "What is 4 + 4?"], ["5", "8"])
    assert all(r.iterations == 2 for r in results)
    # Identical answers are not re-checked, so a round may hold fewer than two completions.
    assert 1 <= len(judge.rounds) <= 3 and judge.rounds[0] == ["5", "8"]


def test_on_attempt_reports_every_attempt_in_order(tiny_lm):
    seen = []
    seeker(tiny_lm, Recorder([0.0]), max_iters=2).solve_batch(
        ["What is 2 + 3?", "6 * 7?"], on_attempt=lambda i, a: seen.append((i, a.iteration)))
    assert seen == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]


def test_the_result_serialises_to_json(tiny_lm):
    import json

    result = seeker(tiny_lm, Recorder([0.0]), max_iters=1).solve("What is 2 + 3?")
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) >= {"answer", "text", "score", "iterations", "stop_reason", "trace"}
    assert data["trace"][1]["prefix_tokens"] == result.trace[1].prefix_tokens


@pytest.mark.parametrize(("problem", "message"), [
    ("", "question must be a non-empty string"),
    ("   ", "question must be a non-empty string"),
    ([], "messages must be a non-empty list"),
    ([{"role": "user"}], "messages[0] must be a mapping with 'role' and 'content'"),
    ([{"role": "robot", "content": "hi"}], "messages[0]['role'] must be one of"),
    (42, "question must be a string or a list of chat messages, got int"),
])
def test_bad_questions_are_rejected_with_a_clear_error(tiny_lm, problem, message):
    with pytest.raises(ValueError) as info:
        seeker(tiny_lm, Recorder()).solve(problem)
    assert message in str(info.value)


def test_a_prompt_longer_than_the_context_is_rejected(tiny_lm):
    with pytest.raises(ValueError, match=r"question is too long: the rendered prompt has \d+ tokens, "
                                         r"and the model's context is 512 tokens"):
        seeker(tiny_lm, Recorder()).solve("clips " * 600)


def test_two_seekers_on_one_model_share_the_weights(tiny_lm):
    a = seeker(tiny_lm, Recorder())
    b = LatentSeek(tiny_lm.model, reward=Recorder(), tokenizer=tiny_lm.tokenizer)
    assert a.lm is b.lm is tiny_lm


def test_config_must_be_a_latentseekconfig(tiny_lm):
    with pytest.raises(TypeError, match="config must be a LatentSeekConfig, got dict"):
        LatentSeek(tiny_lm, reward=Recorder(), config={"lr": 0.1})


def test_reward_must_be_a_checker_or_callable(tiny_lm):
    with pytest.raises(TypeError, match="reward must be a checker"):
        LatentSeek(tiny_lm, reward=42)


def test_no_reward_means_the_model_judges_itself(tiny_lm):
    from latentseek_agents.rewards import SelfJudge

    s = LatentSeek(tiny_lm, config=LatentSeekConfig(max_iters=0, max_new_tokens=8))
    assert isinstance(s.reward, SelfJudge) and s.reward.lm is tiny_lm
    s.reward.max_new_tokens = 6
    result = s.solve("What is 2 + 3?")
    # The random model never writes a verdict: each check is decided by its verdict-token probabilities.
    checks = result.trace[0].details["checks"]
    assert all(c["path"] == "probability" and isinstance(c["verdict"], bool) for c in checks.values())
    assert result.score == pytest.approx(1 - sum(c["weight"] for c in checks.values() if not c["verdict"]) / 6)


def test_gradients_never_reach_the_model(tiny_lm):
    seeker(tiny_lm, Recorder([0.0]), max_iters=2).solve("What is 2 + 3?")
    assert all(p.grad is None and not p.requires_grad for p in tiny_lm.model.parameters())
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("style", ["boxed", "json", "json_expression", "none"])
def test_the_reward_sees_the_question_as_asked_whatever_the_prompt_style(tiny_lm, style):
    reward = Recorder([1.0])
    seeker(tiny_lm, reward, prompt_style=style).solve("What is 2 + 3?")
    assert reward.calls[0][1]["prompt"] == "What is 2 + 3?"
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 4 + 4?"}]
    seeker(tiny_lm, reward, prompt_style=style).solve(messages)
    assert reward.calls[1][1]["prompt"] == "What is 4 + 4?"


def test_a_reward_that_skips_the_first_answer_stops_the_search_and_says_so(tiny_lm):
    reward = Recorder([None])
    result = seeker(tiny_lm, reward, max_iters=5).solve("What is 2 + 3?")
    assert (result.iterations, result.stop_reason, len(reward.calls)) == (0, "reward_skipped", 1)
    first = result.trace[0]
    assert first.score == 0.0 and first.details["skipped"] is True and "skipped" in first.feedback


def test_carelessly_built_results_never_escape_solve(tiny_lm):
    odd = CheckResult(score=0.0, feedback=42, details=None)  # type: ignore[arg-type]
    result = seeker(tiny_lm, lambda text: odd, max_iters=1).solve("What is 2 + 3?")
    assert [a.feedback for a in result.trace] == ["42", "42"] and result.trace[0].error is None


def test_one_bad_problem_in_a_batch_costs_only_itself(tiny_lm):
    s = seeker(tiny_lm, Recorder([0.0]), max_iters=1)
    seen = []
    out = s.solve_batch(["What is 2 + 3?", "  ", "What is 4 + 4?"], ["5", None, "8"], return_exceptions=True,
                        on_attempt=lambda i, a: seen.append(i))
    assert isinstance(out[0], SeekResult) and isinstance(out[1], ValueError) and isinstance(out[2], SeekResult)
    assert sorted(set(seen)) == [0, 2]  # attempts are reported under the problems' own indices
    assert [a.text for a in out[2].trace] == [a.text for a in s.solve("What is 4 + 4?", "8").trace]
    with pytest.raises(ValueError, match="non-empty"):
        s.solve_batch(["What is 2 + 3?", "  "])


def test_references_must_be_one_per_problem_not_a_string(tiny_lm):
    with pytest.raises(ValueError, match="references must be a list with one entry per problem, got a str"):
        seeker(tiny_lm, Recorder()).solve_batch(["a?", "b?"], references="12")


def test_the_search_streams_each_attempt_as_it_happens_then_the_result(tiny_lm):
    s = seeker(tiny_lm, Recorder([0.0, 0.0, 1.0]), max_iters=4)
    events = list(s.iter_solve("What is 2 + 3?", reference="5"))
    assert [e.kind for e in events] == ["attempt", "attempt", "attempt", "result"]
    assert [e.attempt.iteration for e in events[:3]] == [0, 1, 2]
    result = events[-1].result
    assert result.stop_reason == "threshold" and result.trace == [e.attempt for e in events[:3]]
    again = seeker(tiny_lm, Recorder([0.0, 0.0, 1.0]), max_iters=4).solve("What is 2 + 3?", reference="5")
    assert [a.text for a in again.trace] == [a.text for a in result.trace]  # solve consumes the same stream


def test_a_batch_streams_results_as_problems_finish(tiny_lm):
    s = seeker(tiny_lm, lambda text, reference: float(reference == "stop"), max_iters=2)
    events = list(s.iter_solve(["What is 2 + 3?", "What is 4 + 4?"], references=["go", "stop"]))
    results = [(e.index, e.result.iterations) for e in events if e.kind == "result"]
    assert results == [(1, 0), (0, 2)]  # the problem that passed at once is final first


def test_closing_the_stream_stops_the_search_and_frees_the_model(tiny_lm, monkeypatch):
    import latentseek_agents.generation as generation

    decodes = []
    real = generation.continue_decoding
    monkeypatch.setattr(generation, "continue_decoding", lambda *a, **k: decodes.append(1) or real(*a, **k))
    reward = Recorder([0.0])
    stream = seeker(tiny_lm, reward, max_iters=8).iter_solve("What is 2 + 3?")
    first = next(stream)
    assert first.kind == "attempt" and len(decodes) == 1
    stream.close()  # an agent gives up, a client disconnects
    assert tiny_lm.lock.acquire(blocking=False)  # free at once: nothing was decoding
    tiny_lm.lock.release()
    assert len(decodes) == 1 and len(reward.calls) == 1  # no step ran after the close


def test_a_cancel_event_stops_a_search_mid_decode(tiny_lm):
    import threading

    from latentseek_agents.cancel import Cancelled

    cancel = threading.Event()

    def reward(text):
        cancel.set()  # cancelled while the first answer is being scored: the next decode stops
        return 0.0

    stream = seeker(tiny_lm, reward, max_iters=8, max_new_tokens=64).iter_solve("What is 2 + 3?", cancel=cancel)
    with pytest.raises(Cancelled, match="the caller cancelled"):
        list(stream)
    assert tiny_lm.lock.acquire(blocking=False)
    tiny_lm.lock.release()


def test_a_sampled_continuation_explores_past_the_prefix_and_is_seeded(tiny_lm):
    def texts(**settings):
        result = seeker(tiny_lm, Recorder([0.0]), max_iters=2, **settings).solve("What is 2 + 3?")
        return [a.text for a in result.trace]

    greedy, sampled = texts(), texts(continuation_temperature=1.0)
    assert sampled[0] == greedy[0]  # the first answer stays greedy
    assert sampled[1:] != greedy[1:] and sampled == texts(continuation_temperature=1.0)
    with pytest.raises(ValueError, match="continuation_temperature must be a finite number >= 0"):
        LatentSeekConfig(continuation_temperature=-0.5)


def test_an_update_that_repeats_an_answer_restarts_from_a_fresh_sample(tiny_lm):
    def trace(**settings):  # lr so small that an update reproduces the answer it started from
        return seeker(tiny_lm, Recorder([0.0]), max_iters=3, lr=1e-9, **settings).solve("What is 2 + 3?").trace

    stuck, restarted = trace(), trace(restart_on_repeat=True)
    assert len({a.text for a in stuck}) == 1  # without restarts: the same answer four times
    assert [a.text for a in restarted[:2]] == [a.text for a in stuck[:2]]  # update 1 repeats the first answer
    assert restarted[2].prefix_tokens == 0 and restarted[2].text != stuck[0].text  # so attempt 2 is a sample
    assert restarted[3].prefix_tokens > 0 and restarted[3].text != stuck[0].text  # then steps from its latents


def test_several_samples_per_update_are_each_scored_and_stop_the_search_together(tiny_lm):
    reward = Recorder([0.0, 0.0, 0.9, 0.0])  # the first answer, then update 1's three samples: the 2nd passes
    result = seeker(tiny_lm, reward, max_iters=3, policy="sample", samples_per_step=3).solve("What is 2 + 3?")
    assert [a.iteration for a in result.trace] == [0, 1, 1, 1] and result.iterations == 1
    assert (result.stop_reason, result.chosen) == ("threshold", 2)  # the update's group is scored in full
    full = seeker(tiny_lm, Recorder([0.0]), max_iters=2, policy="sample", samples_per_step=3).solve("What is 2 + 3?")
    assert [a.iteration for a in full.trace] == [0, 1, 1, 1, 2, 2, 2] and full.iterations == 2
    assert all(a.prefix_tokens > 0 for a in full.trace[1:])


def test_a_group_of_samples_is_weighted_by_each_reward_minus_the_groups_mean():
    from latentseek_agents.result import Attempt
    from latentseek_agents.seek import _Member, _weights

    member = _Member(0, samples=[[1], [2], [3]], trace=[Attempt(iteration=i, text="", score=s, passed=False, tokens=1)
                                                        for i, s in enumerate([0.0, 0.2, 0.8, 0.5])])
    assert _weights(member) == pytest.approx([-0.3, 0.3, 0.0])
    member.samples = [[1]]
    assert _weights(member) == pytest.approx((0.5 - 1) - (0.0 + 0.2 + 0.8 - 3) / 3)  # one sample: reward - baseline


def test_a_population_refines_several_first_answers_each_with_its_own_latents(tiny_lm):
    reward = Recorder([0.0])
    result = seeker(tiny_lm, reward, max_iters=2, population=3).solve("What is 2 + 3?")
    alone = seeker(tiny_lm, Recorder([0.0]), max_iters=2).solve("What is 2 + 3?")
    assert [a.iteration for a in result.trace] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert result.trace[0].text == alone.trace[0].text  # the first chain starts from the greedy answer
    assert len({a.text for a in result.trace[:3]}) == 3  # the others from samples
    assert all(a.prefix_tokens > 0 for a in result.trace[3:])
    assert result.trace[3].text == alone.trace[1].text  # chain 1 moves exactly as the single search does
    passing = seeker(tiny_lm, Recorder([0.0, 0.9, 0.0]), max_iters=2, population=3).solve("What is 2 + 3?")
    assert (len(passing.trace), passing.stop_reason, passing.chosen) == (3, "threshold", 1)  # any chain passing


def test_samples_per_step_needs_the_sample_policy():
    with pytest.raises(ValueError, match="samples_per_step > 1 samples prefixes from the latents: it needs "
                                         "policy='sample'"):
        LatentSeekConfig(samples_per_step=2)


def test_one_problems_cancel_event_drops_only_that_problem(tiny_lm):
    import threading

    left = threading.Event()
    scored = []

    def reward(text, reference):
        scored.append(reference)
        if reference == "leaves":
            left.set()  # its client leaves while its first answer is scored
        return 0.0

    s = seeker(tiny_lm, reward, max_iters=3)
    events = list(s.iter_solve(["What is 2 + 3?", "What is 4 + 4?"], references=["stays", "leaves"],
                               cancel=[None, left]))
    assert [(e.kind, e.index) for e in events if e.kind == "result"] == [("result", 0)]
    assert [e.index for e in events if e.kind == "attempt"] == [0, 1, 0, 0, 0]  # nothing for 1 after it left
    assert scored.count("leaves") == 1 and scored.count("stays") == 4
    alone = seeker(tiny_lm, lambda text, reference: 0.0, max_iters=3).solve("What is 2 + 3?", "stays")
    assert events[-1].result.text == alone.text  # the other problem's search is the one it has alone


def test_a_cancel_event_set_mid_decode_ends_that_rows_decoding(tiny_lm):
    import threading

    from latentseek_agents.generation import continue_decoding, prefill

    ids = [tiny_lm.tokenizer("What is 2 + 3?")["input_ids"]] * 2
    gone = threading.Event()
    gone.set()
    gens = continue_decoding(tiny_lm, prefill(tiny_lm, ids, room=16), [0, 1], 16, stop_ids=(),
                             cancel_rows=[None, gone])
    assert (len(gens[0].tokens), len(gens[1].tokens)) == (16, 1)  # the set row stopped after one step


def test_each_problem_can_bring_its_own_reward_context(tiny_lm):
    reward = Recorder([1.0])
    s = seeker(tiny_lm, reward)
    list(s.iter_solve(["a?", "b?"], references=["1", "2"], contexts=[{"tests": "t1"}, {"tests": "t2"}], lang="py"))
    seen = {call[1]["reference"]: (call[1]["tests"], call[1]["lang"]) for call in reward.calls}
    assert seen == {"1": ("t1", "py"), "2": ("t2", "py")}
    with pytest.raises(ValueError, match="contexts has 1 entries for 2 problems"):
        s.iter_solve(["a?", "b?"], contexts=[{}])


def test_a_stream_can_report_problems_that_cant_run_and_solve_the_rest(tiny_lm):
    s = seeker(tiny_lm, Recorder([1.0]))
    events = list(s.iter_solve(["What is 2 + 3?", "  "], references=["5", None], return_exceptions=True))
    assert [(e.kind, e.index) for e in events] == [("error", 1), ("attempt", 0), ("result", 0)]
    assert isinstance(events[0].error, ValueError) and "non-empty" in str(events[0].error)
    with pytest.raises(ValueError, match="non-empty"):
        s.iter_solve(["What is 2 + 3?", "  "])  # raised before anything runs


@pytest.mark.parametrize(("select", "chosen"), [("first_pass", 2), ("best", 1)])
def test_the_result_names_the_attempt_it_returns(tiny_lm, select, chosen):
    result = seeker(tiny_lm, Recorder([0.1, 0.7, 0.3]), max_iters=2, select=select).solve("What is 2 + 3?")
    assert result.chosen == chosen and result.chosen_attempt is result.trace[chosen]
    assert result.text == result.trace[chosen].text and result.to_dict()["chosen"] == chosen


def test_each_attempt_records_whether_it_used_its_whole_budget(tiny_lm):
    short = LatentSeek(tiny_lm, reward=lambda text: 0.0, config=LatentSeekConfig(max_iters=2, lr=0.3, max_new_tokens=5))
    trace = short.solve("What is 2 + 3?").trace
    assert [a.tokens for a in trace] == [5, 5, 5]  # a random model does not stop within 5 tokens
    assert all(a.truncated for a in trace)


# ---------------------------------------------------------------- misuse is refused by name, before any work
def test_an_empty_batch_is_an_empty_result_and_an_empty_stream(tiny_lm):
    seeker = LatentSeek(tiny_lm, reward=lambda text: 0.0, config=LatentSeekConfig(max_iters=1, max_new_tokens=4))
    assert seeker.solve_batch([]) == []
    stream = seeker.iter_solve([])
    assert list(stream) == []
    stream.close()  # a real generator: closing it is always allowed
    with pytest.raises(ValueError, match="non-empty list"):
        seeker.solve([])  # one problem that is an empty conversation


def test_bytes_and_a_non_callable_on_attempt_are_named(tiny_lm):
    seeker = LatentSeek(tiny_lm, reward=lambda text: 0.0, config=LatentSeekConfig(max_iters=1, max_new_tokens=4))
    with pytest.raises(ValueError, match=r"got bytes \(decode bytes to text first\)"):
        seeker.solve(b"What is 2 + 2?")
    with pytest.raises(ValueError, match="on_attempt must be None or a callable"):
        seeker.solve("What is 2 + 2?", on_attempt="nope")


def test_a_model_that_is_not_one_is_named_as_such():
    with pytest.raises(ValueError, match="model must be None, 'default', a hub id or path.*got object"):
        LatentSeek(object())
