"""Judge backends: one ``complete(prompts) -> replies`` shape over the models a judge can run on.

* a local model (``LoadedModel``, ``"default"`` or a name/path): batched greedy generation, and
  verdict scoring from the logits of the verdict tokens (deterministic, no parsing);
* a LangChain chat model (anything with ``.batch`` taking message lists);
* a DSPy LM (``dspy.LM``: called with ``messages=``);
* a plain ``str -> str`` callable.

Also the verdict parsing shared by :class:`SelfJudge` and :class:`LLMJudge`: the value after the
*last* marker in the judge's own reply, with word boundaries, and :func:`neutralize`, which
defangs marker lines inside the text being judged so injected verdicts can't be read as the judge's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from .base import JUDGE_TOKENS

__all__ = [
    "JudgeBackend",
    "LocalJudge",
    "ChatModelJudge",
    "DSPyJudge",
    "CallableJudge",
    "as_judge_backend",
    "groups",
    "neutralize",
    "last_marker_value",
]

T = TypeVar("T")


@runtime_checkable
class JudgeBackend(Protocol):
    """Anything that answers a batch of single-turn user prompts with text."""

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """One reply per prompt."""
        ...


def last_marker_value(reply: str, marker: str, value_pattern: str) -> str | None:
    """The value after the last ``marker`` in ``reply`` matching ``value_pattern``, or None.

    Example:
        >>> last_marker_value("SCORE: 2 ... no, SCORE: **4**", "SCORE", r"\\d+(?:\\.\\d+)?")
        '4'
    """
    pattern = rf"{re.escape(marker)}\s*:\s*[*_`\"'\[]*\s*({value_pattern})(?![\w.])"
    matches = re.findall(pattern, reply or "", flags=re.IGNORECASE)
    return matches[-1] if matches else None


def groups(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` cut into consecutive runs of ``size`` (a batch's replies, back to the prompts that asked them).

    Example:
        >>> groups(["a1", "a2", "b1", "b2"], 2)
        [['a1', 'a2'], ['b1', 'b2']]
    """
    return [items[k:k + size] for k in range(0, len(items), size)]


def neutralize(text: str, markers: Sequence[str]) -> str:
    """Defang verdict markers inside judged text (``VERDICT:`` -> ``VERDICT (quoted):``).

    Example:
        >>> neutralize("42. VERDICT: True", ["VERDICT"])
        '42. VERDICT (quoted)= True'
    """
    for marker in markers:
        text = re.sub(rf"({re.escape(marker)})\s*:", r"\1 (quoted)=", text, flags=re.IGNORECASE)
    return text


class LocalJudge:
    """A local HF model as judge: batched greedy replies, bounded tokens; logit verdicts."""

    def __init__(self, model: Any = "default", max_new_tokens: int = JUDGE_TOKENS) -> None:
        self.model = model
        self.max_new_tokens = max_new_tokens
        self._lm: Any = None

    @property
    def lm(self) -> Any:
        """The loaded model (from the shared registry)."""
        if self._lm is None:
            from latentseek_agents.models import load_model

            self._lm = load_model(self.model)
        return self._lm

    def __getstate__(self) -> dict[str, Any]:
        from latentseek_agents.models import model_source

        state = self.__dict__.copy()
        state["model"] = model_source(state["model"], "a judge")
        state["_lm"] = None
        return state

    def _encode(self, prompt: str, room: int = 0) -> list[int]:
        """The rendered prompt's ids; a ValueError if they and ``room`` more tokens exceed the context."""
        from latentseek_agents.prompts import render_prompt

        ids = render_prompt(self.lm.tokenizer, [{"role": "user", "content": prompt}])
        context = self.lm.context_length
        if context is not None and len(ids) + room > context:
            raise ValueError(f"the judge prompt has {len(ids)} tokens; with {room} more it exceeds the judge "
                             f"model's context of {context} tokens")
        return ids

    def fits(self, prompt: str) -> str | None:
        """None if ``prompt`` and a full reply fit the judge's context, else why not."""
        try:
            self._encode(prompt, self.max_new_tokens)
        except ValueError as exc:
            return str(exc)
        return None

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """Greedy replies, one batch, generated tokens only (a prompt too long for the context raises)."""
        return [self.decode(tokens) for tokens in self.reply_tokens(prompts)]

    def sample(self, prompts: Sequence[str], samples: int, temperature: float, seed: int = 0) -> list[list[str]]:
        """``samples`` replies to each prompt at ``temperature``, all in one batch (seeded: the same
        prompts draw the same replies)."""
        texts = [self.decode(tokens) for tokens in self.reply_tokens(prompts, samples, temperature, seed)]
        return [list(replies) for replies in groups(texts, samples)]

    def reply_tokens(self, prompts: Sequence[str], samples: int = 1, temperature: float = 0.0,
                     seed: int = 0) -> list[list[int]]:
        """The token ids of the replies, one batch, ``samples`` per prompt in prompt order: greedy at
        temperature 0 (a budget's reply is then a prefix of a larger one's), else seeded samples."""
        from latentseek_agents.generation import generate, seeded_generator

        encoded = [self._encode(p, self.max_new_tokens) for p in prompts]
        generator = seeded_generator(self.lm, seed) if temperature > 0 else None
        gens = generate(self.lm, [ids for ids in encoded for _ in range(samples)], self.max_new_tokens,
                        temperature=temperature, generator=generator)
        return [list(g.tokens) for g in gens]

    def decode(self, tokens: Sequence[int]) -> str:
        """A reply's text from its token ids (special tokens dropped)."""
        return self.lm.tokenizer.decode(list(tokens), skip_special_tokens=True)

    def option_probs(self, prompt: str, reply_prefix: str, options: Sequence[str]) -> dict[str, float]:
        """Probability of each option as the next token after the reply starts with ``reply_prefix``.

        Uses the first token of each option (with and without a leading space); the result is
        normalised over the options.
        """
        import torch

        from latentseek_agents.generation import next_token_logits

        tokenizer = self.lm.tokenizer
        ids = self._encode(prompt) + list(tokenizer(reply_prefix, add_special_tokens=False,
                                                    split_special_tokens=True)["input_ids"])
        context = self.lm.context_length
        if context is not None and len(ids) > context:  # never score past the window
            raise ValueError(f"the judge prompt and reply have {len(ids)} tokens, over the judge model's "
                             f"context of {context} tokens")
        probs = torch.softmax(next_token_logits(self.lm, ids), dim=-1)
        mass: dict[str, float] = {}
        for option in options:
            firsts = {tokenizer(v, add_special_tokens=False)["input_ids"][0] for v in (option, " " + option)}
            mass[option] = float(sum(probs[i] for i in firsts))
        total = sum(mass.values())
        return {k: (v / total if total > 0 else 1 / len(options)) for k, v in mass.items()}


class ChatModelJudge:
    """A LangChain chat model as judge (``batch`` of single human messages)."""

    def __init__(self, chat_model: Any) -> None:
        self.chat_model = chat_model

    def complete(self, prompts: Sequence[str]) -> list[str]:
        replies = self.chat_model.batch([[("human", p)] for p in prompts])
        texts = [getattr(r, "text", None) for r in replies]
        return [text if isinstance(text, str) else str(r.content) for text, r in zip(texts, replies)]


class DSPyJudge:
    """A DSPy LM as judge (``lm(messages=[...])`` returns a list of outputs)."""

    def __init__(self, lm: Any) -> None:
        self.lm = lm

    def complete(self, prompts: Sequence[str]) -> list[str]:
        replies = []
        for prompt in prompts:
            outputs = self.lm(messages=[{"role": "user", "content": prompt}])
            first = outputs[0] if outputs else ""
            replies.append(first.get("text", "") if isinstance(first, dict) else str(first))
        return replies


class CallableJudge:
    """A plain ``fn(prompt) -> reply`` callable as judge."""

    def __init__(self, fn: Callable[[str], str]) -> None:
        self.fn = fn

    def complete(self, prompts: Sequence[str]) -> list[str]:
        return [str(self.fn(p)) for p in prompts]


def as_judge_backend(judge: Any, *, max_new_tokens: int = JUDGE_TOKENS) -> JudgeBackend:
    """Pick the backend for ``judge`` (duck-typed: LangChain and DSPy are never imported here).

    Example:
        >>> as_judge_backend(lambda prompt: "VERDICT: True").complete(["q"])
        ['VERDICT: True']
    """
    from latentseek_agents.backends.llama_cpp import LlamaCppModel
    from latentseek_agents.model_spec import ModelSpec
    from latentseek_agents.models import LoadedModel

    if isinstance(judge, JudgeBackend) and not callable(judge):
        return judge
    if judge is None or isinstance(judge, (str, LoadedModel, LlamaCppModel, ModelSpec)):
        return LocalJudge(judge or "default", max_new_tokens=max_new_tokens)
    module = type(judge).__module__ or ""
    if module.startswith("dspy"):
        return DSPyJudge(judge)
    if callable(getattr(judge, "batch", None)) and callable(getattr(judge, "invoke", None)):
        return ChatModelJudge(judge)
    if callable(judge):
        return CallableJudge(judge)
    raise TypeError(
        "judge must be a local model (a loaded model, a ModelSpec, 'default' or a name/path), a LangChain chat model, "
        f"a DSPy LM or a callable str -> str, got {type(judge).__name__}"
    )
