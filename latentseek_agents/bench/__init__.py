"""Benchmark harness: LatentSeek against chain of thought, best-of-N and self-refinement at matched
compute (K+1 generations per problem), with resumable JSONL rows, a summary table and a plot.

Example:
    >>> from latentseek_agents.bench import run_bench                       # doctest: +SKIP
    >>> print(run_bench("data/gsm8k/test_dev.jsonl", limit=10, rewards=["oracle"]))  # doctest: +SKIP
"""

from .data import BenchProblem, load_problems
from .methods import METHODS, run_method
from .report import accuracy_curve, format_table, plot_curves, summarize, wilson
from .runner import REWARDS, BenchReport, read_rows, run_bench

__all__ = ["BenchProblem", "BenchReport", "METHODS", "REWARDS", "accuracy_curve", "format_table", "load_problems",
           "plot_curves", "read_rows", "run_bench", "run_method", "summarize", "wilson"]
