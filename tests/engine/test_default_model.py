"""End to end on the embedded default model (SmolLM2-135M-Instruct, real weights, CPU), short budgets,
on both backends (torch, and llama.cpp where llama-cpp-python is installed)."""

import json

import pytest
import torch

from latentseek_agents import LatentSeek, LatentSeekConfig, SelfConsistency, load_model
from latentseek_agents.backends import is_llama_cpp_available
from latentseek_agents.cli import main
from latentseek_agents.generation import generate
from latentseek_agents.prompts import build_messages, render_prompt
from latentseek_agents.rewards import MathAnswer

pytestmark = pytest.mark.default_model


BACKENDS = ["torch", pytest.param("llama_cpp", marks=pytest.mark.skipif(
    not is_llama_cpp_available(), reason="llama-cpp-python is not installed (the llama-cpp extra)"))]


@pytest.fixture(scope="module", params=BACKENDS)
def default_lm(request):
    return load_model(backend=request.param)


def test_the_default_model_loads_offline_on_cpu_once(default_lm):
    assert default_lm.name == "SmolLM2-135M-Instruct" and default_lm.source == "default"
    assert load_model(backend=default_lm.backend) is default_lm
    assert load_model("default", backend=default_lm.backend) is default_lm
    if default_lm.backend == "torch":
        assert default_lm.device.type == "cpu" and default_lm.dtype == torch.float32
    assert default_lm.eos_token_ids == [2]
    prompt = default_lm.tokenizer.decode(render_prompt(default_lm.tokenizer, build_messages("Hi")))
    assert prompt.startswith("<|im_start|>system\nPlease reason step by step")
    assert prompt.endswith("<|im_start|>assistant\n")


def test_real_hidden_states_decode_to_the_generated_tokens(default_lm):
    prompt = render_prompt(default_lm.tokenizer, build_messages("What is 12 + 30?"))
    gen = generate(default_lm, [prompt], 12, capture_hidden=12)[0]
    weight, bias = default_lm.lm_head_fp32()
    assert torch.nn.functional.linear(gen.hidden, weight, bias).argmax(-1).tolist() == gen.tokens
    assert default_lm.tokenizer.decode(gen.tokens).strip()  # fluent text, not empty


def test_latentseek_runs_end_to_end_with_the_papers_settings(default_lm):
    seeker = LatentSeek(default_lm, reward=MathAnswer(extract="auto"),
                        config=LatentSeekConfig(max_iters=1, max_new_tokens=40))
    result = seeker.solve("What is 12 + 30?", reference="42")
    assert result.stop_reason in ("threshold", "max_iters")
    first = result.trace[0]
    assert 0 < first.tokens <= 40
    if result.stop_reason == "max_iters":
        update = result.trace[1]
        assert update.prefix_tokens == int(0.2 * first.tokens)
        assert update.changed_positions > 0  # lr 0.03 moves a 135M model's tokens (method.md)


def test_a_vote_stops_once_decided_with_the_full_votes_answer(default_lm):
    config = LatentSeekConfig(max_iters=6, max_new_tokens=24, prompt_style="none")
    question = "Repeat exactly: The answer is 5."  # a 135M model mostly does: the samples agree
    full = SelfConsistency(default_lm, config=config, temperature=0.5).solve(question)
    quick = SelfConsistency(default_lm, config=config, temperature=0.5, stop_when_decided=True).solve(question)
    assert full.stop_reason == "max_iters" and len(full.trace) == 7
    assert quick.stop_reason == "decided" and len(quick.trace) < 7
    assert [a.text for a in quick.trace] == [a.text for a in full.trace[:len(quick.trace)]]  # the same draws
    assert quick.answer == full.answer == "5" and quick.text == full.text


def test_cli_json_on_the_default_model(default_lm, capsys):
    code = main(["solve", "What is 12 + 30?", "--reference", "42", "--max-iters", "1",
                 "--max-new-tokens", "24", "--json", "--no-progress", "--backend", default_lm.backend])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["trace"]) == data["iterations"] + 1 <= 2


def test_cli_vote_stops_once_decided_when_asked(default_lm, capsys):
    code = main(["solve", "Repeat exactly: The answer is 5.", "--method", "self_consistency", "--stop-when-decided",
                 "--prompt-style", "none", "--max-iters", "6", "--max-new-tokens", "24", "--json", "--no-progress",
                 "--backend", default_lm.backend])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["stop_reason"] == "decided" and len(data["trace"]) < 7 and data["answer"] == "5"
