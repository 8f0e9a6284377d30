"""LatentSeekEngine behind dspy.LM and LatentSeekModule inside real DSPy programs and optimizers."""

import asyncio
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

dspy = pytest.importorskip("dspy")

from latentseek_agents.integrations.dspy import (AsyncLatentSeekEngine, LatentSeekEngine,  # noqa: E402
                                                 LatentSeekModule, latentseek_lm)
from latentseek_agents.rewards import MathAnswer, as_dspy_metric, as_dspy_reward_fn  # noqa: E402

from .conftest import formatted_model, tiny_loaded_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TRAIN = [json.loads(line) for _, line in zip(range(6), (ROOT / "data" / "gsm8k" / "train_sample.jsonl").open())]
NO_FALLBACK = dict(adapter=dspy.ChatAdapter(use_json_adapter_fallback=False))


def lm_for(model, cache=False, **settings):
    return latentseek_lm(model, cache=cache, **{"max_new_tokens": 96, **settings})


def cot():
    return dspy.ChainOfThought("question -> answer")


def test_a_dspy_lm_backed_by_the_engine_answers_in_the_adapters_format():
    lm = lm_for(formatted_model())
    with dspy.context(lm=lm):
        pred = cot()(question="What is 2 + 2?")
    assert pred.answer == "4" and "four" in pred.reasoning
    entry = lm.history[-1]
    assert entry["usage"]["prompt_tokens"] > 0 and entry["usage"]["completion_tokens"] > 0


def test_max_tokens_and_stop_are_honoured():
    engine = LatentSeekEngine(formatted_model())
    from dspy.lm15 import Config, Message, Request

    def ask(**config):
        request = Request(model="local/x", messages=(Message.user("What is 2 + 2?"),), config=Config(**config))
        return engine.complete(request)

    short = ask(max_tokens=3)
    assert short.usage.output_tokens == 3 and short.finish_reason == "length"
    stopped = ask(max_tokens=96, stop=("## answer",))
    assert "## answer" not in stopped.message.text and stopped.finish_reason == "stop"


def test_dspy_error_types_for_bad_requests():
    from dspy.lm15 import Config, ContextLengthError, InvalidRequestError, Message, Request

    engine = LatentSeekEngine(tiny_loaded_model())
    with pytest.raises(ContextLengthError, match="the model's context is 512"):
        engine.complete(Request(model="m", messages=(Message.user("clips " * 600),), config=Config()))
    with pytest.raises(InvalidRequestError, match="no non-empty user message"):
        engine.complete(Request(model="m", messages=(Message.user("  "),), config=Config()))


def test_copies_never_copy_weights():
    engine = LatentSeekEngine(formatted_model())
    assert copy.deepcopy(engine) is engine and copy.copy(engine) is engine
    lm = lm_for(formatted_model())
    program = LatentSeekModule(cot(), N=2, reward_fn=lambda a, p: 1.0, threshold=1.0)
    program.set_lm(lm)
    clone = program.deepcopy()
    assert clone.module.predict.lm.engine is lm.engine


def test_unknown_engine_settings_are_rejected():
    with pytest.raises(TypeError, match="unknown LatentSeekEngine setting"):
        LatentSeekEngine("default", learning_rate=0.1)


def test_module_returns_inner_fields_plus_score_and_iterations():
    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        passed = LatentSeekModule(cot(), N=3, reward_fn=lambda args, pred: float(pred.answer == "4"),
                                  threshold=1.0)(question="What is 2 + 2?")
        failing = LatentSeekModule(cot(), N=3, reward_fn=lambda args, pred: 0.25, threshold=1.0,
                                   lr=0.3)(question="What is 2 + 2?")
    assert (passed.answer, passed.score, passed.iterations) == ("4", 1.0, 0)
    assert set(passed.keys()) == {"reasoning", "answer", "score", "iterations"}
    assert failing.iterations == 2 and len(failing.latentseek_attempts) == 3
    assert failing.score == 0.25 and failing.answer == "4"  # select="best": the first parseable answer


def test_parse_failures_are_recorded_per_attempt_and_never_double_the_calls():
    lm = lm_for(formatted_model())
    engine = lm.engine
    calls_before = engine.calls
    with dspy.context(lm=lm):  # no adapter configured: the module turns the JSON fallback off
        out = LatentSeekModule(cot(), N=4, reward_fn=lambda args, pred: 0.0, threshold=1.0, lr=3.0,
                               fraction=1.0)(question="What is 2 + 2?")
    assert engine.calls - calls_before == 1  # one engine call per forward, whatever the attempts
    errors = [a["parse_error"] for a in out.latentseek_attempts]
    assert errors[0] is None and any(e and "AdapterParseError" in e for e in errors[1:])


def test_the_reward_sees_the_inputs_and_a_prediction():
    seen = []
    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: seen.append((args, pred.answer)) or 1.0,
                         threshold=0.5)(question="What is 2 + 2?")
    assert seen == [({"question": "What is 2 + 2?"}, "4")]


def test_checkers_work_as_reward_fn_and_as_evaluate_metric():
    devset = [dspy.Example(question=f"What is {i} + {4 - i}?", answer="4").with_inputs("question") for i in range(3)]
    program = LatentSeekModule(cot(), N=2, reward_fn=as_dspy_reward_fn(MathAnswer(extract="full"), reference="4"),
                               threshold=1.0)
    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        result = dspy.Evaluate(devset=devset, metric=as_dspy_metric(MathAnswer(extract="full")),
                               num_threads=1)(program)
        wrong = dspy.Evaluate(devset=[dspy.Example(question="2 + 3?", answer="5").with_inputs("question")],
                              metric=as_dspy_metric(MathAnswer(extract="full")))(program)
    assert result.score == 100.0 and wrong.score == 0.0


def test_evaluate_with_two_threads_equals_the_serial_run():
    devset = [dspy.Example(question=row["question"], answer="4").with_inputs("question") for row in TRAIN[:4]]
    program = LatentSeekModule(cot(), N=3, reward_fn=lambda args, pred: 0.0, threshold=1.0, lr=0.3)

    def run(threads):
        with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
            result = dspy.Evaluate(devset=devset, metric=lambda ex, pred, trace=None: float(pred.answer == "4"),
                                   num_threads=threads, failure_score=-1)(program)
        return [(ex.question, pred.reasoning, pred.answer, pred.iterations) for ex, pred, _ in result.results]

    assert run(2) == run(1)


def test_dspy_parallel_equals_serial_calls():
    program = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 0.0, threshold=1.0, lr=0.3)
    questions = [row["question"] for row in TRAIN[:3]]
    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        serial = [program(question=q).answer for q in questions]
        parallel = dspy.Parallel(num_threads=2)([(program, {"question": q}) for q in questions])
    assert [p.answer for p in parallel] == serial


def test_swapping_refine_for_latentseek_module_with_the_same_arguments():
    def reward(args, pred):
        return 1.0

    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        for cls in (dspy.Refine, LatentSeekModule, dspy.BestOfN):
            pred = cls(module=cot(), N=3, reward_fn=reward, threshold=1.0)(question="What is 2 + 2?")
            assert pred.answer == "4", cls.__name__


def test_bootstrap_fewshot_finds_demos_through_the_module():
    trainset = [dspy.Example(question=row["question"], answer="4").with_inputs("question") for row in TRAIN[:4]]
    student = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 1.0, threshold=1.0)
    optimizer = dspy.BootstrapFewShot(metric=lambda ex, pred, trace=None: pred.answer == "4",
                                      max_bootstrapped_demos=2, max_labeled_demos=0)
    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        compiled = optimizer.compile(student, trainset=trainset)
        assert compiled(question="What is 2 + 2?").answer == "4"
    demos = compiled.module.predict.demos
    assert len(demos) == 2 and all(d.get("reasoning") for d in demos)


def test_a_compiled_program_saves_and_loads(tmp_path):
    lm = lm_for(formatted_model())
    program = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 1.0, threshold=1.0)
    program.module.predict.demos = [dspy.Example(question="1 + 3?", reasoning="adds", answer="4")]
    program.set_lm(lm)
    path = tmp_path / "program.json"
    program.save(str(path))
    loaded = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 1.0, threshold=1.0)
    loaded.load(str(path), allow_unsafe_lm_state=True)
    engine = loaded.module.predict.lm.engine
    assert isinstance(engine, LatentSeekEngine) and engine.lm is formatted_model()
    assert loaded.module.predict.demos[0]["answer"] == "4"
    with dspy.context(**NO_FALLBACK):
        assert loaded(question="What is 2 + 2?").answer == "4"


def test_aforward_and_the_async_engine():
    program = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 1.0, threshold=1.0)

    async def main():
        with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
            return await program.acall(question="What is 2 + 2?")

    assert asyncio.run(main()).answer == "4"
    assert isinstance(lm_for(formatted_model()).async_engine if hasattr(lm_for(formatted_model()), "async_engine")
                      else AsyncLatentSeekEngine(), AsyncLatentSeekEngine)


def test_a_non_latentseek_lm_is_a_clear_error():
    from dspy.utils.dummies import DummyLM

    program = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 1.0, threshold=1.0)
    with dspy.context(lm=DummyLM([{"answer": "4"}])):
        with pytest.raises(ValueError, match="needs a LatentSeek-backed LM"):
            program(question="What is 2 + 2?")
    with dspy.context(lm=None):
        with pytest.raises(ValueError, match="needs a configured LM"):
            program(question="What is 2 + 2?")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"N": 0}, "N must be an integer >= 1"),
    ({"threshold": 2}, r"threshold must be a number in \[0, 1\]"),
    ({"lr": -1}, r"lr must be a finite number > 0, got -1"),
    ({"temperature": 0.7}, "unknown setting 'temperature'"),
    ({"fracton": 0.1}, "unknown setting 'fracton' \\(did you mean 'fraction'\\?\\)"),
    ({"max_iters": 5}, r"LatentSeekModule sets max_iters from N"),
    ({"inclusive_threshold": False}, "LatentSeekModule sets inclusive_threshold"),
])
def test_bad_module_arguments(kwargs, message):
    args = {"N": 2, "threshold": 1.0, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        LatentSeekModule(cot(), reward_fn=lambda a, p: 1.0, **args)


def test_missing_dspy_gives_an_install_hint():
    code = ("import sys\nclass Block:\n    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'dspy':\n            raise ImportError('blocked')\n"
            "sys.meta_path.insert(0, Block())\nimport latentseek_agents.integrations.dspy\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "pip install 'latentseek-agents[dspy]'" in out.stderr


@pytest.mark.default_model
def test_on_the_default_model_parse_failures_surface_with_their_attempts():
    program = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 1.0, threshold=1.0, max_new_tokens=32)
    with dspy.context(lm=latentseek_lm("default", cache=False, max_new_tokens=32)):
        try:
            pred = program(question="What is 2 + 2?")
        except Exception as exc:  # SmolLM2-135M rarely follows ChatAdapter's format
            assert type(exc).__name__ == "AdapterParseError"
            attempts = exc.latentseek_attempts
        else:
            attempts = pred.latentseek_attempts
    assert 1 <= len(attempts) <= 2 and all("text" in a for a in attempts)


def test_fail_count_is_a_per_call_budget():
    calls = []

    class Flaky(dspy.Module):
        def __init__(self):
            super().__init__()
            self.inner = cot()

        def forward(self, question):
            calls.append(question)
            if len(calls) % 2 == 1:
                raise RuntimeError("transient")
            return self.inner(question=question)

    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        program = LatentSeekModule(Flaky(), N=2, reward_fn=lambda a, p: 1.0, threshold=1.0, fail_count=1)
        assert program(question="What is 2 + 2?").answer == "4"
        assert program(question="What is 2 + 2?").answer == "4"  # the budget does not leak across calls
        strict = LatentSeekModule(Flaky(), N=2, reward_fn=lambda a, p: 1.0, threshold=1.0, fail_count=0)
        with pytest.raises(RuntimeError, match="transient") as info:
            strict(question="What is 2 + 2?")
    assert info.value.latentseek_attempts == []
    assert len(calls) == 5


# ---------------------------------------------------------------- no input is dropped silently
def test_the_engine_checks_model_and_device_at_construction():
    with pytest.raises(ValueError, match="model must be 'default', a hub id"):
        LatentSeekEngine(model=3.5)
    with pytest.raises(ValueError, match="device must be"):
        LatentSeekEngine(model="default", backend="torch", device="tpu")


def test_the_module_refuses_an_input_the_inner_module_does_not_take():
    program = LatentSeekModule(cot(), N=2, reward_fn=lambda args, pred: 1.0, threshold=1.0)
    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        with pytest.raises(ValueError, match=r"unknown input 'questoin' \(did you mean 'question'\?\)"):
            program(questoin="What is 2 + 2?")


def test_a_skipping_reward_shows_as_no_score_and_a_skip():
    program = LatentSeekModule(cot(), N=3, reward_fn=lambda args, pred: None, threshold=1.0)
    with dspy.context(lm=lm_for(formatted_model()), **NO_FALLBACK):
        pred = program(question="What is 2 + 2?")
    assert pred.score is None and pred.iterations == 0
    assert pred.latentseek_attempts[0]["skipped"] is True and pred.latentseek_attempts[0]["score"] is None


def test_a_reward_that_is_a_dspy_module_is_not_a_parameter_of_the_program():
    class Judge(dspy.Module):
        def __init__(self):
            super().__init__()
            self.grade = dspy.Predict("answer -> grade: float")

        def forward(self, args, pred):
            return 1.0

    program = LatentSeekModule(cot(), N=2, reward_fn=Judge(), threshold=1.0)
    names = [name for name, _ in program.named_parameters()]
    assert names and not any("grade" in name for name in names)
