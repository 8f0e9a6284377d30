"""DocstringExamples: the examples a user wrote in the docstring become the tests; hidden tests never run."""

import json
from pathlib import Path

import pytest

from latentseek_agents.rewards import DocstringExamples, docstring_tests

ROOT = Path(__file__).resolve().parents[2]
HUMANEVAL = [json.loads(line) for line in (ROOT / "data" / "humaneval" / "dev.jsonl").read_text().splitlines()]


def fn(doc: str, name: str = "f") -> str:
    return f'def {name}(x, y=0):\n    """{doc}\n    """\n'


def test_doctest_examples_become_asserts_and_bare_statements_setup():
    prompt = fn("Double it.\n    >>> data = [1, 2]\n    >>> f(data)  # a comment, not part of the value\n    [2, 4]"
                "\n    >>> f('a\\nb')\n    'a\\nb'")
    assert docstring_tests(prompt, "f") == "data = [1, 2]\nassert f(data) == [2, 4]\nassert f('a\\nb') == 'a\\nb'"


@pytest.mark.parametrize("line", ["f(3) == 6", "f(3) ==> 6", "f(3) => 6", "f(3) -> 6", "f(3) ➞ 6",
                                  "f(3) returns 6", "f(3) should return 6.", "f(3)   # returns 6",
                                  "* f(3) => 6", "f(3) -> 1 + 2 + 3 = 6"])
def test_prose_examples_in_every_usual_form(line):
    assert docstring_tests(fn(f"Examples:\n    {line}"), "f") == "assert f(3) == 6"


def test_only_literal_examples_are_tests():
    prompt = fn("is_happy(a) => False\n    f(a) => False\n    f('a', y=2) => true\n    f(1) => [1, 2\n    g(1) => 1"
                "\n    f(1) => 2\n    f(1) => 2")
    assert docstring_tests(prompt, "f") == "assert f('a', y=2) == True\nassert f(1) == 2"  # the repeat is one test
    assert docstring_tests(fn("Return x doubled."), "f") is None
    assert docstring_tests("not python (", "f") is None
    assert docstring_tests(fn("f(1) => 2"), "not an identifier") is None


def test_canonical_humaneval_solutions_pass_their_own_examples():
    checker = DocstringExamples(allow_execution=True)
    scores = {}
    for row in HUMANEVAL:
        answer = f"```python\n{row['prompt']}{row['canonical_solution']}\n```"
        scores[row["task_id"]] = checker.check(answer, prompt=row["prompt"], entry_point=row["entry_point"]).score
    judged = {task: s for task, s in scores.items() if s is not None}
    assert len(judged) >= 85
    # HumanEval/47's docstring says median([-10, 4, 6, 1000, 10, 20]) is 15.0; its own solution (and tests) say 8.0
    assert {task for task, s in judged.items() if s != 1.0} == {"HumanEval/47"}


def test_the_hidden_tests_are_never_run_and_a_wrong_answer_fails_the_examples():
    row = HUMANEVAL[0]
    checker = DocstringExamples(allow_execution=True)
    # passes both docstring examples but not the hidden tests: examples are all the reward knows
    fits_examples = "```python\ndef has_close_elements(numbers, threshold):\n    return threshold == 0.3\n```"
    result = checker.check(fits_examples, prompt=row["prompt"], reference=row)
    assert result.score == 1.0 and result.details["tests"] == 2 and "has_close_elements" in result.details["examples"]
    wrong = checker.check("```python\ndef has_close_elements(numbers, threshold):\n    return True\n```",
                          reference=row)  # prompt and entry point read from the row
    assert wrong.score == 0.5 and not wrong.passed and "first failing test" in wrong.feedback


def test_nothing_to_run_is_a_skip_and_running_code_needs_consent():
    checker = DocstringExamples(allow_execution=True)
    assert checker.check("x", prompt=fn("No examples here."), entry_point="f").score is None
    assert checker.check("x", prompt=None).score is None
    with pytest.raises(PermissionError, match="allow_execution=True"):
        DocstringExamples(allow_execution=False)
