"""Final-answer extraction (shared by the engine's SeekResult.answer and MathAnswer)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentseek_agents.answers import (
    answer_is,
    extract_answer,
    gsm8k_gold,
    json_final_answer,
    last_boxed,
    majority,
    vote_decided,
    vote_key,
)


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


def test_a_vote_is_decided_once_no_remaining_samples_could_change_its_winner():
    five, three, none = "\\boxed{5}", "so \\boxed{3.0}", "no answer"
    assert vote_decided([five, five, three], 1)  # 2 against 1 + 1: a tie, and 5 came first
    assert not vote_decided([three, five, five], 1)  # the same counts, but a tie would go to 3
    assert not vote_decided([five, five], 3)  # three unseen votes for one new answer would beat 5
    assert vote_decided([five, five, none], 2)  # a new answer could only tie, after 5
    assert not vote_decided([none, none], 1)  # nothing has a vote yet
    assert vote_decided([none], 0) and vote_decided([], 0)  # nothing left to draw: it is what it is


def _winner(texts):
    return vote_key(texts[majority(texts)]) if texts else None


def test_a_decided_vote_returns_what_every_possible_rest_of_it_would():
    answers = ["\\boxed{1}", "\\boxed{2}", "no answer"]  # prefixes use these; the rest may also bring a new one
    for length in range(5):
        for prefix in itertools.product(answers, repeat=length):
            for remaining in range(4):
                rests = itertools.product(answers + ["\\boxed{3}"], repeat=remaining)
                unchanged = all(_winner(list(prefix) + list(rest)) == _winner(list(prefix)) for rest in rests)
                assert vote_decided(list(prefix), remaining) == unchanged, (prefix, remaining)


def test_the_remaining_count_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="remaining must be an integer >= 0, got -1"):
        vote_decided(["\\boxed{1}"], -1)
