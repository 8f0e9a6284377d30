"""Worker process for MathAnswer: math-verify runs here, so a pathological answer can be killed.

Protocol: one JSON object per line on stdin (``{"gold": ..., "pred": ..., "timeout": s}``), one
JSON object per line on stdout (``{"ok": bool, "gold_parsed": bool, "pred_parsed": bool,
"guard": bool}`` or ``{"error": "..."}``). math-verify's own signal-based timeouts work here
because this loop runs on the worker's main thread; the parent adds a hard wall-clock kill.

Run as ``python -m latentseek_agents.rewards._math_worker``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["compare", "numbers_agree", "main"]


def _wrap(answer: str) -> str:
    return answer if "\\boxed" in answer else f"\\boxed{{{answer}}}"


def numbers_agree(gold: Any, pred: Any) -> bool:
    """False only when both sides are plain numbers that differ beyond 1e-9 relative.

    math-verify compares numbers after rounding to 6 decimals, so it calls 1/2^99 equal to 1/2^98.
    """
    import sympy

    if not (isinstance(gold, sympy.Basic) and isinstance(pred, sympy.Basic)):
        return True
    if not (gold.is_number and pred.is_number):
        return True
    try:
        diff = abs(sympy.N(gold - pred, 60))
        scale = max(abs(sympy.N(gold, 60)), abs(sympy.N(pred, 60)))
        return bool(diff == 0 or diff <= sympy.Float("1e-9") * scale)
    except (TypeError, ValueError, ArithmeticError):
        return True


def compare(gold: str, pred: str, timeout: int = 5) -> dict[str, Any]:
    """Parse both answers (boxed) and verify them with math-verify, gold first."""
    from math_verify import parse, verify

    gold_parsed = parse(_wrap(gold), parsing_timeout=timeout)
    if not gold_parsed:
        return {"ok": False, "gold_parsed": False, "pred_parsed": None, "guard": False}
    pred_parsed = parse(_wrap(pred), parsing_timeout=timeout)
    ok = bool(pred_parsed) and bool(verify(gold_parsed, pred_parsed, timeout_seconds=timeout))
    guard = False
    if ok and not numbers_agree(gold_parsed[0], pred_parsed[0]):
        ok, guard = False, True
    return {"ok": ok, "gold_parsed": True, "pred_parsed": bool(pred_parsed), "guard": guard}


def main() -> None:
    """Serve comparisons until stdin closes."""
    import logging

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    import math_verify  # noqa: F401 - warm the import before the first request

    sys.set_int_max_str_digits(100_000)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = compare(request["gold"], request["pred"], int(request.get("timeout", 5)))
        except BaseException as exc:  # noqa: BLE001 - report, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
