"""GGUF models run natively by llama.cpp (llama-cpp-python's low-level API, which mirrors llama.h).

What the engine needs, measured against the torch path on the same file (see
``cookbook/results/llamacpp_backend.md``):

- the final-norm hidden state of every generated token (exactly what the LM head consumes) with
  its logits: ``embeddings=True`` and pooling NONE, switched on only for the decode calls whose
  outputs are captured (with embeddings on, every token of a batch becomes an output row);
- the LM head as a float32 tensor: ``output.weight`` (``token_embd.weight`` when tied) dequantized
  from the file with the ``gguf`` package, once, the first time a latent update needs it;
- one sequence id per prompt row in one context: a prompt is prefilled once (a prompt that starts with
  at least ``_SHARE`` tokens of another's copies that one's cells and decodes only the rest: the
  self-judge's four checks of one answer, or repeated prompts, cost little more than one), and each continuation
  first drops that row's previous answer (``llama_memory_seq_rm`` back to the prompt's length); a
  row continued several times in one call forks its prompt into spare sequences
  (``llama_memory_seq_cp``), and a context too small for a continuation is rebuilt larger;
- the HF tokenizer of the same file (token ids in, token ids out: llama.cpp never tokenizes),
  converted once and cached beside the other converted models.

Numerics depend on batch shape (a prompt alone vs in a batch), as with int8 on torch. llama.cpp's
OpenMP threads spin-wait: this module sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is set. Its log
lines are silenced; its error lines go to the ``latentseek_agents.llama_cpp`` logger (debug level)
and into the message of the exception they cause. A context holds at most 256 sequences (llama.cpp's
limit), so a batch on this backend holds at most 256 problems.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cancel import check_cancelled
from ..validation import check_int

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = ["LlamaCppModel", "LlamaPromptCache", "load_llama_cpp"]

_log = logging.getLogger("latentseek_agents.llama_cpp")
_BATCH = 512          # tokens per llama_decode call (n_batch = n_ubatch)
_ROOM = 1024          # default tokens reserved per row after its prompt when the caller gives none
_SHARE = 16           # fewest prompt tokens worth copying from another row's cells instead of decoding them
_LOG_CALLBACK: Any = None  # kept alive for as long as llama.cpp may call it
_last_error = threading.local()  # llama.cpp's last error line in this thread (for our exceptions)


def _lib() -> Any:
    """``llama_cpp`` imported once, with its log lines routed to our logger and passive OpenMP waits."""
    global _LOG_CALLBACK
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when llama.cpp's OpenMP runtime starts
    import llama_cpp

    if _LOG_CALLBACK is None:
        @llama_cpp.llama_log_callback
        def forward(level: int, text: bytes, _user: Any) -> None:
            if level == 4:  # GGML_LOG_LEVEL_ERROR (NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5)
                _last_error.text = text.decode("utf-8", errors="replace").rstrip()
                _log.debug(_last_error.text)  # our exceptions quote it; nothing is printed twice

        _LOG_CALLBACK = forward
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
    return llama_cpp


def _tokenizer_for(path: Path) -> Any:
    """The HF tokenizer of a GGUF file, converted once and cached (keyed by path, size and mtime)."""
    from transformers import AutoTokenizer

    from ..gguf_models import _write_folder_atomically, default_model_cache_dir

    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]
    folder = default_model_cache_dir() / "gguf_tokenizers" / key
    if (folder / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(str(folder))
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    try:
        _write_folder_atomically(folder, lambda tmp: tokenizer.save_pretrained(str(tmp)))
    except OSError as exc:
        if not (folder / "tokenizer_config.json").is_file():  # else another process cached it first
            _log.warning("could not cache the tokenizer of %s: %s", path, exc)  # costs the conversion next time
    return tokenizer


class _Context:
    """One llama.cpp context (its KV memory holds ``n_seq`` sequences of ``per_seq`` cells each)."""

    def __init__(self, owner: LlamaCppModel, n_seq: int, per_seq: int) -> None:
        lib = owner.lib
        params = lib.llama_context_default_params()
        params.n_seq_max = n_seq
        params.n_ctx = n_seq * per_seq
        params.n_batch = params.n_ubatch = _BATCH
        params.n_threads = params.n_threads_batch = owner.n_threads
        params.embeddings = False
        params.pooling_type = lib.LLAMA_POOLING_TYPE_NONE
        params.kv_unified = False  # a stream per row: attention reads only that row's cells
        params.no_perf = True
        ctx = lib.llama_init_from_model(owner.handle, params)
        if not ctx:  # too many sequences for this llama.cpp build, or no memory: its error line says which
            reason = getattr(_last_error, "text", "") or "no reason given"
            raise RuntimeError(f"llama.cpp could not create a context of {n_seq} sequences x {per_seq} tokens: "
                               f"{reason}")
        self.lib, self.ctx, self.n_seq, self.per_seq = lib, ctx, n_seq, per_seq
        self.memory = lib.llama_get_memory(ctx)
        self.batch = lib.llama_batch_init(_BATCH, 0, 1)
        self.embeddings = False
        self._finalizer = weakref.finalize(self, _free_context, lib, ctx, self.batch)

    def set_embeddings(self, on: bool) -> None:
        if on != self.embeddings:
            self.lib.llama_set_embeddings(self.ctx, on)
            self.embeddings = on

    def copy(self, source: int, target: int, keep: int | None = None) -> None:
        """Make sequence ``target`` hold ``source``'s cells (its own dropped), only the first ``keep``
        positions when given (``llama_memory_seq_rm`` / ``llama_memory_seq_cp``)."""
        self.lib.llama_memory_seq_rm(self.memory, target, -1, -1)
        self.lib.llama_memory_seq_cp(self.memory, source, target, -1, -1)
        if keep is not None:
            self.lib.llama_memory_seq_rm(self.memory, target, keep, -1)

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """Decode ``(token, position, sequence, output)`` entries (at most ``_BATCH`` at once)."""
        batch = self.batch
        for k, (token, pos, seq, output) in enumerate(entries):
            batch.token[k] = token
            batch.pos[k] = pos
            batch.n_seq_id[k] = 1
            batch.seq_id[k][0] = seq
            batch.logits[k] = 1 if output else 0
        batch.n_tokens = len(entries)
        status = self.lib.llama_decode(self.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status} (batch of {len(entries)} tokens, "
                               f"context of {self.n_seq} x {self.per_seq} cells)")

    def logits(self, index: int, vocab: int) -> np.ndarray:
        import numpy as np

        return np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx, index), shape=(vocab,)).copy()

    def hidden(self, index: int, width: int) -> np.ndarray:
        import numpy as np

        return np.ctypeslib.as_array(self.lib.llama_get_embeddings_ith(self.ctx, index), shape=(width,)).copy()


def _free_context(lib: Any, ctx: Any, batch: Any) -> None:
    lib.llama_batch_free(batch)
    lib.llama_free(ctx)


@dataclass
class LlamaPromptCache:
    """Prompts prefilled once in one llama.cpp context, a sequence id per row.

    Attributes:
        lengths: real token count of each prompt.
        prompts: the prompts' token ids (to rebuild a larger context when a continuation needs one).
        last_logits: float32 next-token logits after each prompt, shape [B, V].
        last_hidden: float32 hidden state at each prompt's last position, shape [B, d].
        decoded: prompt tokens llama.cpp decoded to build it (fewer than ``sum(lengths)`` where
            prompts share a prefix).
    """

    lengths: list[int]
    prompts: list[list[int]]
    last_logits: Any
    last_hidden: Any
    context: _Context = field(repr=False, default=None)  # type: ignore[assignment]
    decoded: int = 0


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` have in common."""
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def _share_plan(prompts: Sequence[Sequence[int]], least: int = _SHARE) -> dict[int, tuple[int, int]]:
    """Rows that can start from another row's cells: ``row -> (source row, tokens shared)``.

    A row shares the longest prefix it has with any row that sorts before it (that is, with the row just
    before it in sorted order), taken from the source highest up that holds it, so rows of one prefix
    copy one source. At least ``least`` tokens are shared, never a row's last token (decoding it gives
    the row's logits).
    Sources come before their rows in :func:`_share_waves`' order.

    Example:
        >>> _share_plan([[1, 2, 3, 4], [9], [1, 2, 3, 5], [1, 2, 3, 4]], least=2) == {2: (0, 3), 3: (0, 3)}
        True
    """
    order = sorted(range(len(prompts)), key=lambda r: tuple(prompts[r]))
    plan: dict[int, tuple[int, int]] = {}
    for previous, row in zip(order, order[1:]):
        shared = min(_common_length(prompts[previous], prompts[row]), len(prompts[row]) - 1)
        if shared < least:
            continue
        source = previous
        while source in plan and plan[source][1] >= shared:  # the source's own source holds these cells too
            source = plan[source][0]
        plan[row] = (source, shared)
    return plan


def _share_waves(count: int, plan: dict[int, tuple[int, int]]) -> list[list[int]]:
    """The rows in decoding order: rows without a source first, then each row after its source.

    Example:
        >>> _share_waves(4, {2: (0, 3), 3: (2, 3)})
        [[0, 1], [2], [3]]
    """
    depth: dict[int, int] = {}

    def level(row: int) -> int:
        if row not in depth:
            depth[row] = 0 if row not in plan else level(plan[row][0]) + 1
        return depth[row]

    waves: list[list[int]] = []
    for row in range(count):
        d = level(row)
        waves.extend([] for _ in range(d + 1 - len(waves)))
        waves[d].append(row)
    return waves


class LlamaCppModel:
    """A GGUF file loaded by llama.cpp, with the HF tokenizer of the same file.

    Use :func:`~latentseek_agents.models.load_model` (``backend="llama_cpp"`` or ``"auto"``), which
    caches one per process. Attributes match :class:`~latentseek_agents.models.LoadedModel`'s where
    the engine reads them (``tokenizer``, ``name``, ``source``, ``lock``, ``eos_token_ids``,
    ``context_length``, ``lm_head_fp32()``).

    Example:
        >>> lm = load_model("default", backend="llama_cpp")          # doctest: +SKIP
        >>> lm.backend, lm.name                                       # doctest: +SKIP
        ('llama_cpp', 'SmolLM2-135M-Instruct')
    """

    backend = "llama_cpp"

    def __init__(self, path: str | os.PathLike[str], *, name: str | None = None, source: str | None = None,
                 n_threads: int | None = None) -> None:
        from ..gguf_models import check_gguf_header

        lib = _lib()
        self.path = Path(path)
        check_gguf_header(self.path)  # not a file, not GGUF: named before llama.cpp sees it (8 bytes read)
        check_int("n_threads", n_threads, 1, optional=True)
        self.n_threads = n_threads or max(1, len(os.sched_getaffinity(0)))
        params = lib.llama_model_default_params()
        handle = lib.llama_model_load_from_file(str(self.path).encode(), params)
        if not handle:
            reason = getattr(_last_error, "text", "") or "no reason given"
            raise ValueError(f"llama.cpp could not load {str(self.path)!r}: {reason}")
        self.lib, self.handle = lib, handle
        self._finalizer = weakref.finalize(self, lib.llama_model_free, handle)
        vocab = lib.llama_model_get_vocab(handle)
        self.vocab_size = lib.llama_vocab_n_tokens(vocab)
        self.hidden_size = lib.llama_model_n_embd(handle)
        self.context_length: int | None = lib.llama_model_n_ctx_train(handle) or None
        self.tokenizer = _tokenizer_for(self.path)
        if len(self.tokenizer) > self.vocab_size:
            raise ValueError(f"the tokenizer of {self.path.name} has {len(self.tokenizer)} tokens, the model "
                             f"{self.vocab_size}")
        ids = [getattr(self.tokenizer, "eos_token_id", None), lib.llama_vocab_eos(vocab)]
        self.eos_token_ids = list(dict.fromkeys(i for i in ids if isinstance(i, int) and i >= 0))
        if self.tokenizer.pad_token_id is None and self.eos_token_ids:
            self.tokenizer.pad_token_id = self.eos_token_ids[0]
        self.name = name or self.path.name.removesuffix(".gguf")
        self.source = source if source is not None else str(path)
        self.lock = threading.RLock()
        self._lm_head: Any = None

    def __repr__(self) -> str:
        return f"LlamaCppModel({self.name!r}, n_threads={self.n_threads})"

    # ------------------------------------------------------------------ the LM head
    def lm_head_fp32(self) -> tuple[torch.Tensor, None]:
        """The LM head's weight [V, d] in float32, dequantized from the file once (no bias)."""
        if self._lm_head is None:
            import torch
            from gguf import GGUFReader
            from gguf.quants import dequantize

            tensors = {t.name: t for t in GGUFReader(str(self.path)).tensors}
            tensor = tensors.get("output.weight") or tensors.get("token_embd.weight")
            if tensor is None:
                raise ValueError(f"{self.path.name} has neither output.weight nor token_embd.weight")
            weight = dequantize(tensor.data, tensor.tensor_type).reshape(self.vocab_size, self.hidden_size)
            self._lm_head = (torch.from_numpy(weight.astype("float32", copy=False)), None)
        return self._lm_head

    # ------------------------------------------------------------------ decoding
    def _feed(self, context: _Context, rows: dict[int, list[int]], start: dict[int, int],
              hidden: bool) -> dict[int, tuple[Any, Any]]:
        """Append each row's tokens to its sequence; return (logits, hidden or None) after its last token.

        Everything but each row's last token is decoded with no outputs; the last tokens form one
        batch of output rows (with embeddings only when ``hidden`` is asked for).
        """
        context.set_embeddings(False)
        body = [(tok, start[r] + j, r, False) for r, toks in rows.items() for j, tok in enumerate(toks[:-1])]
        for k in range(0, len(body), _BATCH):
            check_cancelled()
            context.decode(body[k:k + _BATCH])
        context.set_embeddings(hidden)
        last = [(r, toks[-1], start[r] + len(toks) - 1) for r, toks in rows.items()]
        out: dict[int, tuple[Any, Any]] = {}
        for k in range(0, len(last), _BATCH):
            chunk = last[k:k + _BATCH]
            context.decode([(tok, pos, r, True) for r, tok, pos in chunk])
            for j, (r, _, _) in enumerate(chunk):
                out[r] = (context.logits(j, self.vocab_size),
                          context.hidden(j, self.hidden_size) if hidden else None)
        return out

    def prefill(self, prompts: Sequence[Sequence[int]], room: int | None = None,
                spare: int = 0) -> LlamaPromptCache:
        """Encode each prompt once into its own sequence; ``room`` tokens per row are kept for answers,
        and ``spare`` more sequences for forks (a row continued several times in one call).

        A prompt that shares a prefix with another (:func:`_share_plan`) copies that prompt's cells up
        to the prefix's end (``_Context.copy``) and decodes the rest.
        """
        import numpy as np

        longest = max(len(p) for p in prompts)
        room = _ROOM if room is None else max(int(room), 1)
        if self.context_length is not None:
            room = max(1, min(room, self.context_length - longest))
        per_seq = -(-(longest + room) // 256) * 256
        with self.lock:
            context = _Context(self, len(prompts) + spare, per_seq)
            plan = _share_plan(prompts, _SHARE)
            outs: dict[int, tuple[Any, Any]] = {}
            for wave in _share_waves(len(prompts), plan):
                start = {r: plan[r][1] if r in plan else 0 for r in wave}
                for r in wave:
                    if r in plan:  # the source's cells, cut back to the shared prefix
                        context.copy(plan[r][0], r, keep=start[r])
                outs |= self._feed(context, {r: list(prompts[r][start[r]:]) for r in wave}, start, hidden=True)
        return LlamaPromptCache(lengths=[len(p) for p in prompts], prompts=[list(p) for p in prompts],
                                last_logits=np.stack([outs[r][0] for r in range(len(prompts))]),
                                last_hidden=np.stack([outs[r][1] for r in range(len(prompts))]), context=context,
                                decoded=sum(len(p) for p in prompts) - sum(shared for _, shared in plan.values()))

    def _fit(self, prompt: LlamaPromptCache, cells: int, sequences: int) -> None:
        """Rebuild the prompts' context (re-prefilled) when it has fewer than ``cells`` per sequence or
        fewer than ``sequences`` sequences."""
        context = prompt.context
        if cells <= context.per_seq and sequences <= context.n_seq:
            return
        rebuilt = self.prefill(prompt.prompts, room=max(cells, context.per_seq) - min(prompt.lengths),
                               spare=max(sequences, context.n_seq) - len(prompt.prompts))
        prompt.context = rebuilt.context

    def continue_decoding(self, prompt: LlamaPromptCache, rows: Sequence[int], budgets: Sequence[int], *,
                          prefixes: Sequence[Sequence[int]] | None, capture_hidden: int, stop: Collection[int],
                          temperature: float, generator: Any,
                          ended: Callable[[int], bool] = lambda k: False) -> list[tuple[list[int], list[Any]]]:
        """Decode after prompts ``rows``; see :func:`generation.continue_decoding`.

        Each entry of ``rows`` decodes in a sequence of its own: a row's first entry in its prompt's
        sequence (its previous answer dropped, its prompt kept), a repeated row in a spare sequence
        forked from the prompt's (``llama_memory_seq_cp``).
        """
        import numpy as np
        import torch

        from ..generation import next_tokens

        slots = range(len(rows))
        seq: list[int] = []  # the sequence id each entry decodes in
        spare, seen = len(prompt.prompts), set()
        for r in rows:
            if r in seen:
                seq.append(spare)
                spare += 1
            else:
                seen.add(r)
                seq.append(r)
        outputs: list[list[int]] = [[] for _ in slots]
        captured: list[list[Any]] = [[] for _ in slots]
        with self.lock:
            cells = max(prompt.lengths[r] + (len(prefixes[k]) if prefixes else 0) + budgets[k]
                        for k, r in enumerate(rows))
            self._fit(prompt, cells, spare)
            context, memory = prompt.context, prompt.context.memory
            for k, r in enumerate(rows):
                if seq[k] == r:  # drop the row's previous answer: its prompt stays cached
                    self.lib.llama_memory_seq_rm(memory, r, prompt.lengths[r], -1)
            for k, r in enumerate(rows):
                if seq[k] != r:  # a fork: the prompt's cells copied into a spare sequence
                    context.copy(r, seq[k])
            position = [prompt.lengths[r] for r in rows]
            if prefixes is None:
                state = [(prompt.last_logits[r], prompt.last_hidden[r]) for r in rows]
            else:
                fed = self._feed(context, {seq[k]: list(prefixes[k]) for k in slots},
                                 {seq[k]: position[k] for k in slots}, hidden=capture_hidden > 0)
                state = [fed[seq[k]] for k in slots]
                position = [position[k] + len(prefixes[k]) for k in slots]
            alive = [k for k in slots if budgets[k] > 0]
            while alive:
                check_cancelled()
                logits = torch.from_numpy(np.stack([state[k][0] for k in alive]))
                chosen = next_tokens(logits, temperature, generator).tolist()
                step = []
                for k, token in zip(alive, chosen):
                    outputs[k].append(token)
                    if len(captured[k]) < capture_hidden:
                        captured[k].append(state[k][1])
                    if not (token in stop or len(outputs[k]) >= budgets[k] or ended(k)):
                        step.append((k, token))
                alive = [k for k, _ in step]
                if not alive:
                    break
                want = any(len(captured[k]) < capture_hidden for k in alive)
                context.set_embeddings(want)
                context.decode([(token, position[k], seq[k], True) for k, token in step])
                for j, (k, _) in enumerate(step):
                    position[k] += 1
                    state[k] = (context.logits(j, self.vocab_size),
                                context.hidden(j, self.hidden_size) if want else None)
        return [(outputs[k], captured[k]) for k in slots]

    def next_token_logits(self, ids: Sequence[int]) -> torch.Tensor:
        """Float32 logits of the token after ``ids`` (one sequence, nothing kept)."""
        import torch

        with self.lock:
            context = _Context(self, 1, -(-(len(ids) + 1) // 256) * 256)
            logits, _ = self._feed(context, {0: list(ids)}, {0: 0}, hidden=False)[0]
        return torch.from_numpy(logits)


def load_llama_cpp(path: str | os.PathLike[str], *, name: str | None = None, source: str | None = None,
                   **options: Any) -> LlamaCppModel:
    """Load a GGUF file on llama.cpp; ``options``: ``n_threads`` (default: every CPU this process may use).

    Example:
        >>> lm = load_llama_cpp("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", n_threads=1)   # doctest: +SKIP
    """
    unknown = sorted(set(options) - {"n_threads"})
    if unknown:
        raise ValueError(f"backend='llama_cpp' takes the load option n_threads; got {', '.join(unknown)}")
    return LlamaCppModel(path, name=name, source=source, **options)
