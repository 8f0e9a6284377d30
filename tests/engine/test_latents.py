"""The latent update: only z moves, in float32, through the LM head, by a reward-weighted step."""

import pytest
import torch

from latentseek_agents import LatentSeekConfig, load_model
from latentseek_agents.generation import generate
from latentseek_agents.latents import LatentOptimizer, num_latents
from latentseek_agents.prompts import build_messages, render_prompt

from ..conftest import build_tiny_model


def first_hidden(lm, n=8):
    prompt = render_prompt(lm.tokenizer, build_messages("What is 2 + 3?"))
    gen = generate(lm, [prompt], 24, capture_hidden=n)[0]
    return gen.hidden, gen.tokens


def test_num_latents_follows_the_paper():
    assert num_latents(100, 0.2, 300) == 20
    assert num_latents(4, 0.2, 300) == 0
    assert num_latents(2000, 0.2, 300) == 300
    assert num_latents(10, 1.0, 300) == 10


def test_only_the_latents_require_grad(tiny_lm):
    hidden, _ = first_hidden(tiny_lm)
    opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.3))
    opt.step({0: -1.0})
    assert all(z.requires_grad and z.is_leaf for z in opt.z)
    assert not any(p.requires_grad for p in tiny_lm.model.parameters())
    assert all(p.grad is None for p in tiny_lm.model.parameters())
    assert opt.z[0].grad is not None and opt.z[0].grad.abs().sum() > 0


def test_a_negative_reward_moves_the_latents_and_changes_tokens(tiny_lm):
    hidden, tokens = first_hidden(tiny_lm)
    opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.3))
    assert opt.tokens(0) == tokens[:8]  # before any step, z decodes to the CoT's own tokens
    new = opt.step({0: -1.0})[0]
    assert len(new) == 8
    assert not torch.equal(opt.z[0].detach(), hidden)
    assert new != tokens[:8]


def test_a_zero_reward_gives_no_step(tiny_lm):
    hidden, tokens = first_hidden(tiny_lm)
    for optimizer in ("adam", "sgd"):
        opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.3, optimizer=optimizer))
        assert opt.step({0: 0.0})[0] == tokens[:8]
        assert torch.equal(opt.z[0].detach(), hidden)


def test_sgd_step_size_scales_with_the_reward(tiny_lm):
    hidden, _ = first_hidden(tiny_lm)
    moves = []
    for reward in (-0.5, -1.0):
        opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.1, optimizer="sgd"))
        opt.step({0: reward})
        moves.append((opt.z[0].detach() - hidden).norm().item())
    assert abs(moves[1] / moves[0] - 2.0) < 1e-4


def test_problems_left_out_of_a_step_do_not_move(tiny_lm):
    hidden, _ = first_hidden(tiny_lm)
    opt = LatentOptimizer(tiny_lm, [hidden, hidden[:4]], LatentSeekConfig(lr=0.3))
    opt.step({0: -1.0, 1: -1.0})
    frozen = opt.z[1].detach().clone()
    opt.step({0: -1.0})
    assert torch.equal(opt.z[1].detach(), frozen)


def test_batched_update_equals_separate_updates(tiny_lm):
    hidden, _ = first_hidden(tiny_lm)
    together = LatentOptimizer(tiny_lm, [hidden, hidden[:5]], LatentSeekConfig(lr=0.3))
    joint = together.step({0: -1.0, 1: -0.5})
    alone_a = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.3)).step({0: -1.0})[0]
    alone_b = LatentOptimizer(tiny_lm, [hidden[:5]], LatentSeekConfig(lr=0.3)).step({0: -0.5})[0]
    assert joint == {0: alone_a, 1: alone_b}


def test_the_update_runs_in_float32_for_a_bfloat16_model(tiny_tokenizer):
    model = build_tiny_model(len(tiny_tokenizer)).to(torch.bfloat16)
    lm = load_model(model, tokenizer=tiny_tokenizer)
    hidden, _ = first_hidden(lm)
    opt = LatentOptimizer(lm, [hidden], LatentSeekConfig(lr=0.3))
    opt.step({0: -1.0})
    assert opt.z[0].dtype == torch.float32
    assert opt.weight.dtype == torch.float32
    assert lm.model.get_output_embeddings().weight.dtype == torch.bfloat16


def test_grad_clip_bounds_each_problems_gradient(tiny_lm):
    hidden, _ = first_hidden(tiny_lm)
    opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.1, optimizer="sgd", grad_clip=1e-3))
    opt.step({0: -1.0})
    assert opt.z[0].grad.norm().item() <= 1e-3 + 1e-9


def test_a_step_on_given_actions_raises_or_lowers_their_probability(tiny_lm):
    hidden, tokens = first_hidden(tiny_lm)
    actions = [(t + 1) % tiny_lm.model.config.vocab_size for t in tokens[:8]]  # not the argmax

    def logprob_after(weight):
        opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.1, optimizer="sgd"))
        opt.step({0: weight}, actions={0: actions})
        with torch.no_grad():
            logp = torch.log_softmax(opt._logits(opt.z[0]), dim=-1)
        return logp[torch.arange(8), torch.tensor(actions)].sum().item()

    with torch.no_grad():
        opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig())
        before = torch.log_softmax(opt._logits(opt.z[0]), dim=-1)[torch.arange(8), torch.tensor(actions)].sum().item()
    assert logprob_after(+1.0) > before > logprob_after(-1.0)


def test_actions_must_match_the_latents(tiny_lm):
    hidden, tokens = first_hidden(tiny_lm)
    opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig(lr=0.3))
    with pytest.raises(ValueError, match="actions\\[0\\] has 3 tokens for 8 latents"):
        opt.step({0: -1.0}, actions={0: tokens[:3]})


def test_sampling_draws_from_the_latents_distribution(tiny_lm):
    hidden, tokens = first_hidden(tiny_lm)
    opt = LatentOptimizer(tiny_lm, [hidden], LatentSeekConfig())
    cold = opt.sample(0, 1e-4, torch.Generator().manual_seed(0))
    assert cold == opt.tokens(0) == tokens[:8]  # a near-zero temperature is the argmax
    hot = [opt.sample(0, 5.0, torch.Generator().manual_seed(s)) for s in range(3)]
    assert any(h != tokens[:8] for h in hot)
    assert opt.sample(0, 5.0, torch.Generator().manual_seed(1)) == hot[1]  # seeded
