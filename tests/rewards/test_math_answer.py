"""MathAnswer: explicit extraction, math-verify equivalence, and the rounding false positive."""

import pytest

from latentseek_agents.rewards import MathAnswer


@pytest.mark.parametrize(("completion", "reference", "score"), [
    ("so the total is \\boxed{72}", "72", 1.0),
    ("so the total is \\boxed{72}", "Natalia sold 48/2 = 24 clips.\n#### 72", 1.0),
    ("\\boxed{0.5}", "\\frac{1}{2}", 1.0),
    ("\\boxed{1,200}", "1200", 1.0),
    ("first \\boxed{3}, no wait: \\boxed{4}", "4", 1.0),
    ("first \\boxed{4}, no wait: \\boxed{3}", "4", 0.0),
    ("\\boxed{71}", "72", 0.0),
])
def test_equivalence(completion, reference, score):
    assert MathAnswer().check(completion, reference=reference).score == score


def test_rounding_false_positive_of_math_verify_is_rejected():
    result = MathAnswer().check("\\boxed{\\frac{1}{2^{99}}}", reference="\\frac{1}{2^{98}}")
    assert result.score == 0.0
    assert "rounding_guard" in result.details


def test_no_boxed_answer_fails_with_feedback():
    result = MathAnswer().check("The answer is 72.", reference="72")
    assert result.score == 0.0 and "no final answer found" in result.feedback
    assert MathAnswer(extract="auto").check("The answer is 72.", reference="72").score == 1.0


def test_missing_reference_is_skipped():
    assert MathAnswer().check("\\boxed{1}").score is None


def test_trl_call_shape():
    scores = MathAnswer()(["\\boxed{2}", "\\boxed{3}"], solution=["2", "2"])
    assert scores == [1.0, 0.0]


def test_bad_settings():
    with pytest.raises(ValueError, match="extract must be one of"):
        MathAnswer(extract="first_number")
    with pytest.raises(ValueError, match="timeout_s must be a number > 0"):
        MathAnswer(timeout_s=0)
