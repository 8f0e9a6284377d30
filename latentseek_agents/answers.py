"""Final-answer extraction from completions: the one implementation the engine and rewards share.

Extraction is explicit: ``last_boxed`` (the last ``\\boxed{...}``, braces matched, so a
self-correcting answer's last box wins), ``json`` (the "final answer" field of a JSON object), or
``answer_is`` ("the answer is: 18"). ``auto`` tries them in that order; ``full`` takes the whole
(stripped) text as the answer, for fields that already hold just the answer (a DSPy ``answer``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from .validation import check_int

__all__ = ["EXTRACTORS", "extract_answer", "last_boxed", "json_final_answer", "answer_is", "gsm8k_gold", "majority",
           "vote_decided", "answer_key", "vote_key", "vote_shares"]

Extractor = Literal["last_boxed", "json", "answer_is", "auto", "full"]
EXTRACTORS = ("last_boxed", "json", "answer_is", "auto", "full")

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:)\s*:?\s*\$?([^\n$]+?)\$?\s*(?:\.\s|\.$|\n|$)", re.IGNORECASE)
_FINAL_FIELD = re.compile(r'"final[ _]answer"\s*:\s*("(?:[^"\\]|\\.)*"|-?[\d.,/]+)', re.IGNORECASE)
_MAX_SCAN = 200_000  # characters: longer completions are scanned at their end only


def last_boxed(text: str) -> str | None:
    r"""Content of the last ``\boxed{...}`` with balanced braces, or None.

    Example:
        >>> last_boxed(r"first \boxed{3}, corrected: \boxed{\frac{1}{2}}")
        '\\frac{1}{2}'
    """
    text = text[-_MAX_SCAN:]
    # One pass, linear in the text: a stack of open braces, each knowing whether a box opened it.
    box_starts = {match.end() - 1 for match in _BOX.finditer(text)}  # index of each box's "{"
    stack: list[int] = []
    best: tuple[int, int] | None = None  # (opening, closing) index of the latest-opened closed box
    for i, char in enumerate(text):
        if char == "{":
            stack.append(i)
        elif char == "}" and stack:
            start = stack.pop()
            if start in box_starts and (best is None or start > best[0]):
                best = (start, i)
    return None if best is None else text[best[0] + 1:best[1]].strip()


def json_final_answer(text: str) -> str | None:
    """The "final answer" field of the last JSON object in ``text`` (fenced or bare), or None.

    Example:
        >>> json_final_answer('{"thought process": "3*4", "final answer": 12}')
        '12'
    """
    text = text[-_MAX_SCAN:]
    for candidate in reversed(re.findall(r"\{[^{}]*\}", text)):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            for key, value in data.items():
                if key.strip().lower().replace("_", " ") == "final answer":
                    return str(value).strip()
    matches = _FINAL_FIELD.findall(text)
    if matches:
        raw = matches[-1]
        return raw.strip('"').strip() if raw.startswith('"') else raw.strip()
    return None


def answer_is(text: str) -> str | None:
    """The value after the last "the answer is" / "answer:", or None.

    Example:
        >>> answer_is("so the answer is: 18 eggs.")
        '18 eggs'
    """
    matches = _ANSWER_IS.findall(text[-_MAX_SCAN:])
    return matches[-1].strip() if matches else None


def extract_answer(text: str | None, how: Extractor = "auto") -> str | None:
    """Extract a final answer with the named extractor (``auto`` tries each in turn).

    Example:
        >>> extract_answer("... so the answer is 7", "auto")
        '7'
    """
    if not text:
        return None
    if how == "last_boxed":
        return last_boxed(text)
    if how == "json":
        return json_final_answer(text)
    if how == "answer_is":
        return answer_is(text)
    if how == "auto":
        return last_boxed(text) or json_final_answer(text) or answer_is(text)
    if how == "full":
        return text.strip() or None
    raise ValueError(f"extract must be one of {EXTRACTORS}, got {how!r}")


def gsm8k_gold(answer_field: str) -> str:
    """The gold answer of a GSM8K row: the text after ``####`` (commas removed), else the input.

    Example:
        >>> gsm8k_gold("She has 3 + 4 = 7 eggs.\\n#### 1,072")
        '1072'
    """
    if "####" in answer_field:
        return answer_field.rsplit("####", 1)[1].strip().replace(",", "")
    return answer_field.strip()


def answer_key(answer: str | None) -> str | None:
    r"""An extracted final answer normalized for voting: "$1,072.00", "\$1072" and "1072" agree.

    Example:
        >>> answer_key("\\$1,072.00"), answer_key("x + 1"), answer_key(None)
        ('1072', 'x + 1', None)
    """
    if answer is None:
        return None
    flat = answer.replace(",", "").replace("\\$", "").replace("$", "").replace("\\%", "").replace("%", "")
    flat = flat.strip().rstrip(".")
    try:
        number = float(flat)
    except ValueError:
        return " ".join(flat.split())
    return str(int(number)) if number.is_integer() else repr(number)


def vote_key(text: str) -> str | None:
    r"""A completion's final answer normalized for voting (:func:`answer_key`); None if it has none.

    Example:
        >>> vote_key("so \\boxed{\\$1,072.00}"), vote_key("no answer here")
        ('1072', None)
    """
    return answer_key(extract_answer(text))


def vote_shares(texts: Sequence[str]) -> dict[str, float]:
    r"""Each final answer's share of the votes among ``texts`` (texts without an answer vote for nothing
    but count in the total).

    Example:
        >>> vote_shares(["\\boxed{5}", "\\boxed{5.0}", "\\boxed{3}", "none"])
        {'5': 0.5, '3': 0.25}
    """
    return {key: count / len(texts) for key, count in _counts(map(vote_key, texts)).items()}


def _counts(keys: Iterable[str | None]) -> Counter[str]:
    """How many votes each answer key got, in order of first appearance (None votes for nothing)."""
    return Counter(key for key in keys if key is not None)


def majority(texts: Sequence[str]) -> int:
    r"""Index of the first text whose final answer is the most common one (self-consistency's vote;
    texts without an answer vote for nothing; if none has one, the first text).

    Example:
        >>> majority(["so \\boxed{3}", "\\boxed{5}", "it is \\boxed{5.0}"])
        1
    """
    keys = [vote_key(t) for t in texts]
    leader = _leader(_counts(keys))
    return 0 if leader is None else keys.index(leader)


def _leader(counts: Counter[str]) -> str | None:
    """The answer with the most votes, the one seen first on a tie (``counts`` keeps first-seen order);
    None when nothing has a vote."""
    return max(counts, key=counts.__getitem__) if counts else None


def vote_decided(texts: Sequence[str], remaining: int) -> bool:
    r"""Whether ``remaining`` more texts, whatever they answer, can no longer change :func:`majority`'s
    winner among ``texts`` (so a vote may stop drawing: the answer is the one the full vote returns).

    The leader must stay ahead of every other answer, and of one not seen yet, even if all the
    remaining texts vote for it; a tie still goes to the answer that appeared first.

    Example:
        >>> vote_decided(["\\boxed{5}", "\\boxed{5}", "\\boxed{3}"], 1), vote_decided(["\\boxed{5}", "\\boxed{3}"], 1)
        (True, False)
    """
    check_int("remaining", remaining, 0)
    if remaining == 0:
        return True
    keys = [vote_key(t) for t in texts]
    counts = _counts(keys)
    leader = _leader(counts)
    if leader is None:  # nothing has a vote yet
        return False
    lead, first = counts[leader], keys.index(leader)
    if remaining > lead:  # an answer not seen yet could still pass it
        return False
    return all(votes + remaining < lead or (votes + remaining == lead and keys.index(key) > first)
               for key, votes in counts.items() if key != leader)
