"""VoteAgreement: a gold-free reward from the problem's own samples (tiny random model and the default model)."""

import pickle

import pytest

from latentseek_agents import LatentSeek, LatentSeekConfig
from latentseek_agents.rewards import VoteAgreement

QUESTION = [{"role": "user", "content": "What is 2 + 3?"}]


def test_samples_are_drawn_once_per_problem_and_reused(tiny_lm):
    reward = VoteAgreement(tiny_lm, samples=3, max_new_tokens=8)
    first = reward.votes(QUESTION)
    assert len(first) == 3 and reward.votes(QUESTION) is first  # cached, not drawn again
    assert reward.votes([{"role": "user", "content": "What is 4 + 4?"}]) is not first


def test_a_completion_without_a_final_answer_scores_zero_and_a_missing_question_skips(tiny_lm):
    reward = VoteAgreement(tiny_lm, samples=2, max_new_tokens=8)
    assert reward.check("no answer here", prompt="What is 2 + 3?").score == 0.0
    assert reward.check("\\boxed{5}").score is None  # nothing to sample answers for


def test_the_score_is_the_share_of_samples_that_agree(tiny_lm):
    reward = VoteAgreement(tiny_lm, samples=4, max_new_tokens=8)
    votes = reward.votes(QUESTION)
    result = reward.check("\\boxed{5}", messages=QUESTION)
    assert result.score == sum(v == "5" for v in votes) / 4 and result.details["votes"] == votes



def test_the_check_that_draws_the_samples_counts_their_tokens_and_later_checks_count_none(tiny_lm):
    reward = VoteAgreement(tiny_lm, samples=3, max_new_tokens=8)
    first = reward.check("\\boxed{5}", messages=QUESTION).details["decoded_tokens"]
    again = reward.check("\\boxed{6}", messages=QUESTION).details["decoded_tokens"]
    assert 3 <= first <= 3 * 8 and again == 0  # the tiny model may stop early; each sample decodes >= 1

def test_it_travels_to_worker_processes_without_its_model_or_samples(tiny_lm):
    reward = VoteAgreement("default", samples=2)
    copy = pickle.loads(pickle.dumps(reward))
    assert (copy.model, copy.samples, copy._lm) == ("default", 2, None)


@pytest.mark.parametrize(("settings", "message"), [
    ({"samples": 0}, "samples must be an integer >= 1"),
    ({"temperature": 0}, "temperature must be a finite number > 0"),
    ({"max_new_tokens": 0}, "max_new_tokens must be an integer >= 1"),
])
def test_settings_are_checked(settings, message):
    with pytest.raises(ValueError, match=message):
        VoteAgreement("default", **settings)


@pytest.mark.default_model
def test_on_a_real_model_an_answer_scores_the_share_of_samples_that_reach_it():
    from latentseek_agents.prompts import build_messages

    asked = build_messages("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
                           "in May. How many clips did Natalia sell altogether in April and May?")
    reward = VoteAgreement("default", samples=6, max_new_tokens=160)
    votes = reward.votes(asked)
    reached = [v for v in votes if v is not None]
    assert reached, votes  # the 135M model states a final answer in some of its samples ("The answer is: ...")
    answer = max(reached, key=votes.count)
    assert reward.check(f"The answer is: {answer}", messages=asked).score == votes.count(answer) / 6 > 0
    assert reward.check("\\boxed{123456789}", messages=asked).score == 0.0  # an answer no sample reached


def test_a_search_can_use_it_as_its_reward(tiny_lm):
    reward = VoteAgreement(tiny_lm, samples=2, max_new_tokens=8)
    result = LatentSeek(tiny_lm, reward, LatentSeekConfig(max_iters=1, lr=0.3, max_new_tokens=8)).solve(QUESTION)
    assert len(result.trace) == 2 and result.stop_reason == "max_iters"
    assert all(a.score == 0.0 and "no final answer" in a.feedback for a in result.trace)  # random text: no answer
