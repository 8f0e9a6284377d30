"""KV-cached batched greedy generation: the same tokens as a plain full-recompute loop."""

import torch

from latentseek_agents.generation import continue_decoding, generate, prefill
from latentseek_agents.prompts import build_messages, render_prompt


def no_cache_greedy(lm, ids, max_new_tokens):
    """Reference decoder: re-run the whole sequence for every token (what the paper's code does)."""
    ids = list(ids)
    out = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = lm.model(torch.tensor([ids])).logits[0, -1]
            token = int(logits.argmax())
            out.append(token)
            ids.append(token)
            if token in lm.eos_token_ids:
                break
    return out


def prompts_for(lm, questions):
    return [render_prompt(lm.tokenizer, build_messages(q)) for q in questions]


QUESTIONS = ["What is 2 + 3?", "Natalia sold 48 clips in April and half as many in May. How many?", "6 * 7?"]


def test_cached_generation_equals_no_cache_generation(tiny_lm):
    prompt = prompts_for(tiny_lm, QUESTIONS[:1])[0]
    cached = generate(tiny_lm, [prompt], 24)[0].tokens
    assert cached == no_cache_greedy(tiny_lm, prompt, 24)


def test_left_padded_batch_equals_one_at_a_time(tiny_lm):
    prompts = prompts_for(tiny_lm, QUESTIONS)
    assert len({len(p) for p in prompts}) == 3  # different lengths, so the batch is padded
    batched = [g.tokens for g in generate(tiny_lm, prompts, 20)]
    single = [generate(tiny_lm, [p], 20)[0].tokens for p in prompts]
    assert batched == single


def test_prompt_cache_reuse_with_a_prefix_equals_re_encoding(tiny_lm):
    prompts = prompts_for(tiny_lm, QUESTIONS)
    cached = prefill(tiny_lm, prompts)
    prefixes = [[5, 17, 42], [7], [100, 101, 102, 103, 104]]
    reused = continue_decoding(tiny_lm, cached, [0, 1, 2], 16, prefixes=prefixes)
    for prompt, prefix, gen in zip(prompts, prefixes, reused):
        assert gen.tokens == no_cache_greedy(tiny_lm, prompt + prefix, 16)


def test_the_prompt_cache_is_not_changed_by_continuations(tiny_lm):
    prompts = prompts_for(tiny_lm, QUESTIONS[:2])
    cached = prefill(tiny_lm, prompts)
    first = continue_decoding(tiny_lm, cached, [1, 0], 12, prefixes=[[9, 9], [3]])
    again = continue_decoding(tiny_lm, cached, [1, 0], 12, prefixes=[[9, 9], [3]])
    assert [g.tokens for g in first] == [g.tokens for g in again]
    assert cached.cache.get_seq_length() == max(len(p) for p in prompts)


def test_captured_hidden_states_are_what_the_lm_head_decoded(tiny_lm):
    prompt = prompts_for(tiny_lm, QUESTIONS[:1])[0]
    gen = generate(tiny_lm, [prompt], 16, capture_hidden=10)[0]
    assert gen.hidden.shape == (10, tiny_lm.model.config.hidden_size)
    assert gen.hidden.dtype == torch.float32
    with torch.no_grad():
        decoded = tiny_lm.lm_head(gen.hidden).argmax(-1).tolist()
    assert decoded == gen.tokens[:10]


def test_per_row_budgets_are_respected(tiny_lm):
    prompts = prompts_for(tiny_lm, QUESTIONS[:2])
    gens = continue_decoding(tiny_lm, prefill(tiny_lm, prompts), [0, 1], [3, 0])
    assert len(gens[0].tokens) <= 3 and gens[1].tokens == []


def test_sampling_is_reproducible_for_a_seeded_generator_and_differs_from_greedy(tiny_lm):
    prompt = prompts_for(tiny_lm, QUESTIONS[:1])
    greedy = generate(tiny_lm, prompt, 20)[0].tokens

    def sample(seed):
        return generate(tiny_lm, prompt, 20, temperature=1.5, generator=torch.Generator().manual_seed(seed))[0].tokens

    assert sample(0) == sample(0)
    assert sample(0) != sample(1) or sample(0) != greedy
    assert any(sample(s) != greedy for s in range(3))
