"""KV-cached, batched generation that records the hidden states feeding the LM head.

The prompt is prefilled once per problem (:func:`prefill`); every later continuation starts from
a row-selected view of that cache, appends its decoded latent prefix as one chunk, and decodes
(:func:`continue_decoding`: greedy by default, sampled when ``temperature > 0``). Rows are
left-padded; positions come from the attention mask, so a padded batch gives the same tokens as
one sequence at a time. Rows that stop are dropped from
the batch, so finished problems cost nothing.

These functions are the engine's whole view of a model. On a llama.cpp model
(:mod:`latentseek_agents.backends.llama_cpp`) they do the same with one sequence id per prompt
row in one llama.cpp context instead of a padded batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .backends.llama_cpp import LlamaCppModel
from .cancel import check_cancelled

if TYPE_CHECKING:
    import torch

    from .models import LoadedModel, Model

__all__ = ["PromptCache", "Generation", "prefill", "continue_decoding", "generate", "next_tokens",
           "next_token_logits", "seeded_generator"]


@dataclass
class PromptCache:
    """Prompts prefilled once; continuations reuse their KV cache instead of re-encoding them.

    Attributes:
        lengths: real token count of each prompt.
        mask: left-padded attention mask, shape [B, P].
        cache: the transformers cache after the prompt (never modified afterwards).
        config: the model config (to build caches of the right layer types).
        last_hidden: the hidden state at each prompt's last position, shape [B, d]: it produces
            the first answer token.
    """

    lengths: list[int]
    mask: torch.Tensor
    cache: Any
    last_hidden: torch.Tensor
    config: Any = None

    def select(self, rows: Sequence[int]) -> tuple[Any, torch.Tensor]:
        """A fresh cache and mask holding only ``rows`` (the stored cache stays untouched)."""
        import torch
        from transformers import DynamicCache

        index = torch.as_tensor(list(rows), device=self.mask.device)
        data = [(layer.keys.index_select(0, index), layer.values.index_select(0, index))
                for layer in self.cache.layers]
        return DynamicCache(ddp_cache_data=data, config=self.config), self.mask.index_select(0, index)


@dataclass
class Generation:
    """One generated continuation.

    Attributes:
        tokens: generated token ids, the stop token included when one was produced.
        hidden: float32 hidden states (post final norm) that produced the first
            ``len(hidden)`` tokens, shape [min(T, capture), d]; None when not captured.
    """

    tokens: list[int]
    hidden: torch.Tensor | None = None


def _left_pad(rows: Sequence[Sequence[int]], pad_id: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.as_tensor(list(row), dtype=torch.long, device=device)
            mask[i, width - len(row):] = 1
    return ids, mask


def _forward(lm: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, cache: Any) -> torch.Tensor:
    """Run the transformer body over ``ids`` (appended to ``cache``); return the last hidden states."""
    new = ids.shape[1]
    # Position of each new token = number of real (unmasked) tokens before it in its row.
    before = mask[:, : mask.shape[1] - new].sum(dim=1, keepdim=True)
    position_ids = (before + mask[:, -new:].cumsum(dim=1) - 1).clamp(min=0)
    # Without padding the mask is all ones: leaving it out lets attention take its causal fast path.
    out = lm.base(input_ids=ids, attention_mask=None if bool(mask.all()) else mask, position_ids=position_ids,
                  cache=cache, use_cache=True)
    return out.last_hidden_state


def prefill(lm: Model, prompts: Sequence[Sequence[int]], room: int | None = None) -> PromptCache:
    """Encode the prompts once (left-padded batch) and keep their cache.

    ``room`` is how many tokens each row's continuations will add at most (a llama.cpp model sizes
    its context by it, and grows it when a continuation needs more; torch ignores it).

    Example:
        >>> pc = prefill(lm, [[1, 2, 3], [4, 5]])               # doctest: +SKIP
        >>> pc.lengths                                           # doctest: +SKIP
        [3, 2]
    """
    import torch
    from transformers import DynamicCache

    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("prompts must be a non-empty list of non-empty token id lists")
    if isinstance(lm, LlamaCppModel):
        return lm.prefill(prompts, room)  # type: ignore[return-value]  # its own cache type
    with lm.lock, torch.no_grad():
        ids, mask = _left_pad(prompts, lm.tokenizer.pad_token_id or 0, lm.device)
        cache = DynamicCache(config=lm.model.config)
        hidden = _forward(lm, ids, mask, cache)
    return PromptCache(lengths=[len(p) for p in prompts], mask=mask, cache=cache,
                       last_hidden=hidden[:, -1, :], config=lm.model.config)


def seeded_generator(lm: Model, seed: int) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` on the device where ``lm``'s logits are sampled (its LM
    head's; the CPU for llama.cpp), for reproducible sampling on any device.

    Example:
        >>> seeded_generator(lm, 42).initial_seed()   # doctest: +SKIP
        42
    """
    import torch

    head = getattr(getattr(lm, "lm_head", None), "weight", None)
    return torch.Generator(device=head.device if head is not None else "cpu").manual_seed(seed)


def next_tokens(logits: torch.Tensor, temperature: float, generator: Any = None) -> torch.Tensor:
    """The next token of each row of ``logits`` [B, V]: the argmax, or a sample at ``temperature > 0``.

    Example:
        >>> import torch
        >>> next_tokens(torch.tensor([[0.1, 2.0, 0.3]]), 0.0).tolist()
        [1]
    """
    import torch

    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def continue_decoding(
    lm: Model,
    prompt: PromptCache,
    rows: Sequence[int],
    max_new_tokens: int | Sequence[int],
    *,
    prefixes: Sequence[Sequence[int]] | None = None,
    capture_hidden: int = 0,
    stop_ids: Collection[int] | None = None,
    temperature: float = 0.0,
    generator: Any = None,
    cancel_rows: Sequence[threading.Event | None] | None = None,
) -> list[Generation]:
    """Decode after the cached prompts ``rows`` (optionally after a forced token prefix).

    Args:
        lm: the model.
        prompt: the prefilled prompts.
        rows: which prompts to continue (indices into ``prompt``).
        max_new_tokens: token budget per row (not counting the prefix).
        prefixes: per row, tokens appended after the prompt before decoding (the decoded latents).
        capture_hidden: keep the hidden states of the first this-many generated tokens.
        stop_ids: tokens that end a row (default: the model's eos tokens; ``()`` never stops early).
        temperature: 0 decodes greedily; above 0 samples from ``softmax(logits / temperature)``.
        generator: the ``torch.Generator`` used for sampling (for reproducible samples).
        cancel_rows: per row, an event (or None): once it is set the row stops at the next step and
            keeps the tokens it has; the other rows go on.

    Returns:
        One :class:`Generation` per row, in order; ``tokens`` excludes the prefix.
    """
    import torch

    rows = list(rows)
    budgets = [max_new_tokens] * len(rows) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    if len(budgets) != len(rows):
        raise ValueError(f"max_new_tokens has {len(budgets)} entries for {len(rows)} rows")
    if prefixes is not None and (len(prefixes) != len(rows) or any(len(p) == 0 for p in prefixes)):
        raise ValueError("prefixes must hold one non-empty token list per row")
    stop = set(lm.eos_token_ids if stop_ids is None else stop_ids)
    if cancel_rows is not None and len(cancel_rows) != len(rows):
        raise ValueError(f"cancel_rows has {len(cancel_rows)} entries for {len(rows)} rows")
    ended = _row_ended(cancel_rows)
    if isinstance(lm, LlamaCppModel):
        import numpy as np
        import torch

        produced = lm.continue_decoding(prompt, rows, budgets,  # type: ignore[arg-type]  # its own cache type
                                        prefixes=prefixes, capture_hidden=capture_hidden, stop=stop,
                                        temperature=temperature, generator=generator, ended=ended)
        return [Generation(tokens=tokens, hidden=torch.from_numpy(np.stack(states))
                           if states else None) for tokens, states in produced]
    outputs: list[list[int]] = [[] for _ in rows]
    captured: list[list[torch.Tensor]] = [[] for _ in rows]
    with lm.lock, torch.no_grad():
        cache, mask = prompt.select(rows)
        if prefixes is None:
            hidden = prompt.last_hidden.index_select(0, torch.as_tensor(rows, device=mask.device))
        else:
            ids, chunk_mask = _left_pad(prefixes, lm.tokenizer.pad_token_id or 0, mask.device)
            mask = torch.cat([mask, chunk_mask], dim=1)
            hidden = _forward(lm, ids, mask, cache)[:, -1, :]
        alive = [i for i in range(len(rows)) if budgets[i] > 0]
        if len(alive) < len(rows):
            keep = torch.as_tensor(alive, device=mask.device)
            cache.batch_select_indices(keep)
            mask, hidden = mask.index_select(0, keep), hidden.index_select(0, keep)
        while alive:
            check_cancelled()  # a timed-out judge or an abandoned search stops here, within one step
            next_ids = next_tokens(lm.lm_head(hidden), temperature, generator)
            finished = []
            for slot, row in enumerate(alive):
                token = int(next_ids[slot])
                outputs[row].append(token)
                if len(captured[row]) < capture_hidden:
                    captured[row].append(hidden[slot].float().clone())
                if token in stop or len(outputs[row]) >= budgets[row] or ended(row):
                    finished.append(slot)
            if finished:
                keep_slots = [s for s in range(len(alive)) if s not in set(finished)]
                alive = [alive[s] for s in keep_slots]
                if not alive:
                    break
                keep = torch.as_tensor(keep_slots, device=mask.device)
                cache.batch_select_indices(keep)
                mask, next_ids = mask.index_select(0, keep), next_ids.index_select(0, keep)
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            hidden = _forward(lm, next_ids[:, None], mask, cache)[:, -1, :]
    return [
        Generation(tokens=outputs[i], hidden=torch.stack(captured[i]) if captured[i] else None)
        for i in range(len(rows))
    ]


def _row_ended(events: Sequence[threading.Event | None] | None) -> Callable[[int], bool]:
    """``ended(row)``: whether row ``row``'s cancel event (if any) is set."""
    if events is None:
        return lambda row: False
    return lambda row: events[row] is not None and events[row].is_set()  # type: ignore[union-attr]


def generate(
    lm: Model,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    *,
    capture_hidden: int = 0,
    stop_ids: Collection[int] | None = None,
    temperature: float = 0.0,
    generator: Any = None,
) -> list[Generation]:
    """Prefill and decode a batch of prompts (greedy unless ``temperature > 0``).

    Example:
        >>> gens = generate(lm, [lm.tokenizer("Hi")["input_ids"]], 8)   # doctest: +SKIP
        >>> len(gens[0].tokens) <= 8                           # doctest: +SKIP
        True
    """
    cached = prefill(lm, prompts, room=max_new_tokens)
    return continue_decoding(lm, cached, range(len(prompts)), max_new_tokens, capture_hidden=capture_hidden,
                             stop_ids=stop_ids, temperature=temperature, generator=generator)


def next_token_logits(lm: Model, ids: Sequence[int]) -> torch.Tensor:
    """Float32 logits [V] of the token after ``ids`` (one sequence, nothing cached).

    Example:
        >>> next_token_logits(lm, lm.tokenizer("Hi")["input_ids"]).shape   # doctest: +SKIP
        torch.Size([49152])
    """
    import torch

    if not ids:
        raise ValueError("ids must be a non-empty list of token ids")
    if isinstance(lm, LlamaCppModel):
        return lm.next_token_logits(ids)
    with lm.lock, torch.no_grad():
        return lm.model(torch.tensor([list(ids)], device=lm.device)).logits[0, -1].float()
