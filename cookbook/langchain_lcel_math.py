"""An LCEL chain: prompt -> ChatLatentSeek (MathAnswer reward) -> StrOutputParser, over GSM8K rows.

The reference answer of each row reaches the chat model through ``config["configurable"]``, so one
chain serves the whole dataset; per-attempt progress streams as reasoning blocks.

    python cookbook/langchain_lcel_math.py --limit 2 --max-iters 1 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from latentseek_agents.answers import extract_answer, gsm8k_gold
from latentseek_agents.integrations.langchain import ChatLatentSeek
from latentseek_agents.rewards import MathAnswer

DATA = Path(__file__).resolve().parents[1] / "data" / "gsm8k" / "test_dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--max-iters", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()

    prompt = ChatPromptTemplate.from_messages([
        ("system", "Please reason step by step, and put your final answer within \\boxed{{}}."),
        ("human", "{question}"),
    ])
    chat = ChatLatentSeek(model=args.model, reward=MathAnswer(extract="auto"), max_iters=args.max_iters,
                          max_new_tokens=args.max_new_tokens)
    chain = prompt | chat | StrOutputParser()

    rows = [json.loads(line) for _, line in zip(range(args.limit), DATA.open(encoding="utf-8"))]
    answers = chain.batch([{"question": r["question"]} for r in rows],
                          config=[{"configurable": {"reference": gsm8k_gold(r["answer"])}} for r in rows])
    for row, text in zip(rows, answers):
        print(f"gold {gsm8k_gold(row['answer']):>6} | answer {str(extract_answer(text)):>10} | {text[-60:]!r}")

    print("\nstreaming the first question (one reasoning line per attempt, then the answer):")
    for chunk in (prompt | chat).stream({"question": rows[0]["question"]},
                                        config={"configurable": {"reference": gsm8k_gold(rows[0]["answer"])}}):
        for block in chunk.content_blocks:
            if block["type"] == "reasoning":
                print("  [reasoning]", block["reasoning"].strip())
            elif block["type"] == "text":
                print("  [answer]", block["text"][-80:].replace("\n", " "))


if __name__ == "__main__":
    main()
