"""Prompt styles and chat-message handling.

``boxed`` is the paper's Prompt 1 (a system instruction to reason step by step and box the final
answer); ``json`` is Prompt 2 (thought process and final answer as a JSON object) in the paper's
GSM8K/AIME text, which asks for a bare number; ``json_expression`` is Prompt 2 in its MATH text,
without that sentence (for answers such as ``\\frac{1}{2}``); ``none`` passes the question or
messages through unchanged. Prompts are rendered with the model's chat template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .config import PROMPT_STYLES

__all__ = ["Messages", "Problem", "ROLES", "ROLE_ALIASES", "build_messages", "check_text", "content_text",
           "normalize_role", "question_text", "render_prompt"]

Messages = list[dict[str, str]]
Problem = str | Sequence[Mapping[str, Any]]

BOXED_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
JSON_SYSTEM = "You are a precise math problem solver. Solve the problem step by step."
JSON_USER = (
    "QUESTION: {question}\n\n"
    "Think step by step. Give your thought process and your final answer separately, as a JSON "
    'object with the keys "thought process" and "final answer", for example:\n'
    '{{"thought process": "...", "final answer": "..."}}'
)
BARE_NUMBER = "The final answer must be a bare number, without units, formulas or explanation."
# Prompt 2's user message per style: the paper adds the bare-number sentence for GSM8K and AIME,
# not for MATH (whose answers are expressions).
JSON_USERS = {"json": JSON_USER + "\n" + BARE_NUMBER, "json_expression": JSON_USER}
ROLES = ("system", "user", "assistant", "tool")
# Other frameworks' names for the same roles (LangChain message types, OpenAI's "developer").
ROLE_ALIASES = {"human": "user", "ai": "assistant", "developer": "system", "function": "tool"}


def normalize_role(role: Any, name: str = "role") -> str:
    """The chat-template role for a role name from any framework; a ValueError for others.

    Example:
        >>> normalize_role("developer"), normalize_role("human")
        ('system', 'user')
    """
    canonical = ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
    if canonical not in ROLES:
        raise ValueError(f"{name} must be one of {ROLES + tuple(ROLE_ALIASES)}, got {role!r}")
    return canonical


def content_text(content: Any) -> str:
    """Message content as text: a string, or the text blocks of a list of content blocks.

    Example:
        >>> content_text([{"type": "text", "text": "2 + 3"}, {"type": "image_url", "image_url": "..."}, "?"])
        '2 + 3?'
    """
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(block if isinstance(block, str) else str(block.get("text", ""))
                       for block in content
                       if isinstance(block, str) or (isinstance(block, Mapping) and block.get("type") == "text"))
    raise ValueError(f"content must be a string or a list of content blocks, got {type(content).__name__}")


def _checked_messages(messages: Sequence[Any]) -> Messages:
    if len(messages) == 0:
        raise ValueError("messages must be a non-empty list of {'role', 'content'} dicts, got []")
    out: Messages = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise ValueError(
                f"messages[{i}] must be a mapping with 'role' and 'content', got {message!r:.80}"
            )
        role = normalize_role(message["role"], f"messages[{i}]['role']")
        content = message["content"]
        if not isinstance(content, str):
            if isinstance(content, (bytes, Mapping)) or not isinstance(content, Sequence):
                raise ValueError(f"messages[{i}]['content'] must be a string or a list of content blocks, "
                                 f"got {type(content).__name__}")
            content = content_text(content)
        out.append({"role": role, "content": content})
    if not any(m["role"] == "user" and m["content"].strip() for m in out):
        raise ValueError("messages must contain a non-empty 'user' message")
    return out


def build_messages(problem: Problem, style: str = "boxed") -> Messages:
    """Turn a question string or a chat-message list into the messages to render.

    A string gets the style's full prompt. A message list is kept as given; every style but
    ``none`` adds its system instruction only when the list has no system message.

    Example:
        >>> build_messages("What is 2 + 3?")[0]["role"]
        'system'
        >>> build_messages("Simplify 2/4.", style="json_expression")[1]["content"].endswith('"..."}')
        True
        >>> build_messages([{"role": "user", "content": "hi"}], style="none")
        [{'role': 'user', 'content': 'hi'}]
    """
    if style not in PROMPT_STYLES:
        raise ValueError(f"prompt_style must be one of {PROMPT_STYLES}, got {style!r}")
    system = BOXED_SYSTEM if style == "boxed" else None if style == "none" else JSON_SYSTEM
    if isinstance(problem, str):
        if not problem.strip():
            raise ValueError("question must be a non-empty string, got an empty string")
        user = JSON_USERS[style].format(question=problem) if style in JSON_USERS else problem
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    if isinstance(problem, Sequence) and not isinstance(problem, (bytes, bytearray)):
        messages = _checked_messages(problem)
        if system and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": system})
        return messages
    hint = " (decode bytes to text first)" if isinstance(problem, (bytes, bytearray)) else ""
    raise ValueError(
        f"question must be a string or a list of chat messages, got {type(problem).__name__}{hint}"
    )


def question_text(messages: Messages) -> str:
    """The last user message's content: what a reward sees as ``prompt``.

    Example:
        >>> question_text([{"role": "user", "content": "2+3?"}])
        '2+3?'
    """
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    return messages[-1]["content"]


def check_text(text: str, name: str) -> None:
    r"""Refuse text that is not valid Unicode (a lone surrogate), naming where it came from.

    Example:
        >>> check_text("2 + \ud800", "question")
        Traceback (most recent call last):
        ...
        ValueError: question is not valid text: surrogates not allowed at character 4 ('\ud800')
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not valid text: {exc.reason} at character {exc.start} "
                         f"({text[exc.start:exc.end]!r})") from None


def _check_encodable(messages: Messages) -> None:
    """Refuse text that is not valid Unicode (a lone surrogate) with the message that holds it."""
    for i, message in enumerate(messages):
        check_text(message["content"], f"messages[{i}]['content']")


def _special_tokens(tokenizer: Any) -> list[str]:
    """Every string the tokenizer turns into a special token (named ones and special added tokens)."""
    found = set(getattr(tokenizer, "all_special_tokens", None) or ())
    for token in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(token, "special", False):
            found.add(str(token))
    return sorted((t for t in found if t), key=len, reverse=True)


def _text_ids(tokenizer: Any, text: str) -> list[int]:
    """Ids of user-supplied text: a special token typed into it stays plain text."""
    return list(tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])


def render_prompt(tokenizer: Any, messages: Messages) -> list[int]:
    """Token ids of the messages rendered with the tokenizer's chat template (generation prompt on).

    Message contents are tokenized as text: a chat-template marker typed into them (say
    ``<|im_start|>system``) is never read as a real special token, so it can't open a new role.
    The template's own markup is tokenized normally. Tokenizers without a chat template get a
    plain ``role: content`` transcript.

    Example:
        >>> render_prompt(lm.tokenizer, [{"role": "user", "content": "What is 2 + 3?"}])  # doctest: +SKIP
        [1, 9690, ...]
    """
    _check_encodable(messages)
    if not getattr(tokenizer, "chat_template", None):
        ids: list[int] = []
        for m in messages:
            ids += _text_ids(tokenizer, f"{m['role']}: ") + _text_ids(tokenizer, m["content"]) + \
                _text_ids(tokenizer, "\n")
        return ids + _text_ids(tokenizer, "assistant:")
    typed = next(((i, t) for i, m in enumerate(messages) for t in _special_tokens(tokenizer) if t in m["content"]),
                 None)
    if typed is None:  # the usual case: exactly the template's own tokenization
        rendered = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)
        return list(rendered["input_ids"])
    # A content holds a marker: render with a placeholder per content, then tokenize the template's
    # markup normally and each content as plain text.
    marks = [f"\ue000{i}\ue001" for i in range(len(messages))]
    skeleton = tokenizer.apply_chat_template([{**m, "content": mark} for m, mark in zip(messages, marks)],
                                             add_generation_prompt=True, tokenize=False)
    pieces = re.split("(\ue000\\d+\ue001)", skeleton)
    if [piece for piece in pieces if piece in marks] != marks:  # the template rewrites contents
        i, token = typed
        raise ValueError(f"messages[{i}]['content'] contains the special token {token!r}, which this "
                         "tokenizer's chat template would read as markup")
    ids = []
    for piece in pieces:
        if piece in marks:
            ids += _text_ids(tokenizer, messages[marks.index(piece)]["content"])
        elif piece:
            ids += list(tokenizer(piece, add_special_tokens=False)["input_ids"])
    return ids
