"""The benchmark scripts still run (tiny settings; their figures are printed, never asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_speed_script_runs_on_cpu_with_a_tiny_preset():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_speed.py"), "--preset", "tiny",
                          "--device", "cpu", "--dtype", "float32", "--tokens", "12", "--prompt", "10",
                          "--batches", "1,2", "--repeats", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ratio iteration / plain generation" in out.stdout and "problems/min" in out.stdout


@pytest.mark.default_model
def test_cpu_decoding_script_runs_on_the_default_model():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cpu_decoding.py"), "--tokens", "4",
                          "--repeats", "1"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "bandwidth floor" in out.stdout and "engine loop" in out.stdout


def test_latent_sweep_script_prints_one_row_per_variant_beside_the_compared_methods(tiny_model_dir, tmp_path):
    from latentseek_agents.cli import main

    compare = tmp_path / "compare.jsonl"
    assert main(["bench", "--data", str(ROOT / "data" / "gsm8k" / "test_dev.jsonl"), "--limit", "2",
                 "--methods", "cot", "--reward", "oracle", "--max-new-tokens", "8", "--model", str(tiny_model_dir),
                 "--out", str(compare), "--no-progress"]) == 0
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "latent_sweep.py"), "--data",
                          str(ROOT / "data" / "gsm8k" / "test_dev.jsonl"), "--limit", "2", "--max-iters", "1",
                          "--max-new-tokens", "8", "--variants", "faithful,sample", "--model", str(tiny_model_dir),
                          "--out-dir", str(tmp_path / "sweep"), "--compare", str(compare), "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    table = out.stdout.split("oracle reward, K = 1")[1]
    assert all(name in table for name in ("latentseek:faithful", "latentseek:sample", "cot"))
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == ["faithful.jsonl", "sample.jsonl"]


def test_cpu_throughput_script_reports_every_figure_on_a_tiny_model(tiny_model_dir):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cpu_throughput.py"), "--model", tiny_model_dir,
                          "--batches", "1,2", "--tokens", "3", "--repeats", "1", "--batch", "2"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    for figure in ("copy bandwidth", "fp32 GEMM", "int8 dynamic-quantized Linear", "engine loop",
                   "transformers generate", "latent update", "grouped by prompt length", "two single-thread workers",
                   "int8 / float32, engine loop"):
        assert figure in out.stdout, figure


def test_compare_results_pairs_files_on_the_same_problems(tmp_path):
    for name, right in (("fp32", {0, 1, 2}), ("int8", {0, 3})):
        rows = [{"id": str(i), "method": "cot", "reward": "oracle", "correct": i in right, "first_correct": i in right,
                 "attempts": 1, "tokens": 10, "generate_s": 1.0, "update_s": 0.0, "reward_s": 0.0}
                for i in range(5)]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_results.py"),
                          str(tmp_path / "fp32.jsonl"), str(tmp_path / "int8.jsonl")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("cot[fp32] (oracle)"))
    assert line.split()[-6:] == ["5", "3", "2", "1", "2", "1.0000"]  # n, A right, B right, fixed, broken, p


def test_compare_results_counts_right_answers_per_budget_and_plots_every_file_on_one_figure(tmp_path):
    # two searches with K = 2 and a chain of thought (K = 0, a flat line) on three problems
    runs = {"search": [[False, True, True], [False, False, True], [True, True, True]],
            "other": [[False, False, False], [False, True, True], [True, True, True]],
            "cot": [[False], [False], [True]]}
    for name, correct_at in runs.items():
        rows = [{"id": str(i), "method": name, "reward": "oracle", "correct": at[-1], "first_correct": at[0],
                 "attempts": len(at), "tokens": 10, "generate_s": 1.0, "update_s": 0.0, "reward_s": 0.0,
                 "correct_at": at} for i, at in enumerate(correct_at)]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    plot = tmp_path / "all.png"
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_results.py"),
                          *(str(tmp_path / f"{name}.jsonl") for name in runs), "--plot", str(plot)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    curves = {line.split()[0]: line.split()[-3:] for line in out.stdout.split("\nk ")[1].splitlines()
              if line.startswith(("search[", "other[", "cot["))}
    assert curves["search[search]"] == ["1", "2", "3"]
    assert curves["other[other]"] == ["1", "2", "2"]
    assert curves["cot[cot]"] == ["1", "1", "1"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_judge_budget_scores_every_budget_from_one_generation_and_resumes(tiny_model_dir, tmp_path):
    out_file, data = tmp_path / "judge.jsonl", tmp_path / "short.jsonl"
    questions = ["What is 2 + 3?", "What is 4 + 4?", "What is 9 - 2?",
                 "Tom has " + "many " * 200 + "apples; how many?"]  # the last one can't fit the judge's context
    data.write_text("".join(json.dumps({"question": q, "answer": "#### 5"}) + "\n" for q in questions))
    command = [sys.executable, str(ROOT / "benchmarks" / "judge_budget.py"), "--model", tiny_model_dir,
               "--data", str(data), "--answer-tokens", "6",
               "--budgets", "8,2", "--batch-size", "2", "--out", str(out_file)]
    first = subprocess.run(command + ["--limit", "2"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["0", "1"]
    for row in rows:
        assert set(row["budgets"]) == {"2", "8"} and all(n <= 8 for n in row["reply_tokens"])
        short = row["budgets"]["2"]
        # a reply of more than 2 tokens was cut at 2: parsed or decided by the verdict-token probabilities
        assert all(path in ("parsed", "probability") for path in short["paths"])
    assert "verdict parsed" in first.stdout and "precision" in first.stdout
    again = subprocess.run(command + ["--limit", "4"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["0", "1", "2", "3"]
    assert "exceeds the judge model's context" in rows[3]["not_judged"]
    assert "3 answers" in again.stdout and "1 answer(s) too long for the judge's context" in again.stdout
    bad = subprocess.run(command[:-2] + ["--budgets", "0,8", "--out", str(out_file)], capture_output=True, text=True)
    assert bad.returncode == 2 and "--budgets" in bad.stderr


def test_vote_early_stop_replays_recorded_votes():
    results = ROOT / "cookbook" / "results" / "qwen_coder_1p5b" / "gsm8k_llamacpp_self_consistency_k7_rows1-42.jsonl"
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vote_early_stop.py"), "--replay", str(results)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "42 votes of 8 samples" in out.stdout and "draws 248 of 336 samples" in out.stdout
    assert "recorded choice reproduced on 42 of 42" in out.stdout


def test_vote_early_stop_runs_both_votes_in_one_run(tiny_model_dir):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vote_early_stop.py"), "--data",
                          str(ROOT / "data" / "gsm8k" / "test_dev.jsonl"), "--limit", "2", "--max-iters", "2",
                          "--max-new-tokens", "8", "--model", str(tiny_model_dir), "--backend", "torch"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "full vote: 6 samples" in out.stdout  # a random model writes no answer: neither vote stops early
    assert "stop when decided: 6 samples" in out.stdout and "ratios full / stopped: samples 1.00x" in out.stdout


def test_vote_early_stop_counts_tokens_where_rows_keep_each_samples_length(tmp_path):
    row = {"method": "self_consistency", "answers": ["7", "7", "7", "5", "7"], "chosen": 0,
           "tokens": 50, "tokens_each": [10, 10, 10, 10, 10]}
    results = tmp_path / "votes.jsonl"
    results.write_text(json.dumps(row) + "\n")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vote_early_stop.py"), "--replay", str(results)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "draws 3 of 5 samples" in out.stdout and "decoded tokens: 30 of 50" in out.stdout  # 3 of 5 agree
