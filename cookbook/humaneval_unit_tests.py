"""A HumanEval task with UnitTests as the LatentSeek reward, on the embedded default model.

Model-written code runs in the local sandbox (fresh interpreter, no network, resource limits, an
unprivileged user when run as root): ``allow_execution=True`` acknowledges that.

    python cookbook/humaneval_unit_tests.py --task 0 --max-iters 2 --max-new-tokens 128
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentseek_agents import LatentSeek, LatentSeekConfig, load_model
from latentseek_agents.rewards import UnitTests

DATA = Path(__file__).resolve().parents[1] / "data" / "humaneval" / "dev.jsonl"
SYSTEM = "Complete the Python function. Answer with the whole function in one ```python code block."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=int, default=0, help="HumanEval task number (0-99)")
    parser.add_argument("--max-iters", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()

    row = [json.loads(line) for line in DATA.open(encoding="utf-8")][args.task]
    reward = UnitTests(tests=row["test"], entry_point=row["entry_point"], timeout_s=10, allow_execution=True)
    seeker = LatentSeek(load_model(args.model), reward=reward,
                        config=LatentSeekConfig(max_iters=args.max_iters, max_new_tokens=args.max_new_tokens,
                                                prompt_style="none"))
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": row["prompt"]}]
    result = seeker.solve(messages)
    print(f"{row['task_id']} ({row['entry_point']}): {result.iterations} iteration(s), stop: {result.stop_reason}")
    for attempt in result.trace:
        print(f"  attempt {attempt.iteration}: score {attempt.score:.2f} - {attempt.feedback[:110]}")
    print(f"sandbox isolation: {result.trace[0].details.get('isolation')}")


if __name__ == "__main__":
    main()
