"""The llama.cpp backend: the same engine view of a GGUF model as torch's, checked against torch on the
embedded default model (SmolLM2-135M-Instruct, a Q4_1 GGUF), and the ``"auto"`` rule."""

from pathlib import Path

import pytest
import torch

from latentseek_agents import BestOfN, LatentSeek, LatentSeekConfig, SelfConsistency, load_model
from latentseek_agents import backends
from latentseek_agents.backends import resolve_backend
from latentseek_agents.backends.llama_cpp import _share_plan, _share_waves
from latentseek_agents.cancel import Cancelled, cancel_scope
from latentseek_agents.generation import continue_decoding, generate, next_token_logits, prefill
from latentseek_agents.gguf_models import GGUFError
from latentseek_agents.model_spec import ModelSpec
from latentseek_agents.prompts import build_messages, render_prompt
from latentseek_agents.rewards import MathAnswer

needs_llama = pytest.mark.skipif(not backends.is_llama_cpp_available(),
                                 reason="llama-cpp-python is not installed (the llama-cpp extra)")
QUESTION = "Natalia sold clips to 48 of her friends in April, and then half as many in May. How many clips in all?"


# ---------------------------------------------------------------- the auto rule (nothing is loaded)
def test_auto_picks_torch_for_hub_models_and_torch_only_settings():
    assert resolve_backend("auto", "Qwen/Qwen2.5-7B-Instruct") == "torch"
    assert resolve_backend("auto", "model.gguf", dtype="bfloat16") == "torch"
    assert resolve_backend("auto", "model.gguf", quantize="int8") == "torch"
    assert resolve_backend("auto", "model.gguf", load_options=True) == "torch"
    assert resolve_backend("torch", "default") == "torch"


@needs_llama
def test_auto_picks_llama_cpp_for_a_gguf_on_the_cpu():
    assert resolve_backend("auto", "default") == "llama_cpp"
    assert resolve_backend("auto", "x/model.GGUF", device="cpu") == "llama_cpp"


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "Qwen/Qwen2.5-7B-Instruct"}, "runs GGUF files"),
    ({"device": "cuda"}, "runs on the CPU; got device 'cuda'"),
    ({"quantize": "int8"}, "quantize apply to backend='torch' only"),
    ({"dtype": "float16"}, "dtype apply to backend='torch' only"),
])
def test_llama_cpp_refuses_what_it_cannot_honour_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_backend("llama_cpp", **{"model": "default", **kwargs})


def test_llama_cpp_without_the_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(backends, "is_llama_cpp_available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install .*llama-cpp-python==0.3.36"):
        load_model("default", backend="llama_cpp")
    assert resolve_backend("auto", "default") == "torch"  # auto falls back quietly


def test_unknown_backend_is_refused_everywhere():
    with pytest.raises(ValueError, match="backend must be one of"):
        load_model("default", backend="onnx")
    with pytest.raises(ValueError, match="backend must be one of"):
        ModelSpec(backend="onnx")


# ---------------------------------------------------------------- which prompts share a prefix (no model)
def test_prompts_share_their_longest_common_prefix_from_one_source():
    question = list(range(100, 140))
    checks = [question + [1, 2, 3], question + [1, 2, 4], question + [5], question + [1, 2, 3]]  # one answer's
    other = list(range(100, 120)) + [7, 8]  # shares 20 tokens with every check (and sorts before them)
    plan = _share_plan(checks + [other, [9] * 30], least=16)
    assert plan[1] == (0, 42) and plan[3] == (0, 42)  # the duplicate keeps its last token to decode
    assert plan[2] == (0, 40)  # the checks copy one source, not each other
    assert plan[0] == (4, 20)  # which itself copies the 20 tokens it shares with the other prompt
    assert 4 not in plan and 5 not in plan  # decoded whole: a source, and a prompt with nothing in common
    assert _share_waves(6, plan) == [[4, 5], [0], [1, 2, 3]]  # every source before the rows that copy it


def test_a_prefix_shorter_than_the_least_worth_copying_is_decoded_again():
    assert _share_plan([[1, 2, 3, 4], [1, 2, 3, 5]], least=4) == {}
    assert _share_plan([[1, 2, 3, 4], [1, 2, 3, 5]], least=3) == {1: (0, 3)}


def test_nested_prompts_copy_the_longest_source_one_wave_after_another():
    rows = [[1] * 10, [1] * 20, [1] * 30]
    plan = _share_plan(rows, least=5)
    assert plan == {1: (0, 10), 2: (1, 20)}
    assert _share_waves(3, plan) == [[0], [1], [2]]


# ---------------------------------------------------------------- against torch on real weights
@pytest.fixture(scope="module")
def pair():
    if not backends.is_llama_cpp_available():
        pytest.skip("llama-cpp-python is not installed (the llama-cpp extra)")
    return load_model(backend="llama_cpp", n_threads=1), load_model(backend="torch")


@pytest.fixture(scope="module")
def prompt(pair):
    return render_prompt(pair[0].tokenizer, build_messages(QUESTION))


pytestmark = pytest.mark.default_model


def test_it_is_the_same_model_seen_the_same_way(pair, prompt):
    llama, torch_lm = pair
    assert llama.backend == "llama_cpp" and torch_lm.backend == "torch"
    assert prompt == render_prompt(torch_lm.tokenizer, build_messages(QUESTION))  # one tokenizer
    assert llama.eos_token_ids == torch_lm.eos_token_ids and llama.context_length == torch_lm.context_length
    assert torch.equal(llama.lm_head_fp32()[0], torch_lm.lm_head_fp32()[0])  # the head, dequantized from the file


def test_greedy_tokens_and_hidden_states_match_torch(pair, prompt):
    ours, theirs = (generate(lm, [prompt], 24, capture_hidden=24)[0] for lm in pair)
    same = next((i for i, (a, b) in enumerate(zip(ours.tokens, theirs.tokens)) if a != b), len(ours.tokens))
    assert same >= 12  # Q4_1 arithmetic in llama.cpp vs dequantized float32: measured 27 equal tokens
    cosine = torch.nn.functional.cosine_similarity(ours.hidden[:same], theirs.hidden[:same], dim=-1)
    assert cosine.min() > 0.998
    weight, _ = pair[0].lm_head_fp32()
    decoded = (ours.hidden @ weight.T).argmax(-1).tolist()  # the states feed the LM head; llama.cpp's own
    assert sum(a == b for a, b in zip(decoded, ours.tokens)) >= 0.9 * len(ours.tokens)  # runs in int8: near-ties


def test_a_continuation_reuses_the_prompt_and_equals_re_encoding_it(pair, prompt):
    llama = pair[0]
    first = generate(llama, [prompt], 30)[0].tokens
    cached = prefill(llama, [prompt, prompt[:-4]], room=30)
    again = continue_decoding(llama, cached, [0], 30)[0].tokens
    from_prefix = continue_decoding(llama, cached, [0], 20, prefixes=[first[:6]])[0].tokens
    assert again == first  # the earlier answer was dropped, the prompt kept
    # The model goes on after the prefix (it does not repeat it). Exact identity beyond a few tokens is not
    # promised: numerics depend on batch shape and on where the KV cells sit, as with int8 on torch.
    assert from_prefix[:3] == first[6:9]


def test_prompts_sharing_a_prefix_decode_it_once_and_read_as_if_alone(pair, prompt):
    llama = pair[0]
    tails = [llama.tokenizer.encode(t, add_special_tokens=False) for t in ("Let me think.", "The answer is")]
    rows = [prompt, prompt + tails[0], prompt + tails[1], prompt]  # the prompt, two ways on, and again
    cached = prefill(llama, rows, room=16)
    assert cached.decoded == len(prompt) + len(tails[0]) + len(tails[1]) + 1  # the repeat decodes its last token
    for r, row in enumerate(rows):
        alone = prefill(llama, [row], room=16)
        logits, own = torch.from_numpy(cached.last_logits[r]), torch.from_numpy(alone.last_logits[0])
        assert int(logits.argmax()) == int(own.argmax())
        assert torch.nn.functional.cosine_similarity(logits, own, dim=0) > 0.999  # the copied cells hold the prefix
        assert continue_decoding(llama, cached, [r], 8)[0].tokens[:4] == continue_decoding(llama, alone, [0], 8)[0].tokens[:4]


def test_a_continuation_larger_than_the_room_grows_the_context(pair, prompt):
    llama = pair[0]
    small = prefill(llama, [prompt], room=4)
    assert continue_decoding(llama, small, [0], 250, stop_ids=())[0].tokens[:40] == \
        generate(llama, [prompt], 40)[0].tokens


def test_a_prompt_forks_into_several_candidates(pair, prompt):
    llama = pair[0]
    cached = prefill(llama, [prompt], room=24)
    alone = continue_decoding(llama, cached, [0], 12)[0].tokens
    forks = continue_decoding(llama, cached, [0, 0, 0], 12, temperature=0.9,
                              generator=torch.Generator().manual_seed(1))
    assert len({tuple(g.tokens) for g in forks}) > 1  # three samples from one cached prompt
    assert continue_decoding(llama, cached, [0, 0], 12)[1].tokens[:4] == alone[:4]  # a fork sees the prompt


def test_sampling_is_reproducible_for_a_seed(pair, prompt):
    draws = [generate(pair[0], [prompt] * 2, 12, temperature=0.7, generator=torch.Generator().manual_seed(3))
             for _ in range(2)]
    assert [g.tokens for g in draws[0]] == [g.tokens for g in draws[1]]


def test_next_token_logits_agree_with_generation(pair, prompt):
    assert int(next_token_logits(pair[0], prompt).argmax()) == generate(pair[0], [prompt], 1)[0].tokens[0]


def test_decoding_stops_at_a_cancelled_scope(pair, prompt):
    with pytest.raises(Cancelled), cancel_scope(deadline=0.0):
        generate(pair[0], [prompt], 8)


def test_a_row_whose_cancel_event_is_set_stops_and_the_others_go_on(pair, prompt):
    import threading

    gone = threading.Event()
    gone.set()
    gens = continue_decoding(pair[0], prefill(pair[0], [prompt, prompt], room=12), [0, 1], 12, stop_ids=(),
                             cancel_rows=[gone, None])
    assert (len(gens[0].tokens), len(gens[1].tokens)) == (1, 12)


def test_latentseek_runs_the_full_loop_on_llama_cpp(pair):
    seeker = LatentSeek(pair[0], reward=MathAnswer(), config=LatentSeekConfig(max_iters=2, max_new_tokens=48))
    results = seeker.solve_batch([QUESTION, "What is 12 + 30?"], ["72", "42"])
    for result in results:
        assert result.stop_reason in ("threshold", "max_iters")
        for update in result.trace[1:]:
            assert update.prefix_tokens == int(0.2 * result.trace[0].tokens)
    assert any(a.changed_positions > 0 for r in results for a in r.trace[1:])  # the step moves tokens


def test_the_diversity_options_run_on_llama_cpp(pair):
    config = LatentSeekConfig(max_iters=3, max_new_tokens=32, lr=1e-9, restart_on_repeat=True,
                              continuation_temperature=0.7)
    from latentseek_agents.seek import _repeats

    trace = LatentSeek(pair[0], reward=lambda text: 0.0, config=config).solve(QUESTION).trace
    assert len(trace) == 4 and trace[1].prefix_tokens > 0 and all(a.tokens > 0 for a in trace)
    for k in range(2, 4):  # an attempt is a fresh sample exactly when the one before it repeated an answer
        assert (trace[k].prefix_tokens == 0) == _repeats(trace[k - 1], trace[:k])


def test_a_group_of_samples_per_update_forks_on_llama_cpp(pair):
    config = LatentSeekConfig(max_iters=2, max_new_tokens=24, policy="sample", samples_per_step=3)
    result = LatentSeek(pair[0], reward=lambda text: 0.0, config=config).solve(QUESTION)
    assert [a.iteration for a in result.trace] == [0, 1, 1, 1, 2, 2, 2]
    assert len({a.text for a in result.trace[1:4]}) > 1  # three sampled prefixes, three continuations


def test_a_population_forks_its_chains_on_llama_cpp(pair):
    config = LatentSeekConfig(max_iters=1, max_new_tokens=24, population=3)
    result = LatentSeek(pair[0], reward=lambda text: 0.0, config=config).solve(QUESTION)
    greedy = generate(pair[0], [render_prompt(pair[0].tokenizer, build_messages(QUESTION))], 24)[0]
    assert [a.iteration for a in result.trace] == [0, 0, 0, 1, 1, 1]
    assert result.trace[0].tokens == len(greedy.tokens) and len({a.text for a in result.trace[:3]}) > 1


@pytest.mark.parametrize("kind", [BestOfN, SelfConsistency])
def test_the_samplers_spend_a_population_s_budget_on_llama_cpp(pair, kind):
    config = LatentSeekConfig(max_iters=1, max_new_tokens=16, population=2)  # 2 chains x 2 rounds: 4 generations
    result = kind(pair[0], lambda text: 0.0, config).solve(QUESTION)
    assert len(result.trace) == config.max_generations == 4 and result.stop_reason == "max_iters"
    assert len({a.text for a in result.trace[1:]}) > 1  # samples, not one greedy answer repeated


def test_load_errors_are_named(tmp_path, pair):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(GGUFError, match="not a GGUF file"):
        load_model(str(fake), backend="llama_cpp")
    with pytest.raises(ValueError, match="n_threads must be None or an integer >= 1, got 0"):
        load_model("default", backend="llama_cpp", n_threads=0)
    with pytest.raises(ValueError, match="from_pretrained options apply to backend='torch' only"):
        load_model("default", backend="llama_cpp", n_gpu_layers=3)
    with pytest.raises(ValueError, match="n_threads is a load option of backend='llama_cpp'"):
        load_model("default", backend="torch", n_threads=1)


@pytest.mark.parametrize("race", [True, False], ids=["another-process-first", "unwritable-cache"])
def test_the_tokenizer_cache_survives_two_processes_and_warns_only_when_nothing_was_kept(
        tmp_path, monkeypatch, caplog, race):
    """Two processes loading one GGUF at once (one per core) both convert its tokenizer: the one whose rename
    lands second finds the other's copy in place and keeps it quietly; a cache nobody could write is a warning.
    Neither leaves its temporary folder behind."""
    import os
    import shutil

    from latentseek_agents.backends import llama_cpp as backend
    from latentseek_agents.models import _default_gguf_path

    monkeypatch.setenv("LATENTSEEK_CACHE_DIR", str(tmp_path))
    real_replace = os.replace

    def rename(src, dst):
        if Path(dst).parent.name != "gguf_tokenizers":
            return real_replace(src, dst)
        if not race:
            raise PermissionError(13, "Permission denied", str(dst))
        shutil.copytree(src, dst)  # the other process's copy lands first ...
        return real_replace(src, dst)  # ... so ours fails: "Directory not empty"

    monkeypatch.setattr(os, "replace", rename)
    with caplog.at_level("WARNING", logger=backend.__name__):
        tokenizer = backend._tokenizer_for(_default_gguf_path())
    assert tokenizer.encode(QUESTION)  # the converted tokenizer is returned either way
    warned = [r.getMessage() for r in caplog.records if "could not cache the tokenizer" in r.getMessage()]
    cached = [p.name for p in (tmp_path / "gguf_tokenizers").iterdir()]
    assert len(cached) == (1 if race else 0) and not any(name.startswith(".") for name in cached)
    assert bool(warned) is not race
    if race:
        assert backend._tokenizer_for(_default_gguf_path()).encode(QUESTION) == tokenizer.encode(QUESTION)


@pytest.mark.parametrize("side", [0, 1], ids=["llama_cpp", "torch"])
def test_the_rewards_that_decode_count_their_tokens_on_either_backend(pair, side):
    from latentseek_agents.rewards import SelfJudge, VoteAgreement

    lm = pair[side]
    vote = VoteAgreement(lm, samples=2, max_new_tokens=8)
    drawn = vote.check("\\boxed{72}", prompt=QUESTION).details["decoded_tokens"]
    assert 2 <= drawn <= 16 and vote.check("\\boxed{71}", prompt=QUESTION).details["decoded_tokens"] == 0
    judged = SelfJudge(lm, max_new_tokens=4).check("48 + 24 = \\boxed{72}", prompt=QUESTION)
    assert 4 <= judged.details["decoded_tokens"] <= 4 * 4  # four checks, each reply 1-4 tokens
