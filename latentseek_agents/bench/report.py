"""Summaries of benchmark rows: accuracy with a 95% Wilson interval, attempts, tokens, time split,
and accuracy against the number of extra generations (the paper's Figure 2 shape)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import LatentSeekConfig

__all__ = ["wilson", "mcnemar_exact", "paired", "format_paired", "summarize", "format_table", "accuracy_curve",
           "format_curves", "plot_curves", "judge_agreement", "format_agreement", "parsed_share", "retry_yield",
           "format_retry_yield"]


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion.

    Example:
        >>> [round(v, 3) for v in wilson(8, 50)]
        [0.083, 0.285]
    """
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs under a fair coin.

    Example:
        >>> round(mcnemar_exact(9, 2), 4)
        0.0654
    """
    n = fixed + broken
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(fixed, broken) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pair of (method, reward) groups compared on the problems both answered.

    ``fixed``: problems the second got right and the first wrong; ``broken``: the reverse.
    """
    by_group: dict[tuple[str, str], dict[Any, bool]] = defaultdict(dict)
    for row in rows:
        by_group[_key(row)][row["id"]] = bool(row["correct"])
    keys = sorted(by_group)
    out = []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            common = by_group[a].keys() & by_group[b].keys()
            fixed = sum(1 for k in common if by_group[b][k] and not by_group[a][k])
            broken = sum(1 for k in common if by_group[a][k] and not by_group[b][k])
            out.append({"a": a, "b": b, "n": len(common), "a_correct": sum(by_group[a][k] for k in common),
                        "b_correct": sum(by_group[b][k] for k in common), "fixed": fixed, "broken": broken,
                        "p": mcnemar_exact(fixed, broken)})
    return out


def format_paired(comparisons: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of :func:`paired` output."""
    name = lambda key: f"{key[0]} ({key[1]})"  # noqa: E731
    width = max([10] + [len(name(c["a"])) for c in comparisons] + [len(name(c["b"])) for c in comparisons])
    head = f"{'A':{width}s} {'B':{width}s} {'n':>4s} {'A right':>7s} {'B right':>7s} {'fixed':>5s} {'broken':>6s} {'p':>7s}"  # noqa: E501
    body = [f"{name(c['a']):{width}s} {name(c['b']):{width}s} {c['n']:4d} {c['a_correct']:7d} "
            f"{c['b_correct']:7d} {c['fixed']:5d} {c['broken']:6d} {c['p']:7.4f}" for c in comparisons]
    return _render(head, body, "(on the problems both answered; fixed: B right where A was wrong; broken: the "
                               "reverse; p: two-sided exact McNemar)")


def _render(head: str, body: Sequence[str], note: str) -> str:
    """A plain-text table: the header, a rule, the rows, a note on the columns."""
    return "\n".join([head, "-" * len(head), *body, note])


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return row["method"], row["reward"]


def _mean_flipped(group: Sequence[dict[str, Any]]) -> float | None:
    """Mean share of the optimized prefix tokens one latent update changed (None: no updates)."""
    shares = [share for r in group for share in r.get("flipped") or ()]
    return sum(shares) / len(shares) if shares else None


def _mean_distinct(group: Sequence[dict[str, Any]]) -> float | None:
    """Mean number of different final answers among a problem's attempts, over rows that record each
    attempt's answer (``answers``; older rows don't): 1.0 means every attempt ended on the same answer."""
    counts = [len(set(r["answers"])) for r in group if r.get("answers")]
    return sum(counts) / len(counts) if counts else None


def parsed_share(group: Sequence[dict[str, Any]]) -> float | None:
    """Share of a judge's checks whose verdict was parsed from its reply, over rows that record how each
    check was decided (``judge_paths``); None when no judge ran.

    Example:
        >>> parsed_share([{"judge_paths": {"parsed": 3, "probability": 1}}, {"judge_paths": {}}])
        0.75
    """
    counts = [r.get("judge_paths") or {} for r in group]
    total = sum(sum(c.values()) for c in counts)
    return sum(c.get("parsed", 0) for c in counts) / total if total else None


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per (method, reward) over the rows."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_key(row)].append(row)
    out = []
    for (method, reward), group in sorted(groups.items()):
        n = len(group)
        right = sum(bool(r["correct"]) for r in group)
        low, high = wilson(right, n)
        mean = lambda key: sum(r[key] for r in group) / n  # noqa: E731
        out.append({"method": method, "reward": reward, "n": n, "correct": right, "accuracy": right / n,
                    "ci_low": low, "ci_high": high, "attempts": mean("attempts"), "tokens": mean("tokens"),
                    "reward_tokens": sum(r.get("reward_tokens", 0) for r in group) / n,  # older rows lack it
                    "generate_s": mean("generate_s"), "update_s": mean("update_s"), "reward_s": mean("reward_s"),
                    "first_correct": sum(bool(r["first_correct"]) for r in group),
                    "flipped": _mean_flipped(group), "distinct_answers": _mean_distinct(group),
                    "verdicts_parsed": parsed_share(group)})
    return out


def format_table(summary: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of :func:`summarize` output."""
    width = max([12] + [len(s["method"]) for s in summary])
    head = (f"{'method':{width}s} {'reward':7s} {'n':>4s} {'accuracy':>9s} {'95% CI':>15s} {'CoT-right':>9s} "
            f"{'attempts':>8s} {'answers':>7s} {'tokens':>7s} {'rew tok':>7s} {'gen s':>7s} {'upd s':>6s} "
            f"{'rew s':>6s} {'flipped':>7s} {'verdict':>7s}")
    body = [f"{s['method']:{width}s} {s['reward']:7s} {s['n']:4d} {s['accuracy']:9.1%} "
            f"{'[' + format(s['ci_low'], '.1%') + ', ' + format(s['ci_high'], '.1%') + ']':>15s} "
            f"{s['first_correct']:9d} {s['attempts']:8.2f} "
            f"{'-' if s.get('distinct_answers') is None else format(s['distinct_answers'], '.2f'):>7s} "
            f"{s['tokens']:7.0f} {s['reward_tokens']:7.0f} {s['generate_s']:7.2f} "
            f"{s['update_s']:6.2f} {s['reward_s']:6.2f} "
            f"{'-' if s.get('flipped') is None else format(s['flipped'], '.1%'):>7s} "
            f"{'-' if s.get('verdicts_parsed') is None else format(s['verdicts_parsed'], '.1%'):>7s}"
            for s in summary]
    return _render(head, body, "(accuracy: the returned answer against the gold answer; CoT-right: how many first "
                               "answers were already right; answers: different final answers among a problem's "
                               "attempts; rew tok: tokens the reward decoded (a judge's replies, a vote's samples); "
                               "time per problem; flipped: share of the optimized prefix tokens that one "
                               "latent update changed; verdict: share of the self-judge's checks whose reply reached "
                               "a verdict, the rest decided by the verdict-token probabilities)")


def judge_agreement(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """How well a non-oracle reward's "passes" matched the gold answer, over every scored attempt.

    ``precision``: of the attempts the reward passed, the share that were right; ``recall``: of the
    right attempts, the share it passed (None where nothing was passed / right). The pass rule is
    each row's own settings (``score_threshold``, ``inclusive_threshold``).

    Example:
        >>> row = {"method": "best_of_n", "reward": "self", "scores": [0.5, 1.0], "correct_each": [False, True],
        ...        "settings": {"score_threshold": 0.8}}
        >>> judge_agreement([row])[0]["precision"]
        1.0
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["reward"] != "oracle":
            groups[_key(row)].append(row)
    out = []
    for (method, reward), group in sorted(groups.items()):
        tp = fp = fn = tn = 0
        for row in group:
            settings = row.get("settings") or {}
            rule = LatentSeekConfig(**{k: settings[k] for k in ("score_threshold", "inclusive_threshold")
                                       if k in settings})  # the engine's own pass rule, as the row ran it
            for score, right in zip(row["scores"], row["correct_each"]):
                passes = rule.passes(score)
                tp, fp, fn, tn = tp + (passes and right), fp + (passes and not right), \
                    fn + (not passes and right), tn + (not passes and not right)
        out.append({"method": method, "reward": reward, "attempts": tp + fp + fn + tn, "tp": tp, "fp": fp,
                    "fn": fn, "tn": tn, "precision": tp / (tp + fp) if tp + fp else None,
                    "recall": tp / (tp + fn) if tp + fn else None})
    return out


def format_agreement(agreement: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of :func:`judge_agreement` output."""
    share = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
    width = max([12] + [len(a["method"]) for a in agreement])
    head = (f"{'method':{width}s} {'reward':10s} {'attempts':>8s} {'passed':>6s} {'right':>6s} {'precision':>9s} "
            f"{'recall':>7s}")
    body = [f"{a['method']:{width}s} {a['reward']:10s} {a['attempts']:8d} {a['tp'] + a['fp']:6d} "
            f"{a['tp'] + a['fn']:6d} {share(a['precision']):>9s} {share(a['recall']):>7s}" for a in agreement]
    return _render(head, body, "(every scored attempt: passed = the reward passed it, right = the gold check did; "
                               "precision = right among passed, recall = passed among right)")


def retry_yield(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (method, reward): of the attempts made after a wrong first answer, how many were right.

    Pooled over problems, with a Wilson interval: the rate at which further generations (samples,
    latent updates, revisions) turn into right answers. Under the oracle a search stops at its first
    right answer, so this is fixes per generation spent.

    Example:
        >>> rows = [{"method": "m", "reward": "oracle", "correct_each": [False, False, True]},
        ...         {"method": "m", "reward": "oracle", "correct_each": [True]}]
        >>> y = retry_yield(rows)[0]; (y["problems"], y["attempts"], y["right"], y["share"])
        (1, 2, 1, 0.5)
    """
    groups: dict[tuple[str, str], list[list[bool]]] = defaultdict(list)
    for row in rows:
        each = row.get("correct_each") or []
        if each and not each[0]:
            groups[_key(row)].append([bool(c) for c in each[1:]])
    out = []
    for (method, reward), tries in sorted(groups.items()):
        n, right = sum(len(t) for t in tries), sum(sum(t) for t in tries)
        out.append({"method": method, "reward": reward, "problems": len(tries), "attempts": n, "right": right,
                    "share": right / n if n else None, "ci": wilson(right, n) if n else None})
    return out


def format_retry_yield(yields: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of :func:`retry_yield` output."""
    width = max([12] + [len(y["method"]) for y in yields])
    head = f"{'method':{width}s} {'reward':10s} {'problems':>8s} {'attempts':>8s} {'right':>5s} {'share':>6s} 95% CI"
    body = [f"{y['method']:{width}s} {y['reward']:10s} {y['problems']:8d} {y['attempts']:8d} {y['right']:5d} "
            + ("     -" if y["share"] is None else f"{y['share']:6.1%} [{y['ci'][0]:.1%}, {y['ci'][1]:.1%}]")
            for y in yields]
    return _render(head, body, "(problems whose first answer was wrong: the further attempts each made, and how many "
                               "of those were right)")


def accuracy_curve(rows: Sequence[dict[str, Any]], max_iters: int) -> dict[tuple[str, str], list[float]]:
    """Accuracy when each method stops after k extra generations, k = 0..max_iters."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_key(row)].append(row)
    curves = {}
    for key, group in groups.items():
        curves[key] = [sum(bool(r["correct_at"][min(k, len(r["correct_at"]) - 1)]) for r in group) / len(group)
                       for k in range(max_iters + 1)]
    return curves


def format_curves(rows: Sequence[dict[str, Any]], max_iters: int) -> str:
    """A plain-text table of right answers after k = 0..max_iters extra generations, per method.

    Example::

        print(format_curves(rows, 10))   # one line per (method, reward): counts at k = 0 .. 10
    """
    curves = accuracy_curve(rows, max_iters)
    counts = {key: sum(1 for r in rows if _key(r) == key) for key in curves}
    name = lambda key: f"{key[0]} ({key[1]})"  # noqa: E731
    width = max([10] + [len(name(key)) for key in curves])
    head = f"{'k':{width}s} " + " ".join(f"{k:>4d}" for k in range(max_iters + 1))
    body = [f"{name(key):{width}s} " + " ".join(f"{round(v * counts[key]):4d}" for v in curve)
            for key, curve in sorted(curves.items())]
    return _render(head, body, "(right answers when each method stops after k extra generations; self-consistency: "
                               "the vote over its first k + 1 samples)")


def plot_curves(rows: Sequence[dict[str, Any]], max_iters: int, path: str | Path) -> None:
    """Write a PNG of accuracy against extra generations per method (needs matplotlib)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'latentseek-agents[bench]'") from exc
    # Its own Figure on an Agg canvas: matplotlib's global backend and pyplot state are left alone.
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for (method, reward), curve in sorted(accuracy_curve(rows, max_iters).items()):
        ax.plot(range(len(curve)), [100 * v for v in curve], marker="o", label=f"{method} ({reward})")
    ax.set_xticks(range(max_iters + 1))
    ax.set_ylim(-2, 102)
    ax.set_xlabel("extra generations allowed (iterations K)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy against test-time budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
