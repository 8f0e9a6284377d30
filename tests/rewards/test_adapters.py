"""Adapters: checkers as DSPy metrics and reward functions, and TRL / DSPy / plain callables as checkers."""

from types import SimpleNamespace

import pytest

from latentseek_agents import CheckResult
from latentseek_agents.rewards import (MathAnswer, as_dspy_metric, as_dspy_reward_fn, from_callable,
                                       from_dspy_metric, from_trl)


def test_dspy_metric_returns_a_score_for_evaluate_and_a_bool_for_optimizers():
    metric = as_dspy_metric(MathAnswer(extract="auto"), threshold=1.0)
    example, right, wrong = (SimpleNamespace(question="2+2?", answer="4"),
                             SimpleNamespace(answer="the answer is 4"), SimpleNamespace(answer="5"))
    assert metric(example, right) == 1.0 and metric(example, wrong) == 0.0
    assert metric(example, right, trace=[]) is True and metric(example, wrong, trace=[]) is False


def test_dspy_metric_gepa_form_returns_score_and_feedback():
    dspy = pytest.importorskip("dspy")
    metric = as_dspy_metric(MathAnswer(extract="auto"))
    out = metric(dspy.Example(question="2+2?", answer="4"), dspy.Prediction(answer="the answer is 5"), None,
                 "predict", [])
    assert out.score == 0.0 and "does not equal" in out.feedback


def test_dspy_reward_fn_shape():
    fn = as_dspy_reward_fn(MathAnswer(extract="auto"), reference="4")
    assert fn({"question": "2+2?"}, SimpleNamespace(answer="The answer is 4")) == 1.0
    by_field = as_dspy_reward_fn(MathAnswer(extract="auto"), reference_field="gold")
    assert by_field({"question": "q", "gold": "5"}, {"answer": "answer: 4"}) == 0.0


def test_from_dspy_metric():
    check = from_dspy_metric(lambda ex, pred, trace=None: ex.answer == pred.answer)
    assert check.check("4", prompt="2+2?", reference="4").score == 1.0
    assert check.check("5", prompt="2+2?", reference="4").score == 0.0


def test_from_trl_passes_columns_and_reads_one_value():
    seen = {}

    def reward(completions, prompts=None, solution=None, **kwargs):
        seen.update(prompts=prompts, solution=solution, **kwargs)
        return [None if solution[0] is None else float(completions[0] == solution[0])]

    check = from_trl(reward)
    assert check.check("72", prompt="q", reference="72", difficulty="easy").score == 1.0
    assert seen == {"prompts": ["q"], "solution": ["72"], "difficulty": ["easy"]}
    assert check.check("72").score is None


def test_from_trl_rejects_a_wrong_length():
    with pytest.raises(TypeError, match="one value per completion"):
        from_trl(lambda completions, **kw: [1.0, 1.0]).check("x")


def test_from_callable_accepts_floats_bools_and_results():
    assert from_callable(lambda text: 0.25).check("x").score == 0.25
    assert from_callable(lambda text, reference: text == reference).check("a", reference="a").score == 1.0
    assert from_callable(lambda text: CheckResult(score=0.5, feedback="half")).check("x").feedback == "half"
    with pytest.raises(TypeError, match="fn must be callable"):
        from_callable(3)
