"""UnitTests: HumanEval, assert-block and pytest-style tests run in the sandbox, and hostile programs."""

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from latentseek_agents.rewards import SandboxLimits, UnitTests, extract_code, isolation_level, split_tests

ROOT = Path(__file__).resolve().parents[2]
HUMANEVAL = [json.loads(line) for line in (ROOT / "data" / "humaneval" / "dev.jsonl").open()]


def humaneval_check(row, completion, **settings):
    return UnitTests(allow_execution=True, **settings).check(completion, prompt=row["prompt"], reference=row)


def test_execution_needs_an_explicit_opt_in(monkeypatch):
    monkeypatch.delenv("LATENTSEEK_ALLOW_CODE_EXECUTION", raising=False)
    with pytest.raises(PermissionError, match="allow_execution=True"):
        UnitTests(tests="assert True")
    monkeypatch.setenv("LATENTSEEK_ALLOW_CODE_EXECUTION", "1")
    assert UnitTests(tests="assert True").tests == "assert True"


def test_bad_configuration_fails_at_construction():
    with pytest.raises(ValueError, match="tests must be valid Python"):
        UnitTests(tests="assert (", allow_execution=True)
    for bad in (0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"timeout_s must be None or a finite number in \(0, 3600\]"):
            UnitTests(tests="assert True", timeout_s=bad, allow_execution=True)
    with pytest.raises(ValueError, match=r"memory_mb must be an integer in \[1, 2147483647\], got 0"):
        SandboxLimits(memory_mb=0)
    for consent in ("no", "yes", 1):  # only a real bool is consent
        with pytest.raises(ValueError, match="allow_execution must be True, False or None"):
            UnitTests(tests="assert True", allow_execution=consent)


def test_every_canonical_humaneval_solution_passes():
    failures = [row["task_id"] for row in HUMANEVAL
                if humaneval_check(row, row["canonical_solution"]).score != 1.0]
    assert failures == []


def test_score_is_the_fraction_of_tests_passed_and_feedback_names_the_first_failure():
    row = HUMANEVAL[0]
    result = humaneval_check(row, "    return True\n")
    assert 0 < result.score < 1 and result.passed is False
    n = result.details["tests"]
    assert result.score == result.details["passed_tests"] / n
    assert result.feedback.startswith(f"{result.details['passed_tests']}/{n} tests passed; first failing test: assert")


def test_code_is_taken_from_a_markdown_fence():
    row = HUMANEVAL[2]  # truncate_number
    completion = ("Here is my solution:\n```python\ndef truncate_number(number: float) -> float:\n"
                  "    return number % 1.0\n```\nIt works because...")
    assert humaneval_check(row, completion).score == 1.0


def test_extract_code_prefers_the_block_defining_the_entry_point():
    text = "```python\ndef f():\n    return 1\n```\n```python\nprint(f())\n```"
    assert extract_code(text, "f").startswith("def f()")
    assert extract_code(text).startswith("print")
    assert extract_code("def g(): pass") == "def g(): pass"


def test_assert_blocks_and_pytest_style_tests():
    code = "def add(a, b):\n    return a + b\n"
    block = UnitTests(tests="import math\nassert add(1, 2) == 3\nassert add(1, 1) == 3", entry_point="add",
                      allow_execution=True).check(code)
    assert block.score == 0.5
    pytest_style = UnitTests(tests="def test_one():\n    assert add(1, 2) == 3\n\ndef test_two():\n"
                                   "    assert add(2, 2) == 4\n", allow_execution=True).check(code)
    assert pytest_style.score == 1.0 and pytest_style.details["tests"] == 2


def test_split_tests_shapes():
    kinds = [s["kind"] for s in split_tests("def check(candidate):\n    x = 1\n    assert candidate(x)\n"
                                             "    for i in range(3):\n        assert candidate(i)\n")]
    assert kinds == ["setup", "setup", "test", "test"]
    with pytest.raises(ValueError, match="no assert"):
        split_tests("x = 1")


def test_the_sandbox_python_is_a_real_interpreter():
    result = UnitTests(tests="import sys\nassert sys.version_info >= (3, 8)\nassert sys.flags.isolated",
                       allow_execution=True).check("")
    assert result.score == 1.0, result.feedback


def test_tests_given_per_call_override_the_constructor():
    checker = UnitTests(tests="assert f() == 1", allow_execution=True)
    assert checker.check("def f(): return 2", tests="assert f() == 2").score == 1.0
    assert UnitTests(allow_execution=True).check("def f(): return 2").score is None


# ---------------------------------------------------------------------------- hostile programs
FAST = dict(timeout_s=4.0, allow_execution=True)


def run_hostile(code, tests="assert f() == 1", entry_point="f", **settings):
    start = time.monotonic()
    result = UnitTests(tests=tests, entry_point=entry_point, **{**FAST, **settings}).check(code)
    return result, time.monotonic() - start


def assert_still_works():
    ok = UnitTests(tests="assert f() == 1", entry_point="f", **FAST).check("def f(): return 1")
    assert ok.score == 1.0, ok.feedback


def test_infinite_loop_is_killed_within_the_bound():
    result, seconds = run_hostile("def f():\n    while True:\n        pass\n")
    assert result.score == 0.0 and seconds < 4.0 + 2.0
    assert "timed out" in result.feedback
    # a looping answer is the model's failure, not the checker's: no error, so it is not re-run
    assert result.error is None and "timed out" in result.details["run_error"]
    assert_still_works()


def test_fork_bomb_is_contained():
    code = "import os\ndef f():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n"
    result, seconds = run_hostile(code)
    assert result.score == 0.0 and seconds < 4.0 + 3.0
    assert_still_works()


def test_memory_bomb_fails_with_memory_error():
    result, _ = run_hostile("def f():\n    x = bytearray(8 * 1024 ** 3)\n    return 1\n")
    assert result.score == 0.0 and "MemoryError" in result.feedback
    assert_still_works()


def test_writing_and_deleting_files_outside_the_temp_dir_is_denied(tmp_path):
    if isolation_level() != "namespaces+nobody":
        pytest.skip("only a run as another user can be kept out of this user's files")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.chmod(tmp_path, 0o755)
    code = (f"import os\ndef f():\n    open({str(tmp_path / 'new.txt')!r}, 'w').write('x')\n    return 1\n"
            f"def g():\n    os.remove({str(victim)!r})\n    return 1\n")
    result, _ = run_hostile(code, tests="assert f() == 1\nassert g() == 1")
    assert result.score == 0.0 and "PermissionError" in result.feedback
    assert victim.read_text() == "keep me" and not (tmp_path / "new.txt").exists()


def test_network_is_unreachable():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    code = f"import socket\ndef f():\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')\n    return 1\n"
    result, _ = run_hostile(code)
    connected = True
    try:
        server.accept()
    except OSError:
        connected = False
    server.close()
    assert result.score == 0.0 and not connected


def test_the_parents_environment_is_not_visible(monkeypatch):
    monkeypatch.setenv("LATENTSEEK_TEST_SECRET", "s3cret")
    result, _ = run_hostile("import os\ndef f():\n    return os.environ.get('LATENTSEEK_TEST_SECRET')\n",
                            tests="assert f() == 's3cret'")
    assert result.score == 0.0


def test_killing_its_parent_harms_nothing_and_is_scored_correctly():
    kill = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    right, _ = run_hostile(kill + "def f():\n    return 1\n")
    wrong, _ = run_hostile(kill + "def f():\n    return 2\n")
    if isolation_level() == "namespaces+nobody":
        # The runner is PID 1 of its own PID namespace: the kill can't reach it, the tests still run.
        assert right.score == 1.0
    else:
        assert right.score == 0.0 and "without a result" in right.feedback
    assert wrong.score == 0.0
    assert_still_works()


def test_printing_gigabytes_is_bounded():
    result, seconds = run_hostile("def f():\n    while True:\n        print('x' * 1_000_000)\n")
    assert result.score == 0.0 and seconds < 4.0 + 2.0
    assert len(result.details["output"]) <= 2000
    assert_still_works()


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "raise SystemExit(0)"])
def test_exiting_before_the_asserts_does_not_pass(exit_call):
    result, _ = run_hostile(f"import os, sys\ndef f():\n    return 1\n{exit_call}\n")
    assert result.score == 0.0


def test_exiting_inside_a_test_fails_that_test():
    result, _ = run_hostile("import sys\ndef f():\n    sys.exit(0)\n", tests="assert f() == 1\nassert True")
    assert result.score == 0.5


def test_an_object_equal_to_everything_does_not_pass():
    code = "class Any:\n    def __eq__(self, other):\n        return True\ndef f():\n    return Any()\n"
    result, _ = run_hostile(code)
    assert result.score == 0.0 and "not a builtin value" in result.feedback


def test_printing_a_fake_result_line_does_not_pass():
    fake = json.dumps({"token": "0" * 32, "results": [{"index": 0, "ok": True}, {"index": 1, "ok": True}]})
    result, _ = run_hostile(f"import sys\nprint({fake!r})\nsys.stdout.flush()\nimport os\nos._exit(0)\n"
                            "def f():\n    return 1\n")
    assert result.score == 0.0


def test_calls_from_four_threads_equal_serial_calls():
    rows = HUMANEVAL[:4]
    completions = [row["canonical_solution"] if i % 2 == 0 else "    return None\n" for i, row in enumerate(rows)]
    serial = [humaneval_check(r, c).score for r, c in zip(rows, completions)]
    threaded = [None] * 4

    def work(i):
        threaded[i] = humaneval_check(rows[i], completions[i]).score

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert threaded == serial and serial[0] == 1.0 and serial[1] == 0.0


def test_the_reduced_isolation_fallback_still_runs_and_says_so(monkeypatch):
    import latentseek_agents.rewards.sandbox as sandbox

    monkeypatch.setattr(sandbox, "isolation_level", lambda: "rlimits-only")
    result = humaneval_check(HUMANEVAL[2], HUMANEVAL[2]["canonical_solution"])
    assert result.score == 1.0 and result.details["isolation"] == "rlimits-only"


@pytest.mark.parametrize("kwargs", [{"tests": 123}, {"tests": "assert True", "entry_point": 7}])
def test_tests_and_entry_point_must_be_text(kwargs):
    with pytest.raises(ValueError, match=r"must be None or .*\(a str\), got int"):
        UnitTests(allow_execution=True, **kwargs)
