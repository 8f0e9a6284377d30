"""The latentseek command line, run in-process on a tiny model saved to a local directory."""

import json
from pathlib import Path

import pytest

from latentseek_agents.cli import main


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_solve_json_prints_the_seek_result(capsys, model_dir, tmp_path):
    trace = tmp_path / "trace.jsonl"
    code, out, err = run(capsys, "solve", "What is 2 + 3?", "--reference", "5", "--model", model_dir,
                         "--max-iters", "2", "--max-new-tokens", "16", "--lr", "0.3", "--json",
                         "--trace", str(trace))
    assert code == 0
    data = json.loads(out)
    assert data["iterations"] == 2 and data["stop_reason"] == "max_iters"
    assert [a["iteration"] for a in data["trace"]] == [0, 1, 2]
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [line["iteration"] for line in lines] == [0, 1, 2]
    assert lines[0]["question"] == "What is 2 + 3?"
    assert "latentseek" in err  # the progress bar went to stderr


def test_solve_prints_a_readable_summary(capsys, model_dir):
    code, out, _ = run(capsys, "solve", "What is 2 + 3?", "--reference", "5", "--model", model_dir,
                       "--max-iters", "1", "--max-new-tokens", "16", "--no-progress")
    assert code == 0
    for label in ("first answer", "final answer", "iterations", "scores", "time"):
        assert label in out


@pytest.mark.parametrize(("method", "reference", "attempts"), [
    ("best_of_n", "5", 3), ("self_consistency", None, 3)])
def test_solve_runs_the_sampling_alternatives_at_the_same_budget(capsys, model_dir, method, reference, attempts):
    args = ["--reference", reference] if reference else []
    code, out, err = run(capsys, "solve", "What is 2 + 3?", "--model", model_dir, "--method", method, *args,
                         "--max-iters", "2", "--max-new-tokens", "16", "--json")
    assert code == 0 and method in err  # the progress bar names the method
    data = json.loads(out)
    assert len(data["trace"]) == attempts and data["stop_reason"] == "max_iters"
    assert all(a["prefix_tokens"] == 0 for a in data["trace"])  # samples, no latent update
    if reference is None:  # a vote needs no reward: nothing was scored
        assert all(a["details"].get("skipped") for a in data["trace"])


@pytest.mark.parametrize(("args", "message"), [
    (["--fraction", "1.5"], "fraction must be a finite number in (0, 1], got 1.5"),
    (["--lr", "-1"], "lr must be a finite number > 0, got -1.0"),
    (["--max-iters", "-1"], "max_iters must be an integer >= 0, got -1"),
    (["--device", "tpu"], "device must be"),
    (["--dtype", "int4"], "dtype must be one of"),
    (["--stop-when-decided"], "--stop-when-decided applies to --method self_consistency, got --method latentseek"),
])
def test_bad_settings_exit_2_with_the_reason(capsys, model_dir, args, message):
    code, _, err = run(capsys, "solve", "What is 2 + 3?", "--model", model_dir, *args)
    assert code == 2
    assert message in err


def test_empty_question_is_an_error(capsys, model_dir):
    code, _, err = run(capsys, "solve", "  ", "--model", model_dir)
    assert code == 2 and "question must be a non-empty string" in err


def test_a_missing_model_is_an_error(capsys, tmp_path):
    code, _, err = run(capsys, "solve", "What is 2 + 3?", "--model", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_an_unusable_output_path_is_refused_before_the_model_loads(capsys, tmp_path, where):
    path = str(tmp_path) if where == "folder" else str(tmp_path / "no" / "such" / "trace.jsonl")
    # the model path does not exist either: the output check must come first
    code, _, err = run(capsys, "solve", "What is 2 + 3?", "--model", str(tmp_path / "missing"), "--trace", path)
    assert code == 2 and "--trace" in err and ("is a folder" in err or "does not exist" in err)
    code, _, err = run(capsys, "bench", "--data", "data/gsm8k/test_dev.jsonl", "--model", str(tmp_path / "missing"),
                       "--out", str(tmp_path))
    assert code == 2 and "--out" in err and "is a folder" in err


def test_a_trace_that_fails_midway_never_costs_the_result(capsys, model_dir, tmp_path):
    code, out, err = run(capsys, "solve", "What is 2 + 3?", "--reference", "5", "--model", model_dir,
                         "--max-iters", "1", "--max-new-tokens", "8", "--json", "--no-progress",
                         "--trace", "/dev/full")  # every write fails: no space left on device
    assert code == 0 and json.loads(out)["iterations"] == 1
    assert "--trace '/dev/full' stopped being written" in err


def test_bench_with_no_methods_is_an_error(capsys, tmp_path):
    code, _, err = run(capsys, "bench", "--data", "data/gsm8k/test_dev.jsonl", "--methods", ",",
                       "--out", str(tmp_path / "r.jsonl"))
    assert code == 2 and "--methods names no method" in err


@pytest.mark.parametrize("command", [["solve", "q"], ["bench", "--data", "d.jsonl"]])
def test_every_config_setting_is_an_option_of_both_commands(command):
    import dataclasses

    from latentseek_agents import LatentSeekConfig
    from latentseek_agents.cli import build_parser, config_from_args

    parser = build_parser()
    args = parser.parse_args(command + ["--grad-clip", "1.5", "--inclusive-threshold", "--optimizer", "sgd",
                                        "--reward-timeout-s", "30", "--steps-per-iter", "2"])
    config = config_from_args(args)
    assert (config.grad_clip, config.inclusive_threshold, config.optimizer) == (1.5, True, "sgd")
    assert (config.reward_timeout_s, config.steps_per_iter) == (30.0, 2)
    defaults = config_from_args(parser.parse_args(command))
    expected = LatentSeekConfig(max_iters=3) if command[0] == "bench" else LatentSeekConfig()
    assert defaults == expected
    help_text = parser._subparsers._group_actions[0].choices[command[0]].format_help()
    assert all("--" + f.name.replace("_", "-") in help_text for f in dataclasses.fields(LatentSeekConfig))


@pytest.mark.parametrize("args, message", [
    (["--reward", "wizard"], "--reward must name rewards among ('math', 'code', 'self')"),
    (["--reward", "math,code"], "pass --allow-code-execution"),
    (["--max-iters", "50"], "config.max_iters is 50, above what limits let one request ask (10)"),
    (["--max-new-tokens", "2048", "--max-request-tokens", "1024"], "config.max_new_tokens is 2048"),
    (["--port", "70000"], "--port must be an integer in [1, 65535], got 70000"),
    (["--num-cpus", "-1"], "num_cpus must be a finite number > 0, got -1.0"),
    (["--num-cpus", "nan"], "num_cpus must be a finite number"),
])
def test_serve_refuses_bad_settings_before_anything_starts(capsys, args, message):
    pytest.importorskip("ray.serve")
    code, _, err = run(capsys, "serve", *args)
    assert code == 2 and message in err


def test_serve_takes_every_latentseek_setting():
    from latentseek_agents.cli import build_parser
    from latentseek_agents.config import LatentSeekConfig

    args = build_parser().parse_args(["serve", "--lr", "0.05", "--select", "best"])
    assert (args.lr, args.select, args.max_iters) == (0.05, "best", 2)
    assert all(hasattr(args, f) for f in LatentSeekConfig.__dataclass_fields__)


def test_a_trace_path_that_cannot_be_opened_is_one_line_before_the_model_loads(capsys, monkeypatch):
    import latentseek_agents.models as models

    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    code, out, err = run(capsys, "solve", "What is 2 + 3?", "--trace", "/proc/version", "--no-progress")
    assert code == 2 and out == ""
    assert err.startswith("latentseek: error: --trace '/proc/version' can't be opened") and err.count("\n") == 1


def test_bench_refuses_a_negative_skip_before_loading_a_model(capsys, tmp_path):
    data = Path(__file__).resolve().parents[2] / "data" / "gsm8k" / "test_dev.jsonl"
    code, out, err = run(capsys, "bench", "--data", str(data), "--skip", "-1", "--methods", "cot", "--reward",
                         "oracle", "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "rows.jsonl"))
    assert code == 2 and out == ""
    assert "skip must be an integer >= 0, got -1" in err and err.count("\n") == 1


@pytest.mark.parametrize("line", ["[1, 2]", "42", '{"no": "id"}', "not json"])
def test_a_results_line_that_is_not_a_row_names_file_and_line_and_keeps_the_file(capsys, model_dir, tmp_path,
                                                                               line):
    out_file = tmp_path / "rows.jsonl"
    good = json.dumps({"id": "0", "method": "cot", "reward": "oracle", "correct": True})
    out_file.write_text(f"{good}\n{line}\n{good}\n")
    before = out_file.read_text()
    data = Path(__file__).resolve().parents[2] / "data" / "gsm8k" / "test_dev.jsonl"
    code, _, err = run(capsys, "bench", "--data", str(data), "--limit", "1", "--methods", "cot",
                       "--reward", "oracle", "--model", model_dir, "--max-new-tokens", "4", "--out", str(out_file),
                       "--no-progress")
    assert code == 2 and f"{out_file}:2:" in err and err.count("\n") == 1
    assert out_file.read_text() == before  # nothing computed earlier is lost
