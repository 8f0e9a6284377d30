"""ChatLatentSeek, LatentSeekRunnable and LatentSeekTool inside real LangChain / LangGraph machinery."""

import asyncio
import time
import subprocess
import sys

import pytest

pytest.importorskip("langchain_core")

from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402
from langchain_core.globals import set_llm_cache  # noqa: E402
from langchain_core.caches import InMemoryCache  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from latentseek_agents import CheckResult, SeekResult  # noqa: E402
from latentseek_agents.integrations.langchain import (ChatLatentSeek, LatentSeekRunnable,  # noqa: E402
                                                      LatentSeekTool)


class Script:
    """A reward returning scripted scores; records the references it saw."""

    def __init__(self, *scores):
        self.scores, self.calls = list(scores) or [0.0], []

    def __call__(self, text, reference=None):
        self.calls.append(reference)
        return self.scores[min(len(self.calls) - 1, len(self.scores) - 1)]


def chat(tiny, reward=None, **settings):
    return ChatLatentSeek(model=tiny, reward=reward or Script(0.0), **{"max_iters": 2, "lr": 0.3,
                                                                         "max_tokens": 16, **settings})


def runnable(tiny, reward=None, **settings):
    return LatentSeekRunnable(model=tiny, reward=reward or Script(0.0), **{"max_iters": 2, "lr": 0.3,
                                                                             "max_tokens": 16, **settings})


class Collect(BaseCallbackHandler):
    def __init__(self):
        self.chains, self.custom = [], []

    def on_chain_start(self, serialized, inputs, *, name=None, **kwargs):
        self.chains.append(name)

    def on_custom_event(self, name, data, **kwargs):
        self.custom.append((name, data["iteration"]))


def test_construction_never_loads_weights(monkeypatch):
    import latentseek_agents.models as models

    monkeypatch.setattr(models, "_load_gguf", lambda *a, **k: pytest.fail("weights were loaded"))
    model = ChatLatentSeek(model="default", max_iters=2)
    assert model._identifying_params["model_name"] == "SmolLM2-135M-Instruct"
    LatentSeekRunnable(model="default")
    LatentSeekTool()


@pytest.mark.parametrize(("settings", "message"), [
    ({"lr": -1}, "lr must be a finite number > 0"),
    ({"fraction": 1.5}, "fraction must be a finite number in (0, 1]"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of"),
    ({"max_iter": 3}, "unknown setting 'max_iter' (did you mean 'max_iters'?)"),
    ({"max_iters": "3"}, "Input should be a valid integer"),
    ({"max_iters": 2.0}, "Input should be a valid integer"),
    ({"inclusive_threshold": "yes"}, "Input should be a valid boolean"),
    ({"model": 123}, "model must be 'default', a hub id"),
    ({"reward": 42}, "reward must be None (SelfJudge), a checker"),
    ({"device": "tpu"}, "device must be"),
    ({"dtype": "int4"}, "dtype must be one of"),
])
@pytest.mark.parametrize("cls", ["ChatLatentSeek", "LatentSeekRunnable", "LatentSeekTool"])
def test_a_bad_setting_fails_at_construction(settings, message, cls):
    import re

    wrapper = {"ChatLatentSeek": ChatLatentSeek, "LatentSeekRunnable": LatentSeekRunnable,
               "LatentSeekTool": LatentSeekTool}[cls]
    with pytest.raises(ValidationError, match=re.escape(message)):
        wrapper(**settings)


def test_invoke_returns_the_answer_with_usage_and_metadata(tiny):
    message = chat(tiny).invoke([SystemMessage("Be brief."), HumanMessage("What is 2 + 3?")])
    meta = message.response_metadata["latentseek"]
    assert (meta["iterations"], meta["stop_reason"], len(meta["scores"])) == (2, "max_iters", 3)
    assert message.response_metadata["model_name"]
    usage = message.usage_metadata
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] and usage["output_tokens"] > 16


def test_per_call_reference_and_settings_as_kwargs_or_configurable(tiny):
    reward = Script(0.0)
    model = chat(tiny, reward)
    model.invoke("2 + 3?", reference="5", max_iters=0)
    model.invoke("2 + 3?", config={"configurable": {"reference": "6", "max_iters": 0}})
    assert reward.calls == ["5", "6"]


def test_in_an_lcel_chain_the_parser_sees_only_the_answer(tiny):
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    model = chat(tiny)
    text = (prompt | model | StrOutputParser()).invoke({"question": "What is 2 + 3?"})
    assert text == model.invoke([HumanMessage("What is 2 + 3?")]).text


def test_stream_yields_one_reasoning_chunk_per_attempt_then_the_answer(tiny):
    chunks = list(chat(tiny).stream("What is 2 + 3?"))
    assert len(chunks) == 4
    for i, chunk in enumerate(chunks[:3]):
        assert chunk.content[0]["type"] == "reasoning" and chunk.text == ""
        assert chunk.content[0]["reasoning"].startswith("first answer" if i == 0 else f"latent update {i}")
    last = chunks[-1]
    assert last.content[0]["type"] == "text" and last.chunk_position == "last"
    assert last.usage_metadata["output_tokens"] > 0
    full = sum(chunks[1:], chunks[0])
    assert full.text == last.text
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text"]


def test_astream_events_show_one_custom_event_per_attempt(tiny):
    async def collect():
        return [e async for e in chat(tiny).astream_events("What is 2 + 3?", version="v2")
                if e["event"] == "on_custom_event"]

    events = asyncio.run(collect())
    assert [(e["name"], e["data"]["iteration"]) for e in events] == [("latentseek_iteration", i) for i in range(3)]


def test_the_cache_never_mixes_rewards(tiny):
    from latentseek_agents.rewards import MathAnswer

    set_llm_cache(InMemoryCache())
    try:
        a = chat(tiny, MathAnswer(), max_iters=0)
        b = chat(tiny, MathAnswer(extract="auto"), max_iters=0)
        assert a._get_llm_string() != b._get_llm_string()
        assert chat(tiny, MathAnswer(), max_iters=0)._get_llm_string() == a._get_llm_string()
        assert a._get_llm_string() != chat(tiny, MathAnswer(), max_iters=1)._get_llm_string()
        first = a.invoke("2 + 3?")
        assert a.invoke("2 + 3?").text == first.text  # served from the cache
    finally:
        set_llm_cache(None)


def test_a_failing_reward_surfaces_in_metadata_not_as_a_lost_answer(tiny):
    def broken(text):
        raise RuntimeError("grader down")

    message = chat(tiny, broken).invoke("2 + 3?")
    assert message.text
    assert message.response_metadata["latentseek"]["errors"][0] == "reward raised RuntimeError: grader down"


def test_runnable_returns_the_seek_result_with_child_runs_and_events(tiny):
    handler = Collect()
    result = runnable(tiny).invoke({"question": "2 + 3?", "reference": "5"}, config={"callbacks": [handler]})
    assert isinstance(result, SeekResult) and result.iterations == 2
    assert handler.chains.count("latentseek.iteration") == 3
    assert handler.custom == [("latentseek_iteration", 0), ("latentseek_iteration", 1), ("latentseek_iteration", 2)]


def test_runnable_configurable_fields(tiny):
    from langchain_core.runnables import ConfigurableField

    seek = runnable(tiny).configurable_fields(max_iters=ConfigurableField(id="latentseek_max_iters"))
    result = seek.invoke("2 + 3?", config={"configurable": {"latentseek_max_iters": 1}})
    assert result.iterations == 1


def test_runnable_batch_uses_the_batched_engine_and_keeps_errors_per_item(tiny, monkeypatch):
    from latentseek_agents.seek import LatentSeek

    calls = []
    original = LatentSeek.solve_batch
    monkeypatch.setattr(LatentSeek, "solve_batch", lambda self, p, r=None, **kw: calls.append(len(p))
                        or original(self, p, r, **kw))
    seek = runnable(tiny)
    outputs = seek.batch(["2 + 3?", {"messages": [{"role": "user", "content": "4 + 4?"}]}, {"oops": 1}],
                         return_exceptions=True)
    assert calls == [2]
    assert [type(o).__name__ for o in outputs] == ["SeekResult", "SeekResult", "ValueError"]
    single = seek.invoke("2 + 3?")
    assert [a.text for a in outputs[0].trace] == [a.text for a in single.trace]
    with pytest.raises(ValueError, match="'question' or 'messages'"):
        seek.batch([{"oops": 1}])
    # an item the engine refuses (an empty question) costs only itself
    outputs = seek.batch(["2 + 3?", "   ", "4 + 4?"], return_exceptions=True)
    assert [type(o).__name__ for o in outputs] == ["SeekResult", "ValueError", "SeekResult"]
    assert [a.text for a in outputs[0].trace] == [a.text for a in single.trace]


def test_async_paths_give_the_sync_results(tiny):
    seek, model = runnable(tiny), chat(tiny)

    async def run_all():
        return (await seek.ainvoke("2 + 3?"), await seek.abatch(["2 + 3?", "4 + 4?"]),
                await model.ainvoke("2 + 3?"), [c async for c in model.astream("2 + 3?")])

    one, many, message, chunks = asyncio.run(run_all())
    assert [a.text for a in one.trace] == [a.text for a in many[0].trace]
    assert message.text == model.invoke("2 + 3?").text
    assert chunks[-1].text == message.text


def test_the_event_loop_is_not_blocked(tiny):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        def slow_reward(text):
            time.sleep(0.05)  # the solve runs for 0.2 s at least; a blocked loop would not tick meanwhile
            return 0.0

        task = asyncio.create_task(ticker())
        await runnable(tiny, slow_reward, max_iters=3).ainvoke("2 + 3?")
        task.cancel()
        return ticks

    assert asyncio.run(main()) > 3


def test_tool_result_is_answer_and_score_with_the_result_as_artifact(tiny):
    tool = LatentSeekTool(runnable=runnable(tiny, Script(1.0)))
    message = tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name,
                           "args": {"question": "What is 2 + 3?", "reference": "5"}})
    assert message.content.startswith("answer: ") and "score 1.00 after 0 latent updates" in message.content
    assert message.artifact["stop_reason"] == "threshold"


def test_the_tool_inside_a_real_agent_loop(tiny):
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel

    class ToolCallingFake(FakeMessagesListChatModel):
        def bind_tools(self, tools, **kwargs):
            return self

    driver = ToolCallingFake(responses=[
        AIMessage("", tool_calls=[{"name": "latentseek_reasoner", "id": "c1",
                                   "args": {"question": "What is 2 + 3?", "reference": "5"}}]),
        AIMessage("The sub-question is solved."),
    ])
    reward = Script(1.0)
    agent = create_agent(driver, tools=[LatentSeekTool(runnable=runnable(tiny, reward))])
    state = agent.invoke({"messages": [HumanMessage("Plan the trip; first, what is 2 + 3?")]})
    tool_messages = [m for m in state["messages"] if m.type == "tool"]
    assert len(tool_messages) == 1 and tool_messages[0].content.startswith("answer: ")
    assert reward.calls == ["5"] and state["messages"][-1].text == "The sub-question is solved."


def test_chat_model_as_a_langgraph_node(tiny):
    from typing import Annotated, TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages

    class State(TypedDict):
        messages: Annotated[list, add_messages]

    model = chat(tiny)
    graph = StateGraph(State)
    graph.add_node("solve", lambda state: {"messages": [model.invoke(state["messages"])]})
    graph.add_edge(START, "solve")
    graph.add_edge("solve", END)
    app = graph.compile()
    streamed = [chunk for chunk, _ in app.stream({"messages": [HumanMessage("2 + 3?")]}, stream_mode="messages")]
    assert any(getattr(c, "content_blocks", None) and c.content_blocks[0]["type"] == "reasoning" for c in streamed)
    state = app.invoke({"messages": [HumanMessage("2 + 3?")]})
    assert state["messages"][-1].response_metadata["latentseek"]["iterations"] == 2


def test_missing_langchain_core_gives_an_install_hint():
    code = ("import sys\nclass Block:\n    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'langchain_core':\n            raise ImportError('blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import latentseek_agents.integrations.langchain\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "pip install 'latentseek-agents[langchain]'" in out.stderr


def test_reward_check_results_reach_the_metadata(tiny):
    reward = lambda text: CheckResult(score=1.0, feedback="fine")  # noqa: E731
    message = chat(tiny, reward).invoke("2 + 3?")
    assert message.response_metadata["latentseek"]["stop_reason"] == "threshold"


def test_a_stream_the_caller_stops_reading_stops_the_search(tiny):
    reward = Script(0.0)
    stream = chat(tiny, reward, max_iters=8).stream("What is 2 + 3?")
    first = next(stream)
    assert first.content[0]["type"] == "reasoning"
    stream.close()  # the agent moved on
    assert len(reward.calls) == 1  # no attempt after the first was decoded or scored
    assert tiny.lock.acquire(blocking=False)
    tiny.lock.release()


# ---------------------------------------------------------------- one settings schema, nothing ignored
def test_every_config_field_is_a_setting_with_the_configs_default_and_help():
    from latentseek_agents.config import LatentSeekConfig, field_help
    from latentseek_agents.integrations.common import CONFIG_FIELDS

    fields = ChatLatentSeek.model_fields
    for name in CONFIG_FIELDS:
        assert fields[name].default == getattr(LatentSeekConfig(), name)
        assert fields[name].description == field_help()[name]


@pytest.mark.parametrize("setting, message", [
    ({"temperature": 0.7}, "temperature must be 0 or None: LatentSeek decodes greedily"),
    ({"max_retries": 2}, "max_retries must be 0 or None"),
    ({"timeout": -1}, r"timeout must be None or a finite number in \(0, 9.22337e\+09\], got -1"),
])
def test_settings_it_cannot_honour_are_refused(tiny, setting, message):
    with pytest.raises(ValidationError, match=message):
        chat(tiny, **setting)
    assert chat(tiny, temperature=0, max_retries=0).temperature == 0  # the no-op values are fine


@pytest.mark.parametrize("kwargs, message", [
    ({"refernce": "5"}, r"per-call unknown setting 'refernce' \(did you mean 'reference'\?\)"),
    ({"max_iter": 3}, "did you mean 'max_iters'"),
])
def test_a_misspelt_per_call_setting_is_an_error_not_a_silent_default(tiny, kwargs, message):
    reward = Script(0.0)
    with pytest.raises(ValueError, match=message):
        chat(tiny, reward).invoke("What is 2 + 3?", **kwargs)
    with pytest.raises(ValueError, match=message):
        runnable(tiny, reward).invoke({"question": "What is 2 + 3?"}, **kwargs)
    assert reward.calls == []  # refused before any search


def test_max_tokens_per_call_is_the_token_budget(tiny):
    message = chat(tiny).invoke("What is 2 + 3?", max_tokens=3, max_iters=0)
    assert message.usage_metadata["output_tokens"] <= 3


def test_timeout_bounds_a_call_and_frees_the_model(tiny):
    slow = chat(tiny, timeout=0.2, max_iters=200, max_tokens=128)
    start = time.perf_counter()
    with pytest.raises(TimeoutError, match="timeout=0.2"):
        slow.invoke("What is 2 + 3?")
    assert time.perf_counter() - start < 10  # 200 updates of 128 tokens would take far longer
    assert tiny.lock.acquire(timeout=1)
    tiny.lock.release()


def test_streaming_true_makes_invoke_go_through_the_stream(tiny):
    plain = chat(tiny).invoke("What is 2 + 3?")
    streamed = chat(tiny, streaming=True).invoke("What is 2 + 3?")
    assert isinstance(plain.content, str)
    reasoning = [b["reasoning"] for b in streamed.content if isinstance(b, dict) and b["type"] == "reasoning"]
    assert reasoning[0].splitlines()[0].startswith("first answer") and len(reasoning[0].splitlines()) == 3


def test_the_tools_own_fields_reach_the_tool_and_settings_reach_its_search(tiny):
    tool = LatentSeekTool(model=tiny, reward=Script(0.0), max_iters=1, handle_tool_error="failed",
                          tags=["math"], name="solver")
    assert (tool.handle_tool_error, tool.tags, tool.name) == ("failed", ["math"], "solver")
    assert tool.runnable.max_iters == 1
    with pytest.raises(ValidationError, match="did you mean 'max_iters'"):
        LatentSeekTool(model=tiny, max_iter=1)


# ---------------------------------------------------------------- no input is dropped silently
def test_an_empty_conversation_is_a_clear_error(tiny):
    model = chat(tiny)
    with pytest.raises(ValueError, match="at least one message, got an empty conversation"):
        model.invoke([])
    with pytest.raises(ValueError, match="at least one message"):
        list(model.stream([]))


def test_a_misspelt_configurable_key_is_refused_and_other_runnables_keys_pass(tiny):
    model = chat(tiny)
    with pytest.raises(ValueError, match=r"unknown setting 'max_iter' \(did you mean 'max_iters'\?\)"):
        model.invoke("What is 2 + 3?", config={"configurable": {"max_iter": 1}})
    with pytest.raises(ValueError, match="did you mean 'reference'"):
        runnable(tiny).invoke("What is 2 + 3?", config={"configurable": {"refernce": "5"}})
    out = model.invoke("What is 2 + 3?", config={"configurable": {"thread_id": "t1", "max_iters": 0}})
    assert out.response_metadata["latentseek"]["iterations"] == 0  # LangGraph's keys are not ours


def test_the_runnables_dict_input_refuses_unknown_and_conflicting_keys(tiny):
    seek = runnable(tiny)
    with pytest.raises(ValueError, match=r"unknown input key 'refrence' \(did you mean 'reference'\?\)"):
        seek.invoke({"question": "What is 2 + 3?", "refrence": "5"})
    with pytest.raises(ValueError, match="exactly one of 'question' and 'messages', got both"):
        seek.invoke({"question": "a", "messages": [("human", "b")]})


def test_the_tool_refuses_settings_beside_a_runnable_bad_names_and_extra_arguments(tiny):
    with pytest.raises(ValueError, match="max_iters would be ignored beside runnable="):
        LatentSeekTool(runnable=runnable(tiny), max_iters=3)
    with pytest.raises(ValueError, match="name must be 1-64 letters"):
        LatentSeekTool(runnable=runnable(tiny), name="solve it!")
    tool = LatentSeekTool(runnable=runnable(tiny, max_iters=0))
    with pytest.raises(ValidationError, match="extra"):
        tool.invoke({"question": "What is 2 + 3?", "hint": "5"})


def test_wrappers_take_the_model_settings_and_check_them_at_construction(tiny):
    assert ChatLatentSeek(model="default", backend="torch", quantize="int8").quantize == "int8"
    with pytest.raises(ValidationError, match="backend must be one of"):
        ChatLatentSeek(model="default", backend="onnx")
    with pytest.raises(ValidationError, match="quantize apply when loading; this model object is already loaded"):
        ChatLatentSeek(model=tiny, quantize="int8")
