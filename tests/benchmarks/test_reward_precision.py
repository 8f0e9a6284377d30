"""reward_precision.py: precision and recall of gold-free rewards, computed from results rows."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from reward_precision import main  # noqa: E402


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_vote_agreement_and_the_judge_are_scored_against_gold(tmp_path, capsys):
    samples = _write(tmp_path / "sc.jsonl", [
        # problem a: three samples say 5 (right), one says 6; problem b: all four disagree, one right
        {"id": "a", "method": "self_consistency", "reward": "oracle", "answers": ["5", "5", "6", "5.0"],
         "correct_each": [True, True, False, True], "scores": [1, 1, 0, 1]},
        {"id": "b", "method": "self_consistency", "reward": "oracle", "answers": ["1", "2", "3", None],
         "correct_each": [True, False, False, False], "scores": [1, 0, 0, 0]},
    ])
    first = _write(tmp_path / "cot.jsonl", [
        {"id": "a", "method": "cot", "reward": "oracle", "answer": "$5", "correct": True},
        {"id": "b", "method": "cot", "reward": "oracle", "answer": "2", "correct": False}])
    judged = _write(tmp_path / "self.jsonl", [
        {"id": "a", "method": "latentseek", "reward": "self", "scores": [1.0, 0.5], "correct_each": [False, True]},
        {"id": "a", "method": "cot", "reward": "self_sampled", "scores": [0.9], "correct_each": [True]}])
    assert main([samples, "--first", first, "--judged", judged]) == 0
    out = capsys.readouterr().out
    # leave-one-out: a's three 5s each see 2 of 3 others agree (pass), its 6 sees none; b: nobody agrees
    assert "precision 100.0% [44%, 100%] (3/3)  recall 75.0%" in out.split("VoteAgreement, leave-one-out")[1]
    # the first answers: a's "$5" matches 3 of 4 samples (passes at >= 1/2), b's "2" one of 4 (does not)
    assert "first answers right: 1/2" in out and "precision 100.0% [21%, 100%] (1/1)  recall 100.0%" in out
    # the judge passed a's wrong first answer and failed its right second one
    greedy, sampled = out.split("SelfJudge (greedy verdicts)")[1].split("SelfJudge (4 sampled verdicts per check)")
    assert "every answer:  precision  0.0% [0%, 79%] (0/1)  recall  0.0% [0%, 79%] (0/1)" in greedy
    # the sampled judge, reported on its own: it passed the one (right) answer it judged
    assert "first answers: precision 100.0% [21%, 100%] (1/1)  recall 100.0%" in sampled


def test_a_search_rows_first_attempt_is_its_first_answer_and_the_samples_can_be_cut(tmp_path, capsys):
    samples = _write(tmp_path / "sc.jsonl", [
        # the first 2 samples say 7; the last 2 say 8 (right)
        {"id": "a", "method": "self_consistency", "reward": "oracle", "answers": ["7", "7", "8", "8"],
         "correct_each": [False, False, True, True], "scores": [0, 0, 1, 1]}])
    first = _write(tmp_path / "bon.jsonl", [  # best-of-N: a wrong greedy 7, then a right sample 8
        {"id": "a", "method": "best_of_n", "reward": "oracle", "answers": ["7", "8"], "answer": "8",
         "correct_each": [False, True], "correct": True}])
    assert main([samples, "--first", first, "--limit-samples", "2"]) == 0
    out = capsys.readouterr().out
    assert "1 problems x 2 samples, 0/2 samples right" in out
    # the greedy 7 (wrong) matches both kept samples: VoteAgreement passes a wrong first answer
    assert "first answers right: 0/1" in out and "wrong passed 1/1" in out.split("all agree")[-1]
    # with all 4 samples it matches half: passes at >= 1/2 only
    assert main([samples, "--first", first]) == 0
    lines = capsys.readouterr().out.split("first answers right: 0/1")[1].splitlines()
    assert lines[1].endswith("wrong passed 1/1") and lines[3].endswith("wrong passed 0/1")


def test_more_samples_than_every_problem_has_is_refused(tmp_path, capsys):
    samples = _write(tmp_path / "sc.jsonl", [
        {"id": "a", "method": "self_consistency", "reward": "oracle", "answers": ["7", "8"],
         "correct_each": [False, True], "scores": [0, 1]}])
    with pytest.raises(SystemExit) as exit_:
        main([samples, "--limit-samples", "3"])
    assert exit_.value.code == 2
    assert "--limit-samples: expected 2 to 2 (the samples every problem has), got 3" in capsys.readouterr().err
