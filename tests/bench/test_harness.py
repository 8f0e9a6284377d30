"""The benchmark harness on a tiny model and 3 problems: rows, resume, matched budgets, plot, CLI."""

import json
from pathlib import Path

import pytest

from latentseek_agents import CheckResult, LatentSeekConfig
from latentseek_agents.bench import load_problems, read_rows, run_bench, summarize, wilson
from latentseek_agents.bench.methods import METHODS, AttemptRecord, MethodRun, majority, run_method
from latentseek_agents.bench.report import (format_paired, format_retry_yield, format_table, mcnemar_exact, paired,
                                            retry_yield)
from latentseek_agents.cli import main
from latentseek_agents.rewards import BaseChecker

ROOT = Path(__file__).resolve().parents[2]
GSM8K = ROOT / "data" / "gsm8k" / "test_dev.jsonl"
CONFIG = LatentSeekConfig(max_iters=2, max_new_tokens=12, lr=0.3)


def bench(tiny_lm, out, **kwargs):
    """The summaries run_bench computed (its report also holds the paired comparisons and notes)."""
    settings = dict(limit=3, rewards=["oracle"], model=tiny_lm, config=CONFIG, out=out, progress=False)
    return run_bench(GSM8K, **{**settings, **kwargs}).summary


def test_every_method_writes_one_row_per_problem(tiny_lm, tmp_path):
    out = tmp_path / "rows.jsonl"
    summary = bench(tiny_lm, out)
    rows = read_rows(out)
    assert len(rows) == 15
    assert {(r["method"], r["id"]) for r in rows} == {(m, i) for m in METHODS for i in ("0", "1", "2")}
    assert {s["method"] for s in summary} == set(METHODS)
    assert all(r["gold"] in ("18", "3", "70000") for r in rows)


def test_budgets_are_matched(tiny_lm, tmp_path):
    out = tmp_path / "budget.jsonl"
    bench(tiny_lm, out)
    rows = read_rows(out)
    for row in rows:
        assert 1 <= row["attempts"] <= CONFIG.max_iters + 1
        assert len(row["scores"]) == row["attempts"] == len(row["correct_each"]) == len(row["answers"])
        assert row["answers"][row["chosen"]] == row["answer"]  # each attempt's final answer, the chosen one's too
        assert len(row["tokens_each"]) == row["attempts"] and sum(row["tokens_each"]) == row["tokens"] > 0
        assert len(row["correct_at"]) == CONFIG.max_iters + 1
    # Nothing passes on a random model, so every searching method spends its whole budget.
    assert {r["method"]: r["attempts"] for r in rows} == {"cot": 1, "best_of_n": 3, "self_consistency": 3,
                                                          "self_refine": 3, "latentseek": 3}


def test_a_population_s_budget_is_counted_in_generations_and_given_to_every_method(tiny_lm, tmp_path):
    config = CONFIG.replace(max_iters=1, population=2)  # 2 first answers + 2 updates: 4 generations
    out = tmp_path / "population.jsonl"
    bench(tiny_lm, out, methods=["best_of_n", "self_refine", "latentseek"], limit=1, config=config)
    for row in read_rows(out):  # nothing passes: each spends the whole budget
        assert row["attempts"] == config.max_generations == 4, row["method"]
        assert len(row["correct_at"]) == 4  # right after k = 0..3 extra generations, compared at equal k


@pytest.mark.parametrize("reward", ["vote", "self_sampled"])
def test_the_gold_free_rewards_run_every_method(tiny_lm, tmp_path, reward):
    out = tmp_path / f"{reward}.jsonl"
    bench(tiny_lm, out, rewards=[reward], limit=1, config=CONFIG.replace(max_iters=1), judge_tokens=4)
    rows = read_rows(out)
    assert {r["method"] for r in rows} == set(METHODS) and all(r["reward"] == reward for r in rows)
    assert not any(r["failed"] for r in rows)
    if reward == "vote":  # random text has no final answer: no sample agrees with it
        assert all(s == 0.0 for r in rows for s in r["scores"]) and not any(r["errors"] for r in rows)
    else:  # the tiny model's 512-token window can't hold a GSM8K judge prompt: refused by name, not fed
        assert all(e.startswith("not judged: the judge prompt has") for r in rows for e in r["errors"])


def test_latentseek_rows_record_how_much_each_update_rewrote(tiny_lm, tmp_path):
    out = tmp_path / "rows.jsonl"
    (summary,) = bench(tiny_lm, out, methods=["latentseek"])
    rows = read_rows(out)
    for row in rows:
        assert len(row["flipped"]) == row["attempts"] - 1 and all(0 <= f <= 1 for f in row["flipped"])
    assert any(f > 0 for row in rows for f in row["flipped"])  # lr 0.3 rewrites tokens of the tiny model
    shares = [f for row in rows for f in row["flipped"]]
    assert summary["flipped"] == pytest.approx(sum(shares) / len(shares), abs=1e-3)


def test_a_skipping_reward_stops_every_search_at_the_first_answer_as_the_engine_does(tiny_lm):
    problems = load_problems(GSM8K, limit=2)
    skip = lambda text: CheckResult(score=None, feedback="no example to run")  # noqa: E731
    for method in ("best_of_n", "self_refine", "latentseek"):
        runs = run_method(method, tiny_lm, problems, skip, skip, CONFIG)
        assert all(len(r.attempts) == 1 and r.chosen() == 0 for r in runs), method
    assert all(r.attempts[0].skipped for r in runs)
    # a reward that scores (even 0) keeps them searching
    runs = run_method("best_of_n", tiny_lm, problems, lambda text: 0.0, skip, CONFIG)
    assert all(len(r.attempts) == CONFIG.max_iters + 1 and not r.attempts[0].skipped for r in runs)


def test_a_right_answer_is_counted_right_by_a_checker_object(tiny_lm):
    from latentseek_agents.rewards import BaseChecker, MathAnswer

    class Always(BaseChecker):  # a checker object, like MathAnswer: called through .check
        def check(self, completion, *, prompt=None, reference=None, **ctx):
            return CheckResult(score=1.0)

    problems = load_problems(GSM8K, limit=2)
    for method in ("cot", "best_of_n", "self_refine", "latentseek"):
        runs = run_method(method, tiny_lm, problems, Always(), Always(), CONFIG)
        assert all(r.attempts[0].correct and len(r.attempts) == 1 for r in runs), method
    # self-consistency never stops early: it votes over all K+1 samples whatever the reward says
    runs = run_method("self_consistency", tiny_lm, problems, Always(), Always(), CONFIG)
    assert all(len(r.attempts) == CONFIG.max_iters + 1 and r.attempts[r.chosen()].correct for r in runs)
    # The real gold check: a completion with the gold answer is right, another is not.
    gold = MathAnswer(extract="auto")
    problem = problems[0]  # gold 18
    runs = run_method("cot", tiny_lm, [problem], lambda text: 0.0, gold, CONFIG)
    assert runs[0].attempts[0].correct is False
    from latentseek_agents.bench.methods import _Scorer

    scorer = _Scorer(gold, gold, CONFIG)
    assert scorer.correct(problem, "She makes 9 * 2 = 18 dollars. \\boxed{18}")
    assert not scorer.correct(problem, "\\boxed{17}")


@pytest.fixture
def decoded_prompts(monkeypatch):
    """Every batch of chat prompts the methods decode, in order (the real decoding still runs)."""
    import latentseek_agents.bench.methods as methods

    seen = []
    real = methods._decode

    def spy(lm, messages, budget, **kw):
        seen.append([list(m) for m in messages])
        return real(lm, messages, budget, **kw)

    monkeypatch.setattr(methods, "_decode", spy)
    return seen


class AskedQuestions(BaseChecker):
    """A reward that records the question each check is given (what a judge would see as QUESTION)."""

    def __init__(self):
        self.questions = []

    def check(self, completion, *, prompt=None, reference=None, **ctx):
        self.questions.append(prompt)
        return CheckResult(score=0.0)


@pytest.fixture
def gsm8k_and_math(tmp_path):
    """A file with a GSM8K row (question/answer) and a MATH row (problem/answer)."""
    data = tmp_path / "mixed.jsonl"
    rows = [{"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = 7\n#### 7"},
            {"problem": "Simplify $\\frac{2}{4}$.", "answer": "\\frac{1}{2}"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_problems(data)


def test_prompt_2_takes_each_datasets_text_and_every_reward_sees_the_raw_question(tiny_lm, gsm8k_and_math,
                                                                                  decoded_prompts, monkeypatch):
    import latentseek_agents.seek as seek
    from latentseek_agents.prompts import BARE_NUMBER

    gsm8k, math = gsm8k_and_math
    assert (gsm8k.dataset, math.dataset) == ("gsm8k", "math")
    assert (gsm8k.prompt_style("json"), math.prompt_style("json")) == ("json", "json_expression")
    assert math.prompt_style("boxed") == "boxed"  # Prompt 1 is the same text for every dataset
    engine_prompts = []
    real = seek.build_messages
    monkeypatch.setattr(seek, "build_messages", lambda *a: engine_prompts.append(real(*a)) or engine_prompts[-1])
    config = CONFIG.replace(prompt_style="json", max_iters=1)
    for method in ("cot", "latentseek"):
        reward = AskedQuestions()
        run_method(method, tiny_lm, gsm8k_and_math, reward, reward, config)
        # the reward (a judge's QUESTION) and the gold check get the question as asked, never Prompt 2
        assert set(reward.questions) == {gsm8k.question, math.question}, method
    (asked,) = decoded_prompts  # cot's one batch
    for messages in (asked, engine_prompts):
        assert messages[0][1]["content"].startswith(f"QUESTION: {gsm8k.question}")
        assert messages[0][1]["content"].endswith(BARE_NUMBER)
        assert messages[1][1]["content"].startswith(f"QUESTION: {math.question}")
        assert BARE_NUMBER not in messages[1][1]["content"]


def test_a_revision_sees_its_last_answer_and_feedback_only(tiny_lm, decoded_prompts):
    problems = load_problems(GSM8K, limit=1)
    (run,) = run_method("self_refine", tiny_lm, problems, lambda text: CheckResult(score=0.0, feedback="wrong"),
                        lambda text: 0.0, CONFIG.replace(max_iters=3))
    first, *revisions = [batch[0] for batch in decoded_prompts]
    assert len(revisions) == 3
    for k, prompt in enumerate(revisions):
        assert prompt[: len(first)] == first and len(prompt) == len(first) + 2  # never grows
        assert prompt[-2] == {"role": "assistant", "content": run.texts[k]}
        assert "wrong" in prompt[-1]["content"]


def test_the_oracle_tells_a_revision_it_is_wrong_never_the_reference_answer(tiny_lm, decoded_prompts):
    from latentseek_agents.bench.tasks import gold_checker, make_reward

    problems = load_problems(GSM8K, limit=1)  # gold 18; the tiny model's answers are wrong
    gold = gold_checker("math", allow_code_execution=False)
    assert "18" in gold.check("\\boxed{7}", reference="18").feedback  # the gold check's own feedback names it
    (run,) = run_method("self_refine", tiny_lm, problems, make_reward("oracle", tiny_lm, gold, 8), gold,
                        CONFIG.replace(max_iters=2))
    revisions = [batch[0][-1]["content"] for batch in decoded_prompts[1:]]
    assert len(revisions) == 2 and not any(a.correct for a in run.attempts)
    assert all("the final answer is wrong" in r and "18" not in r for r in revisions)


def test_the_code_oracle_hides_the_hidden_tests(tmp_path):
    from latentseek_agents.bench.tasks import SparseOracle, gold_checker

    code = load_problems(ROOT / "data" / "humaneval" / "dev.jsonl", limit=1)[0]
    oracle = SparseOracle(gold_checker("code", allow_code_execution=True), "code")
    wrong = oracle.check(f"```python\ndef {code.gold['entry_point']}(*args):\n    return None\n```",
                         reference=code.gold)
    right = oracle.check(code.gold["prompt"] + code.gold["canonical_solution"], reference=code.gold)
    assert (wrong.passed, wrong.score, dict(wrong.details)) == (False, 0.0, {})
    assert wrong.feedback == "the function fails the tests"
    assert right.passed and right.score == 1.0 and right.feedback == "the answer is right"
    with pytest.raises(ValueError, match="kind must be one of"):
        SparseOracle(oracle.gold, "proof")


def test_rerunning_skips_finished_rows(tiny_lm, tmp_path, monkeypatch):
    out = tmp_path / "rows.jsonl"
    bench(tiny_lm, out, methods=["cot"])
    first = out.read_text()
    import latentseek_agents.bench.tasks as tasks

    monkeypatch.setattr(tasks, "run_method", lambda *a, **k: pytest.fail("a finished row was run again"))
    bench(tiny_lm, out, methods=["cot"])
    assert out.read_text() == first


def test_an_interrupted_line_is_ignored_and_redone(tiny_lm, tmp_path):
    out = tmp_path / "rows.jsonl"
    bench(tiny_lm, out, methods=["cot"], limit=2)
    lines = out.read_text().splitlines()
    out.write_text(lines[0] + "\n" + lines[1][:20])
    bench(tiny_lm, out, methods=["cot"], limit=2)
    assert sorted(r["id"] for r in read_rows(out)) == ["0", "1"]


def test_a_slice_keeps_the_ids_its_problems_have_in_the_whole_file(tiny_lm, tmp_path):
    whole = load_problems(GSM8K, limit=3)
    sliced = load_problems(GSM8K, limit=2, skip=1)
    assert [(p.id, p.question) for p in sliced] == [(p.id, p.question) for p in whole[1:]]
    assert [p.id for p in load_problems(GSM8K, skip=398)] == ["398", "399"]
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    bench(tiny_lm, first, methods=["cot"], limit=1)
    bench(tiny_lm, rest, methods=["cot"], skip=1, limit=2)
    assert [r["id"] for r in read_rows(first) + read_rows(rest)] == ["0", "1", "2"]


@pytest.mark.parametrize(("kwargs", "message"), [({"skip": -1}, "skip must be an integer >= 0, got -1"),
                                                 ({"limit": 0}, "limit must be None or an integer >= 1, got 0")])
def test_a_slice_out_of_range_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_problems(GSM8K, **kwargs)


def test_a_slice_past_the_end_of_the_file_says_so(tmp_path):
    with pytest.raises(ValueError, match=r"holds no problems after the first 400 \(skip\)"):
        run_bench(GSM8K, skip=400, model="no-model", out=tmp_path / "rows.jsonl", progress=False)


def test_the_plot_is_a_png(tiny_lm, tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a caller's own choice of backend...
    try:
        plot = tmp_path / "fig.png"
        bench(tiny_lm, tmp_path / "rows.jsonl", methods=["cot", "latentseek"], plot=plot)
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.get_backend() == "svg"  # ...is left alone
    finally:
        matplotlib.use(before)


def test_the_choice_rules_at_each_budget():
    def run(scores, correct, pick):
        r = MethodRun(pick=pick)
        r.attempts = [AttemptRecord(score=s, passed=s > 0.8, correct=c, tokens=1) for s, c in zip(scores, correct)]
        return r

    sequential = run([0.1, 0.9, 0.2], [False, True, False], "first_pass")
    assert [sequential.chosen(k) for k in range(3)] == [0, 1, 1]
    best = run([0.1, 0.5, 0.3], [False, True, False], "best")
    assert [best.chosen(k) for k in range(3)] == [0, 1, 1]


def test_wilson_interval_and_summary():
    low, high = wilson(0, 10)
    assert low == 0.0 and 0.25 < high < 0.35
    rows = [{"method": "cot", "reward": "oracle", "correct": c, "first_correct": c, "attempts": 1, "tokens": 5,
             "generate_s": 1.0, "update_s": 0.0, "reward_s": 0.1} for c in (True, False, False, False)]
    (s,) = summarize(rows)
    assert s["accuracy"] == 0.25 and s["ci_low"] < 0.25 < s["ci_high"]
    assert s["distinct_answers"] is None  # rows written before each attempt's answer was recorded
    # how many different final answers a problem's attempts ended on: a revision that repeats itself adds none
    rows[0]["answers"], rows[1]["answers"] = ["8", "8", "8"], ["8", "12", None]
    (s,) = summarize(rows)
    assert s["distinct_answers"] == 2.0 and " 2.00 " in format_table([s])


def test_datasets_of_each_shape(tmp_path):
    math_rows = tmp_path / "math.jsonl"
    math_rows.write_text(json.dumps({"problem": "What is $1+1$?", "answer": "2"}) + "\n")
    assert load_problems(math_rows)[0].gold == "2"
    code = load_problems(ROOT / "data" / "humaneval" / "dev.jsonl", limit=1)[0]
    assert code.kind == "code" and code.gold["entry_point"] == "has_close_elements"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ValueError, match="neither GSM8K"):
        load_problems(bad)


def test_code_needs_an_explicit_opt_in(tiny_lm, tmp_path):
    with pytest.raises(PermissionError, match="--allow-code-execution"):
        run_bench(ROOT / "data" / "humaneval" / "dev.jsonl", limit=1, model=tiny_lm, config=CONFIG,
                  out=tmp_path / "x.jsonl", progress=False)


def test_humaneval_rows_with_the_unit_test_oracle(tiny_lm, tmp_path):
    out = tmp_path / "code.jsonl"
    run_bench(ROOT / "data" / "humaneval" / "dev.jsonl", limit=2, methods=["cot", "latentseek"], rewards=["oracle"],
              model=tiny_lm, config=CONFIG, out=out, allow_code_execution=True, progress=False)
    rows = read_rows(out)
    assert len(rows) == 4 and all(r["correct"] is False for r in rows)


def test_humaneval_with_the_docstring_examples_as_reward(tiny_lm, tmp_path):
    out = tmp_path / "examples.jsonl"
    run_bench(ROOT / "data" / "humaneval" / "dev.jsonl", limit=2, methods=["best_of_n"], rewards=["examples"],
              model=tiny_lm, config=CONFIG, out=out, allow_code_execution=True, progress=False)
    rows = read_rows(out)
    # the tiny model writes no working code: the examples score 0, so every sample is drawn; correctness is
    # still the hidden tests' verdict (the gold check), recorded beside the reward's scores
    assert [r["reward"] for r in rows] == ["examples", "examples"]
    assert all(r["attempts"] == CONFIG.max_iters + 1 and r["scores"] == [0.0] * 3 and not r["correct"] for r in rows)
    with pytest.raises(ValueError, match="reward 'examples' needs code problems"):
        run_bench(GSM8K, limit=1, rewards=["examples"], model=tiny_lm, config=CONFIG, out=tmp_path / "m.jsonl",
                  progress=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="methods must be among"):
        run_bench(GSM8K, methods=["beam"], progress=False)
    with pytest.raises(ValueError, match="reward must be among"):
        run_bench(GSM8K, rewards=["gold"], progress=False)
    with pytest.raises(ValueError, match="method must be one of"):
        run_method("beam", None, [], None, None, CONFIG)


def test_the_cli_bench_command(tiny_model_dir, tmp_path, capsys):
    model_dir = tiny_model_dir
    out = tmp_path / "cli.jsonl"
    code = main(["bench", "--data", str(GSM8K), "--limit", "2", "--methods", "cot,latentseek", "--reward", "oracle",
                 "--max-iters", "1", "--max-new-tokens", "8", "--lr", "0.3", "--model", str(model_dir),
                 "--out", str(out), "--no-progress"])
    assert code == 0
    assert "latentseek" in capsys.readouterr().out and len(read_rows(out)) == 4
    assert main(["bench", "--data", str(tmp_path / "missing.jsonl")]) == 2


def test_the_cli_bench_command_takes_the_sample_policy(tiny_model_dir, tmp_path):
    out = tmp_path / "sample.jsonl"
    assert main(["bench", "--data", str(GSM8K), "--limit", "1", "--methods", "latentseek", "--reward", "oracle",
                 "--max-iters", "1", "--max-new-tokens", "8", "--policy", "sample", "--policy-temperature", "0.7",
                 "--model", str(tiny_model_dir), "--out", str(out), "--no-progress"]) == 0
    (row,) = read_rows(out)
    assert (row["settings"]["policy"], row["settings"]["policy_temperature"]) == ("sample", 0.7)


def test_self_consistency_returns_the_first_sample_of_the_majority_answer():
    texts = ["so \\boxed{3}", "\\boxed{1,072}", "no answer here", "it is \\boxed{1072.0}", "\\boxed{3}"]
    assert majority(texts) == 0  # "3" and "1072" twice each: a tie goes to the answer seen first
    assert majority(texts[:1]) == 0 and majority(["none", "either"]) == 0
    run = MethodRun(attempts=[AttemptRecord(score=0.0, passed=False, correct=i in (1, 3), tokens=1)
                              for i in range(5)], texts=texts, pick="vote")
    assert [run.chosen(k) for k in range(5)] == [0, 0, 0, 1, 0]


def test_paired_comparison_counts_fixed_and_broken_on_shared_problems():
    rows = ([{"id": i, "method": "cot", "reward": "oracle", "correct": i < 4} for i in range(10)]
            + [{"id": i, "method": "latentseek", "reward": "oracle", "correct": 2 <= i < 9} for i in range(11)])
    (comparison,) = paired(rows)
    assert (comparison["n"], comparison["fixed"], comparison["broken"]) == (10, 5, 2)
    assert comparison["p"] == pytest.approx(mcnemar_exact(5, 2)) == pytest.approx(0.453125)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(10, 0) == pytest.approx(2 / 1024)
    assert "cot (oracle)" in format_paired([comparison])


def test_retry_yield_counts_right_answers_among_the_attempts_after_a_wrong_first_one():
    rows = [{"method": "bon", "reward": "oracle", "correct_each": each}
            for each in ([False, False, False, True], [False, True], [True], [False])]
    rows.append({"method": "ls", "reward": "oracle", "correct_each": [False, False, False]})
    bon, ls = retry_yield(rows)
    assert (bon["method"], bon["problems"], bon["attempts"], bon["right"]) == ("bon", 3, 4, 2)  # [True] had no retry
    assert bon["ci"] == wilson(2, 4) and (ls["right"], ls["share"]) == (0, 0.0)
    assert "bon" in format_retry_yield([bon, ls])


def test_the_self_boxed_reward_scores_answers_without_a_box_zero_before_judging(tiny_lm, tmp_path):
    from latentseek_agents.bench.tasks import make_reward
    from latentseek_agents.rewards import MathAnswer, SelfJudge

    gold = MathAnswer()
    assert make_reward("oracle", tiny_lm, gold, 8).gold is gold  # the gold check, behind SparseOracle
    assert isinstance(make_reward("self", tiny_lm, gold, 8), SelfJudge)
    gated = make_reward("self_boxed", tiny_lm, gold, 8)
    assert gated.check("no box at all", prompt="q").details["gate"]["passed"] is False
    assert gated.check("no box at all", prompt="q").score == 0.0
    assert "then" in gated.check("so \\boxed{4}", prompt="q").details  # judged
    out = tmp_path / "rows.jsonl"
    bench(tiny_lm, out, limit=1, methods=["cot"], rewards=["self_boxed"], judge_tokens=4)
    assert [(r["method"], r["reward"]) for r in read_rows(out)] == [("cot", "self_boxed")]


def test_self_rewarded_rows_record_how_each_verdict_was_reached_and_the_judge_is_scored_against_gold(
        tiny_lm, tmp_path):
    out, short = tmp_path / "rows.jsonl", tmp_path / "short.jsonl"  # short enough for the tiny judge's context
    short.write_text("".join(json.dumps({"question": f"What is {a} + 1?", "answer": f"#### {a + 1}"}) + "\n"
                             for a in (2, 3)))
    report = run_bench(short, methods=["best_of_n"], rewards=["self"], model=tiny_lm, out=out,
                       config=CONFIG.replace(max_iters=1), judge_tokens=3, progress=False)
    rows = read_rows(out)
    for row in rows:  # four checks per judged attempt, each parsed or decided by the verdict probabilities
        assert sum(row["judge_paths"].values()) == 4 * row["attempts"]
        assert set(row["judge_paths"]) <= {"parsed", "probability", "missing"}
        assert 0 < row["reward_tokens"] <= 4 * 3 * row["attempts"]  # the judge's replies are counted, <= 3 each
    (summary,) = report.summary
    assert summary["reward_tokens"] == sum(r["reward_tokens"] for r in rows) / len(rows)
    paths = [r["judge_paths"] for r in rows]
    assert summary["verdicts_parsed"] == sum(p.get("parsed", 0) for p in paths) / sum(sum(p.values()) for p in paths)
    (judge,) = report.judges
    assert judge["attempts"] == sum(r["attempts"] for r in rows)
    assert judge["tp"] + judge["fn"] == sum(sum(r["correct_each"]) for r in rows)
    assert "precision" in str(report) and "verdict" in str(report)
    oracle = run_bench(GSM8K, limit=1, methods=["cot"], rewards=["oracle"], model=tiny_lm, out=tmp_path / "o.jsonl",
                       config=CONFIG, progress=False)
    assert oracle.judges == [] and oracle.summary[0]["verdicts_parsed"] is None
    assert read_rows(tmp_path / "o.jsonl")[0]["judge_paths"] == {}
    assert read_rows(tmp_path / "o.jsonl")[0]["reward_tokens"] == 0  # the gold check decodes nothing


def test_the_judge_budget_is_part_of_the_resume_key_only_for_judged_rewards(tiny_lm, tmp_path):
    out = tmp_path / "rows.jsonl"
    bench(tiny_lm, out, limit=1, methods=["cot"], rewards=["oracle"], judge_tokens=4)
    bench(tiny_lm, out, limit=1, methods=["cot"], rewards=["oracle"], judge_tokens=8)
    assert len(read_rows(out)) == 1  # an oracle row does not depend on the judge: resumed
    bench(tiny_lm, out, limit=1, methods=["cot"], rewards=["self"], judge_tokens=4)
    bench(tiny_lm, out, limit=1, methods=["cot"], rewards=["self"], judge_tokens=8)
    assert [r["settings"]["judge_tokens"] for r in read_rows(out) if r["reward"] == "self"] == [4, 8]


def test_resume_is_keyed_by_settings_as_well(tiny_lm, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    bench(tiny_lm, out, limit=2, methods=["cot"])
    first = read_rows(out)
    bench(tiny_lm, out, limit=2, methods=["cot"])  # same settings: nothing new
    assert read_rows(out) == first
    report = run_bench(GSM8K, limit=2, methods=["cot"], rewards=["oracle"], model=tiny_lm, out=out, progress=False,
                       config=CONFIG.replace(max_new_tokens=6))
    (summary,) = report.summary
    assert "2 row(s) were computed with other settings (max_new_tokens 12 -> 6)" in str(report)
    assert capsys.readouterr().out == ""  # run_bench returns what it found; the CLI prints it
    rows = read_rows(out)
    assert len(rows) == 4 and summary["n"] == 2  # the new rows are counted, the old ones kept
    assert {r["settings"]["max_new_tokens"] for r in rows} == {12, 6}


@pytest.mark.parametrize(("lines", "message"), [
    (['{"question": "a?", "answer": "#### 1"}', '[1, 2]'], "line 2: a row must be a JSON object, got a JSON list"),
    (['{"question": "a?", "answer": "#### 1"}', '{"question": " ", "answer": "#### 2"}'], "line 2: the question is empty"),
    (['{"id": 7, "question": "a?", "answer": "1"}', '{"id": 7, "question": "b?", "answer": "2"}'],
     "line 2: id '7' repeats line 1"),
    (['{"question": "a?", "answer": "1"}', '{"q": 1}'], "line 2: the row is neither GSM8K"),
    (['{"question": "a?", "answer": "1"}', '{oops'], "line 2: not valid JSON"),
])
def test_bad_data_rows_are_named_by_file_and_line(tmp_path, lines, message):
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=f"{data}, {message}"):
        load_problems(data)


def test_a_failed_row_has_every_field_of_a_solved_row(tiny_lm, tmp_path):
    from latentseek_agents.bench.tasks import ROW_FIELDS, Task, failed_rows, run_task

    problems = load_problems(GSM8K, 2)
    solved = run_task(tiny_lm, Task("latentseek", "oracle", problems), CONFIG, 8, False)
    failed = failed_rows(Task("latentseek", "oracle", problems), "worker died 3 times: RayActorError")
    assert [list(r) for r in solved] == [list(r) for r in failed] == [list(ROW_FIELDS)] * 2
    assert failed[0]["failed"] is True and solved[0]["failed"] is False
