"""Combinators: weighted / all_of / any_of / gate, with None meaning "skip" (as in TRL)."""

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentseek_agents.rewards import CheckResult, MathAnswer, all_of, any_of, gate, weighted


def const(score, passed=None, feedback=""):
    return lambda text: CheckResult(score=score, passed=passed, feedback=feedback)


def test_weighted_mean_keeps_each_part():
    result = weighted((const(1.0, feedback="good"), 3), (const(0.0, feedback="bad"), 1)).check("x")
    assert result.score == 0.75
    assert [p["score"] for p in result.details["parts"]] == [1.0, 0.0]
    assert "good" in result.feedback and "bad" in result.feedback


def test_skipped_parts_are_left_out_and_all_skipped_skips():
    assert weighted((const(None), 5), (const(0.5), 1)).check("x").score == 0.5
    assert weighted(const(None), const(None)).check("x").score is None
    assert all_of(const(None), const(0.2)).check("x").score == 0.2
    assert any_of(const(None)).check("x").score is None


def test_all_of_and_any_of():
    parts = (const(1.0, True), const(0.4, False, "too short"))
    strict = all_of(*parts).check("x")
    assert (strict.score, strict.passed) == (0.4, False) and "too short" in strict.feedback
    lenient = any_of(*parts).check("x")
    assert (lenient.score, lenient.passed) == (1.0, True)


def test_gate_scores_only_well_formed_answers():
    has_box = lambda text: "\\boxed{" in text  # noqa: E731
    checker = gate(has_box, then=MathAnswer())
    assert checker.check("the answer is 72", reference="72").score == 0.0
    assert checker.check("\\boxed{72}", reference="72").score == 1.0
    assert "format check failed" in checker.check("72", reference="72").feedback


def test_a_part_that_raises_is_a_failed_part():
    def broken(text):
        raise RuntimeError("boom")

    result = weighted(broken, const(1.0)).check("x")
    assert result.score == 0.5 and "boom" in result.details["parts"][0]["error"]


def test_bad_weights():
    with pytest.raises(ValueError, match="weights must be numbers >= 0"):
        weighted((const(1.0), -1))
    with pytest.raises(ValueError, match="at least one positive weight"):
        weighted((const(1.0), 0))
    with pytest.raises(ValueError, match="at least one part"):
        all_of()


def test_combinations_of_checkers_pickle_and_work_as_trl_functions():
    combo = weighted((MathAnswer(), 2.0), (MathAnswer(extract="auto"), 1.0))
    clone = pickle.loads(pickle.dumps(combo))
    assert clone(["\\boxed{3}", "the answer is 3"], solution=["3", "3"]) == [1.0, pytest.approx(1 / 3)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(0, 1)), st.floats(0.01, 10)), min_size=1, max_size=5))
def test_property_weighted_is_a_mean_of_the_non_skipped_parts(parts):
    result = weighted(*[(const(s), w) for s, w in parts]).check("x")
    counted = [(s, w) for s, w in parts if s is not None]
    if not counted:
        assert result.score is None
    else:
        expected = sum(s * w for s, w in counted) / sum(w for _, w in counted)
        assert result.score == pytest.approx(expected)
        assert 0.0 <= result.score <= 1.0 + 1e-12


def test_a_gate_batches_only_the_well_formed_answers_and_scores_like_one_by_one():
    from latentseek_agents.rewards import BaseChecker, gate

    class Batched(BaseChecker):
        def __init__(self):
            self.batches = []

        def check(self, completion, *, prompt=None, reference=None, **ctx):
            return CheckResult(score=0.5 if reference == "a" else 1.0, feedback=f"saw {completion}")

        def check_batch(self, completions, *, prompts=None, references=None):
            self.batches.append(list(completions))
            return [self.check(c, prompt=p, reference=r) for c, p, r in zip(completions, prompts, references)]

    inner = Batched()
    checker = gate(lambda text: "\\boxed{" in text, then=inner)
    texts, refs = ["\\boxed{1}", "no box", "\\boxed{2}"], ["a", "b", "c"]
    together = checker.check_batch(texts, prompts=["q"] * 3, references=refs)
    assert inner.batches == [["\\boxed{1}", "\\boxed{2}"]]
    assert [r.score for r in together] == [0.5, 0.0, 1.0]
    alone = [checker.check(t, prompt="q", reference=r) for t, r in zip(texts, refs)]
    assert [(r.score, r.feedback, r.details) for r in together] == [(r.score, r.feedback, r.details) for r in alone]
