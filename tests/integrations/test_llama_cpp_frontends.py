"""The front ends on the llama.cpp backend (the embedded default model, a GGUF file): the same calls as
on torch, with the backend chosen by a setting."""

import pytest

from latentseek_agents.backends import is_llama_cpp_available

pytestmark = [pytest.mark.default_model,
              pytest.mark.skipif(not is_llama_cpp_available(), reason="llama-cpp-python is not installed")]

QUESTION = "What is 12 + 30?"


def test_the_chat_model_runs_the_search_on_llama_cpp():
    pytest.importorskip("langchain_core")
    from latentseek_agents.integrations.langchain import ChatLatentSeek
    from latentseek_agents.rewards import MathAnswer

    chat = ChatLatentSeek(model="default", backend="llama_cpp", reward=MathAnswer(), max_iters=1, max_tokens=24)
    reply = chat.invoke(QUESTION, reference="42")
    meta = reply.response_metadata["latentseek"]
    assert meta["stop_reason"] in ("threshold", "max_iters") and len(meta["scores"]) == meta["iterations"] + 1
    assert reply.usage_metadata["output_tokens"] > 0


def test_the_dspy_engine_answers_on_llama_cpp():
    dspy = pytest.importorskip("dspy")
    from latentseek_agents.integrations.dspy import latentseek_lm

    lm = latentseek_lm("default", backend="llama_cpp", max_new_tokens=16, cache=False)
    assert (getattr(lm, "engine", None) or lm._engine).lm.backend == "llama_cpp"
    with dspy.context(lm=lm):
        out = lm(QUESTION)
    assert isinstance(out[0], str) and out[0].strip()


def test_judges_score_on_llama_cpp_by_reply_and_by_logits():
    from latentseek_agents import load_model
    from latentseek_agents.rewards import LLMJudge, SelfJudge

    lm = load_model("default", backend="llama_cpp")
    result = SelfJudge(lm, max_new_tokens=16).check("12 + 30 = \\boxed{42}", prompt=QUESTION)
    assert result.score is not None and 0.0 <= result.score <= 1.0
    by_logits = LLMJudge(lm, rubric="Is the answer right?", use_logits=True).check("42", prompt=QUESTION)
    assert 0.0 <= by_logits.score <= 1.0
