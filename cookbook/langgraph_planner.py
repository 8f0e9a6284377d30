"""A LangGraph graph: a planner node splits a task into sub-questions and routes the math ones to
the LatentSeek tool; the others go to a plain answer node; a final node assembles the report.

The planner here is a small deterministic function (any chat model could play that role); the
math node calls ``LatentSeekTool`` exactly as an agent would, and its results carry answer + score.

    python cookbook/langgraph_planner.py --max-iters 1 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import operator
import re
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from latentseek_agents.integrations.langchain import LatentSeekRunnable, LatentSeekTool
from latentseek_agents.rewards import MathAnswer

TASK = ("Plan a school bake sale. "
        "Q1: Each tray holds 12 muffins and we bake 4 trays; how many muffins is that? [ref 48] "
        "Q2: Which day of the week suits a school bake sale? "
        "Q3: If each muffin sells for 2 dollars and we sell 30 muffins, how many dollars do we make? [ref 60]")


class State(TypedDict):
    task: str
    results: Annotated[list[dict], operator.add]


class SubQuestion(TypedDict):
    question: str
    reference: str | None


def plan(state: State) -> dict:
    return {}


def route(state: State) -> list[Send]:
    """One Send per sub-question: math (has digits) to the LatentSeek tool, the rest to 'answer'."""
    sends = []
    for part in re.findall(r"Q\d+: (.*?)(?= Q\d+:|$)", state["task"]):
        reference = re.search(r"\[ref (\w+)\]", part)
        question = re.sub(r"\s*\[ref \w+\]", "", part).strip()
        target = "math" if re.search(r"\d", question) else "answer"
        sends.append(Send(target, {"question": question, "reference": reference and reference.group(1)}))
    return sends


def make_graph(tool: LatentSeekTool):
    def math(sub: SubQuestion) -> dict:
        message = tool.invoke({"type": "tool_call", "id": "plan", "name": tool.name,
                               "args": {"question": sub["question"], "reference": sub["reference"]}})
        return {"results": [{"question": sub["question"], "by": "latentseek", "result": message.content,
                             "iterations": message.artifact["iterations"]}]}

    def answer(sub: SubQuestion) -> dict:
        return {"results": [{"question": sub["question"], "by": "planner", "result": "a weekday afternoon"}]}

    graph = StateGraph(State)
    graph.add_node("plan", plan)
    graph.add_node("math", math)
    graph.add_node("answer", answer)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", route, ["math", "answer"])
    graph.add_edge("math", END)
    graph.add_edge("answer", END)
    return graph.compile()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iters", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()

    tool = LatentSeekTool(runnable=LatentSeekRunnable(model=args.model, reward=MathAnswer(extract="auto"),
                                                      max_iters=args.max_iters, max_new_tokens=args.max_new_tokens))
    state = make_graph(tool).invoke({"task": TASK, "results": []})
    for item in state["results"]:
        print(f"[{item['by']:>10}] {item['question']}\n             -> {item['result']}")
    routed = sum(item["by"] == "latentseek" for item in state["results"])
    print(f"\n{routed} math sub-question(s) went to LatentSeek, {len(state['results']) - routed} to the planner")


if __name__ == "__main__":
    main()
