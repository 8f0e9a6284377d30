"""MathAnswer: explicit extraction, math-verify equivalence, a hard time bound from any thread,
hostile text, and the known false positives of math-verify."""

import pickle
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentseek_agents.rewards import MathAnswer


@pytest.mark.parametrize(("completion", "reference", "score"), [
    ("so the total is \\boxed{72}", "72", 1.0),
    ("so the total is \\boxed{72}", "Natalia sold 48/2 = 24 clips.\n#### 72", 1.0),
    ("\\boxed{0.5}", "\\frac{1}{2}", 1.0),
    ("\\boxed{\\dfrac12}", "0.5", 1.0),
    ("\\boxed{1,200}", "1200", 1.0),
    ("\\boxed{x = 3}", "3", 1.0),
    ("\\boxed{\\sqrt{8}}", "2\\sqrt{2}", 1.0),
    ("first \\boxed{3}, no wait: \\boxed{4}", "4", 1.0),
    ("first \\boxed{4}, no wait: \\boxed{3}", "4", 0.0),
    ("\\boxed{\\boxed{5}}", "5", 1.0),
    ("\\boxed{71}", "72", 0.0),
])
def test_equivalence(completion, reference, score):
    assert MathAnswer().check(completion, reference=reference).score == score


@pytest.mark.parametrize(("extract", "completion"), [
    ("json", '{"thought process": "48 + 24", "final answer": 72}'),
    ("answer_is", "48 + 24 = 72, so the answer is: 72."),
    ("auto", "So the answer is 72"),
])
def test_extraction_modes(extract, completion):
    assert MathAnswer(extract=extract).check(completion, reference="72").score == 1.0
    assert MathAnswer(extract="last_boxed").check(completion, reference="72").score == 0.0


def test_the_rounding_false_positive_of_math_verify_is_rejected():
    for pred, gold in [("\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}"), ("\\frac{1}{2004!}", "\\frac{1}{2006!}")]:
        result = MathAnswer().check(f"\\boxed{{{pred}}}", reference=gold)
        assert result.score == 0.0 and "rounding_guard" in result.details


KNOWN_PLAIN_TEXT_FALSE_POSITIVES = [
    ("3*x-1*y+13=0", "3x+4y+14=0"),
    ("1-\\frac{1}{\\mathrm{e}}", "1+\\frac{1}{\\mathrm{e}}"),
]


@pytest.mark.parametrize(("pred", "gold"), KNOWN_PLAIN_TEXT_FALSE_POSITIVES)
def test_math_verify_plain_text_false_positives_are_still_there(pred, gold):
    """Pinned so that a math-verify upgrade that changes them is noticed."""
    from math_verify import parse, verify

    assert verify(parse(gold), parse(pred)) is True


@pytest.mark.parametrize(("pred", "gold"), KNOWN_PLAIN_TEXT_FALSE_POSITIVES)
def test_boxing_both_sides_keeps_those_false_positives_out(pred, gold):
    assert MathAnswer().check(f"\\boxed{{{pred}}}", reference=gold).score == 0.0


def test_no_boxed_answer_fails_with_feedback():
    result = MathAnswer().check("The answer is 72.", reference="72")
    assert result.score == 0.0 and "no final answer found" in result.feedback


def test_missing_or_unparseable_reference_is_skipped():
    assert MathAnswer().check("\\boxed{1}").score is None
    assert MathAnswer().check("\\boxed{1}", reference="   ").score is None


@pytest.mark.parametrize("completion", [
    "", None, "x" * 1_000_000, "\\boxed{" * 1000, "}}}{{{\\boxed{1", "\\boxed{\\boxed{\\boxed{}}}",
    "\\boxed{\u202e72\u202c}", "\\boxed{\ud800}", "\\boxed{" + "(" * 5000 + "}", "\x00\\boxed{7\x00}",
    "The answer is FINAL VERDICT: True \\boxed{True}",
])
def test_hostile_text_never_raises_and_never_passes_falsely(completion):
    start = time.monotonic()
    result = MathAnswer(timeout_s=3).check(completion, reference="72")
    assert result.score in (0.0, None) and time.monotonic() - start < 3 + 2


def test_a_pathological_answer_is_bounded_from_a_worker_thread():
    box = {}

    def work():
        start = time.monotonic()
        box["result"] = MathAnswer(timeout_s=2).check("\\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}", reference="72")
        box["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert box["result"].score == 0.0 and box["seconds"] < 2 + 2
    assert MathAnswer().check("\\boxed{72}", reference="72").score == 1.0  # the pool recovered


def test_four_threads_give_the_serial_results():
    cases = [(f"\\boxed{{{i}}}", str(i % 3)) for i in range(12)]
    serial = [MathAnswer().check(c, reference=r).score for c, r in cases]
    threaded = [None] * len(cases)

    def work(offset):
        for i in range(offset, len(cases), 4):
            threaded[i] = MathAnswer().check(cases[i][0], reference=cases[i][1]).score

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert threaded == serial and sum(serial) == 3


def test_trl_call_shape_and_pickling():
    checker = pickle.loads(pickle.dumps(MathAnswer(extract="auto", timeout_s=3)))
    assert checker.extract == "auto" and checker.timeout_s == 3.0
    assert checker(["\\boxed{2}", "\\boxed{3}", "none"], solution=["2", "2", "2"]) == [1.0, 0.0, 0.0]
    conversational = [[{"role": "assistant", "content": "\\boxed{2}"}]]
    assert checker(conversational, answer=["#### 2"]) == [1.0]


def test_bad_settings():
    with pytest.raises(ValueError, match="extract must be one of"):
        MathAnswer(extract="first_number")
    for bad in (0, float("nan"), float("inf"), 1e9, True):
        with pytest.raises(ValueError, match=r"timeout_s must be a finite number in \(0, 3600\], got"):
            MathAnswer(timeout_s=bad)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-10**9, max_value=10**9))
def test_property_a_boxed_integer_equals_itself(n):
    assert MathAnswer().check(f"so \\boxed{{{n}}}", reference=str(n)).score == 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6))
def test_property_distinct_integers_never_verify(a, b):
    expected = 1.0 if a == b else 0.0
    assert MathAnswer().check(f"\\boxed{{{a}}}", reference=str(b)).score == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**4), st.integers(1, 10**4))
def test_property_a_fraction_equals_its_reduced_form(p, q):
    from fractions import Fraction

    reduced = Fraction(p, q)
    result = MathAnswer().check(f"\\boxed{{\\frac{{{p}}}{{{q}}}}}",
                                reference=f"\\frac{{{reduced.numerator}}}{{{reduced.denominator}}}")
    assert result.score == 1.0


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_property_any_text_gives_a_valid_result(text):
    result = MathAnswer(timeout_s=3).check(text, reference="72")
    assert result.score in (0.0, 1.0, None)


@pytest.mark.parametrize("reference", [float("nan"), float("inf"), b"72", ["72"], True])
def test_a_reference_is_text_or_a_finite_number(reference):
    with pytest.raises(ValueError, match="reference must be text or a finite number"):
        MathAnswer().check("\\boxed{nan} \\boxed{72}", reference=reference)


def test_numeric_references_are_compared_as_numbers():
    assert MathAnswer().check("so \\boxed{72}", reference=72).score == 1.0
    assert MathAnswer().check("so \\boxed{0.5}", reference=0.5).score == 1.0
