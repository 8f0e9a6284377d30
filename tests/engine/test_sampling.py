"""BestOfN and SelfConsistency: sampling at LatentSeek's budget, with its interface (tiny random model)."""

import threading

import pytest

from latentseek_agents import BestOfN, LatentSeek, LatentSeekConfig, SelfConsistency
from latentseek_agents.answers import majority

FAST = dict(max_new_tokens=16)


class Scripted:
    """A reward returning scripted scores in call order, recording the texts it saw."""

    def __init__(self, scores):
        self.scores, self.texts = list(scores), []

    def __call__(self, completion):
        self.texts.append(completion)
        return self.scores[min(len(self.texts) - 1, len(self.scores) - 1)]


def test_best_of_n_starts_from_the_greedy_answer_then_samples_until_the_reward_passes(tiny_lm):
    reward = Scripted([0.1, 0.3, 0.95, 0.0])
    result = BestOfN(tiny_lm, reward, LatentSeekConfig(max_iters=5, **FAST)).solve("What is 2 + 3?")
    greedy = LatentSeek(tiny_lm, lambda text: 0.0, LatentSeekConfig(max_iters=0, **FAST)).solve("What is 2 + 3?")
    assert result.trace[0].text == greedy.text  # the same first answer as the search's
    assert (len(result.trace), result.stop_reason, result.chosen, result.score) == (3, "threshold", 2, 0.95)
    assert len({a.text for a in result.trace}) > 1  # the others are samples


def test_best_of_n_returns_the_best_scoring_answer_when_none_passes(tiny_lm):
    reward = Scripted([0.1, 0.6, 0.3, 0.2])
    result = BestOfN(tiny_lm, reward, LatentSeekConfig(max_iters=3, **FAST)).solve("What is 2 + 3?")
    assert (len(result.trace), result.stop_reason, result.chosen) == (4, "max_iters", 1)
    assert result.text == result.trace[1].text


@pytest.mark.parametrize("kind", [BestOfN, SelfConsistency])
def test_they_spend_the_generations_a_latentseek_run_with_the_same_config_may(tiny_lm, kind):
    config = LatentSeekConfig(max_iters=1, population=3, **FAST)  # a population: 3 chains x 2 rounds
    result = kind(tiny_lm, lambda text: 0.0, config).solve("What is 2 + 3?")
    assert len(result.trace) == config.max_generations == 6 and result.stop_reason == "max_iters"


def test_samples_are_reproducible_for_a_seed_and_change_with_it(tiny_lm):
    def texts(seed):
        config = LatentSeekConfig(max_iters=3, seed=seed, **FAST)
        return [a.text for a in BestOfN(tiny_lm, lambda text: 0.0, config).solve("What is 2 + 3?").trace]

    assert texts(1) == texts(1) and texts(1) != texts(2)


def test_self_consistency_votes_over_k_plus_one_samples_without_stopping_early(tiny_lm):
    reward = Scripted([1.0])
    result = SelfConsistency(tiny_lm, reward, LatentSeekConfig(max_iters=3, **FAST)).solve("What is 2 + 3?")
    assert len(result.trace) == 4 and result.stop_reason == "max_iters"  # a passing score does not stop it
    assert result.chosen == majority([a.text for a in result.trace]) and result.text == result.trace[result.chosen].text
    assert len(reward.texts) == len({a.text for a in result.trace})  # each distinct sample scored once


def test_self_consistency_needs_no_reward(tiny_lm):
    result = SelfConsistency(tiny_lm, config=LatentSeekConfig(max_iters=2, **FAST)).solve("What is 2 + 3?")
    assert len(result.trace) == 3 and all(a.details.get("skipped") for a in result.trace)
    assert all(a.summary()["score"] is None for a in result.trace)  # no score is claimed


def test_a_vote_without_answers_is_never_decided_early(tiny_lm):
    voter = SelfConsistency(tiny_lm, config=LatentSeekConfig(max_iters=3, **FAST), stop_when_decided=True)
    result = voter.solve("What is 2 + 3?")  # a random model writes no final answer: nothing has a vote
    assert len(result.trace) == 4 and result.stop_reason == "max_iters"
    assert "stop_when_decided=True" in repr(voter)


def test_stop_when_decided_must_be_a_bool(tiny_lm):
    with pytest.raises(ValueError, match="stop_when_decided must be a bool, got 'yes'"):
        SelfConsistency(tiny_lm, stop_when_decided="yes")


def test_a_batch_stops_each_problem_on_its_own(tiny_lm):
    sampler = BestOfN(tiny_lm, lambda text, reference: float(reference == "easy"), LatentSeekConfig(max_iters=2, **FAST))
    easy, hard = sampler.solve_batch(["What is 2 + 3?", "What is 4 + 4?"], ["easy", "hard"])
    assert (len(easy.trace), easy.stop_reason) == (1, "threshold")
    assert (len(hard.trace), hard.stop_reason) == (3, "max_iters")


def test_they_share_the_search_stream_and_its_per_problem_cancel(tiny_lm):
    left = threading.Event()
    sampler = SelfConsistency(tiny_lm, lambda text, reference: left.set() or 0.0 if reference == "b" else 0.0,
                              LatentSeekConfig(max_iters=2, **FAST))
    events = list(sampler.iter_solve(["a?", "b?"], ["a", "b"], cancel=[None, left]))
    assert [e.index for e in events if e.kind == "result"] == [0]
    assert sum(e.index == 1 for e in events) == 1  # b's first sample, then it left


@pytest.mark.parametrize("temperature", [0, -1, float("nan")])
def test_the_temperature_must_be_positive(tiny_lm, temperature):
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        BestOfN(tiny_lm, lambda text: 0.0, temperature=temperature)
