"""The cookbook scripts run end to end on the default model with tiny budgets."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.default_model


def run(script, *args, timeout=600):
    out = subprocess.run([sys.executable, str(ROOT / "cookbook" / script), *args], capture_output=True,
                         text=True, timeout=timeout, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_gsm8k_with_math_answer():
    out = run("gsm8k_math_answer.py", "--limit", "2", "--max-iters", "1", "--max-new-tokens", "32")
    assert out.count("- gold") == 2 and "chain of thought:" in out


def test_humaneval_with_unit_tests():
    out = run("humaneval_unit_tests.py", "--task", "2", "--max-iters", "1", "--max-new-tokens", "48")
    assert "HumanEval/2 (truncate_number)" in out and "attempt 0: score" in out


def test_langchain_lcel_chain():
    out = run("langchain_lcel_math.py", "--limit", "2", "--max-iters", "1", "--max-new-tokens", "24")
    assert out.count("gold ") == 2 and "[reasoning] first answer: score" in out and "[answer]" in out


def test_langgraph_planner_routes_math_to_latentseek():
    out = run("langgraph_planner.py", "--max-iters", "1", "--max-new-tokens", "24")
    assert "2 math sub-question(s) went to LatentSeek, 1 to the planner" in out


def test_dspy_bootstrap_and_evaluate(tmp_path):
    args = ["--train", "2", "--attempts", "2", "--max-new-tokens", "48", "--out", str(tmp_path / "d.jsonl")]
    out = run("dspy_bootstrap_gsm8k.py", "--dev", "2", *args)
    assert "compiled with" in out and "0 row(s) reused" in out
    # the same compiled program three ways, each scored on the same rows, then compared pairwise
    labels = ("compiled CoT", "+ LatentSeekModule", "+ dspy.Refine")
    assert all(f"{label} " in out for label in labels)
    assert "fixed" in out and "McNemar" in out
    # one row per (program, problem), problem by problem: a run stopped anywhere leaves a paired set
    rows = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [(r["id"], r["method"]) for r in rows] == [(i, m) for i in "01" for m in ("cot", "latentseek", "refine")]
    # each row keeps the scores its search's reward gave, one per attempt scored (none when the
    # default model's reply doesn't parse); plain CoT calls none
    assert all(len(r["rewards"]) <= 2 and set(r["rewards"]) <= {0.0, 1.0} for r in rows)  # --attempts 2, format
    assert all(r["rewards"] == [] for r in rows if r["method"] == "cot")
    # with the answer each score was given for and whether that answer was right (the gold check)
    assert all(len(r["answers"]) == len(r["correct_each"]) == len(r["rewards"]) for r in rows)
    assert all(r["correct_each"][-1] == r["correct"] for r in rows if r["rewards"] and r["answers"][-1] == r["answer"])
    if any(r["rewards"] for r in rows):
        assert "precision" in out  # how far the reward's "passes" matched the gold answer
    # and the tokens its program's LM calls wrote: plain CoT is one call within --max-new-tokens
    assert all(1 <= r["tokens"] <= 48 for r in rows if r["method"] == "cot")
    assert all(r["tokens"] >= 1 for r in rows) and "tokens/problem" in out

    # re-run: every row comes from the file, nothing is compiled or generated, the report is the same
    again = run("dspy_bootstrap_gsm8k.py", "--dev", "2", *args)
    assert "6 row(s) reused" in again and "0 to run" in again and "compiled with" not in again
    summary = lambda text: [line for line in text.splitlines() if line.startswith(labels)]  # noqa: E731
    assert summary(again) == summary(out)
    # a smaller --dev reports the first problems from the file alone
    first = run("dspy_bootstrap_gsm8k.py", "--dev", "1", *args)
    assert "3 row(s) reused" in first and "0 to run" in first and "1 problems" in first


def test_dspy_bootstrap_runs_one_program_per_process_and_refuses_bad_options_by_name(tmp_path):
    out = run("dspy_bootstrap_gsm8k.py", "--train", "2", "--dev", "1", "--max-new-tokens", "32", "--programs", "cot",
              "--out", str(tmp_path / "d.jsonl"))
    assert "compiled CoT " in out and "LatentSeekModule" not in out
    bad = subprocess.run([sys.executable, str(ROOT / "cookbook" / "dspy_bootstrap_gsm8k.py"), "--programs", "cot,rag"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "--programs" in bad.stderr and "'cot,rag'" in bad.stderr
    bad = subprocess.run([sys.executable, str(ROOT / "cookbook" / "dspy_bootstrap_gsm8k.py"), "--out",
                          str(tmp_path / "missing" / "d.jsonl")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "--out" in bad.stderr and "No such file or directory" in bad.stderr
    bad = subprocess.run([sys.executable, str(ROOT / "cookbook" / "dspy_bootstrap_gsm8k.py"), "--dev", "401"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "--dev: data/gsm8k/test_dev.jsonl has 400 rows, got 401" in bad.stderr


def load_script(name):
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), ROOT / "cookbook" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dspy_bootstrap_reward_keeps_each_score_for_the_row_and_reports_how_the_searches_decided():
    dspy = pytest.importorskip("dspy")
    script = load_script("dspy_bootstrap_gsm8k.py")
    reward = script.Reward("format", model=None, judge_tokens=8)
    assert [reward({}, dspy.Prediction(answer=a)) for a in ("forty", "42")] == [0.0, 1.0]
    assert reward.take() == {"rewards": [0.0, 1.0], "answers": ["forty", "42"], "judge_paths": {}}
    assert reward.take() == {"rewards": [], "answers": [], "judge_paths": {}}  # taken: the next row starts clean

    rows = [{"method": "refine", "rewards": [1.0]}, {"method": "refine", "rewards": [0.0, 0.5, 1.0]},
            {"method": "latentseek", "rewards": [1.0], "judge_paths": {"parsed": 3, "probability": 1}},
            {"method": "cot", "rewards": []}]
    of = lambda name: [r for r in rows if r["method"] == name]  # noqa: E731  (one program's rows)
    assert script.reward_summary(of("refine")) == "; reward: 2.00 attempts scored, first answer passed on 1/2"
    assert script.reward_summary(of("latentseek")).endswith("first answer passed on 1/1, judge verdict parsed 75.0 %")
    assert script.reward_summary(of("cot")) == ""


def test_dspy_bootstrap_measures_the_reward_against_the_gold_answer_over_every_scored_attempt():
    pytest.importorskip("dspy")
    script = load_script("dspy_bootstrap_gsm8k.py")
    from latentseek_agents.bench.report import judge_agreement

    rows = [{"method": "refine", "reward": "self", "rewards": [0.5, 1.0], "correct_each": [True, False]},
            {"method": "refine", "reward": "self", "rewards": [1.0], "correct_each": [True]},
            {"method": "latentseek", "reward": "self", "rewards": [None, 1.0], "correct_each": [False, False]},
            {"method": "latentseek", "reward": "self", "rewards": [1.0]},  # an older row: no correct_each
            {"method": "cot", "reward": "self", "rewards": [], "correct_each": []}]
    agreement = {a["method"]: a for a in judge_agreement(script.reward_rows(rows))}
    # the searches stop at a reward >= 1.0: Refine passed 2 attempts, 1 right; it failed the other right one
    assert agreement["+ dspy.Refine"].items() >= {"attempts": 3, "tp": 1, "fp": 1, "fn": 1, "precision": 0.5,
                                                  "recall": 0.5}.items()
    # a reward that returned None passed nothing; rows without correct_each and plain CoT are left out
    assert agreement["+ LatentSeekModule"]["attempts"] == 2 and agreement["+ LatentSeekModule"]["fp"] == 1
    assert agreement["+ LatentSeekModule"]["recall"] is None and "compiled CoT" not in agreement


def test_dspy_bootstrap_reports_tokens_per_problem_over_the_rows_that_recorded_them():
    pytest.importorskip("dspy")
    script = load_script("dspy_bootstrap_gsm8k.py")
    assert script.generated_tokens([{"usage": {"completion_tokens": 12}}, {"usage": None}, {}]) == 12
    rows = [{"method": "cot", "tokens": 100}, {"method": "cot", "tokens": 300}, {"method": "cot"},
            {"method": "refine"}]
    assert script.token_summary(rows[:3]) == ", 200 tokens/problem (on 2 of 3)"  # older rows have none
    assert script.token_summary(rows[:2]) == ", 200 tokens/problem"
    assert script.token_summary(rows[3:]) == ""
