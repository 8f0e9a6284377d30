"""Final-answer extraction (shared by the engine's SeekResult.answer and MathAnswer)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from latentseek_agents.answers import answer_is, extract_answer, gsm8k_gold, json_final_answer, last_boxed


def test_last_boxed_wins_and_braces_are_matched():
    assert last_boxed("\\boxed{1} then \\boxed{\\frac{2}{3}}") == "\\frac{2}{3}"
    assert last_boxed("\\boxed{a{b}c}") == "a{b}c"
    assert last_boxed("\\boxed{unclosed") is None
    assert last_boxed("no box") is None


def test_json_and_answer_is():
    assert json_final_answer('```json\n{"thought process": "x", "final answer": "18"}\n```') == "18"
    assert json_final_answer('{"final_answer": 7.5}') == "7.5"
    assert json_final_answer('broken {"final answer": "12", ') == "12"
    assert answer_is("Thus, the answer is $18$.") == "18"
    assert answer_is("Answer: 42\n") == "42"


def test_auto_tries_each_in_turn():
    assert extract_answer("the answer is 5, i.e. \\boxed{5}") == "5"
    assert extract_answer('{"final answer": 9}') == "9"
    assert extract_answer("") is None and extract_answer(None) is None


def test_gsm8k_gold():
    assert gsm8k_gold("so 3 + 4 = 7\n#### 1,234") == "1234"
    assert gsm8k_gold("72") == "72"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_property_extraction_never_raises(text):
    for how in ("last_boxed", "json", "answer_is", "auto"):
        value = extract_answer(text, how)
        assert value is None or isinstance(value, str)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="{}\\"), min_size=1, max_size=40))
def test_property_boxed_content_round_trips(content):
    assert last_boxed(f"prefix \\boxed{{{content}}} suffix") == content.strip()


def _last_boxed_by_rescanning(text):
    """The old definition, one forward scan per box (quadratic): the reference for the linear pass."""
    import re

    found = None
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth = 1
        for i in range(match.end(), len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                found = text[match.end():i].strip()
                break
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["\\boxed{", "\\fbox {", "{", "}", "7", " x ", "\\frac"]), max_size=40))
def test_one_pass_extraction_agrees_with_rescanning_every_box(parts):
    text = "".join(parts)
    assert last_boxed(text) == _last_boxed_by_rescanning(text)


def test_pathological_boxes_are_read_in_one_pass():
    assert last_boxed("\\boxed{" * 20_000) is None  # 140 kB of unclosed boxes (was ~98 s)
    assert last_boxed("\\boxed{" * 5_000 + "}" * 5_000) == ""  # the innermost, latest-opened box
    assert last_boxed("\\boxed{a \\boxed{b}}") == "b"
