"""ModelSpec: one validated declaration of how a model loads, and the CLI options made from it."""

import argparse

import pytest

from latentseek_agents import ModelSpec
from latentseek_agents.cli import build_parser, main
from latentseek_agents.model_spec import as_model_spec


@pytest.mark.parametrize("kwargs, message", [
    ({"source": ""}, "model must be a non-empty name or path"),
    ({"source": 3}, "model must be a non-empty name or path"),
    ({"backend": "vllm"}, "backend must be one of"),
    ({"dtype": "int4"}, "dtype must be one of"),
    ({"quantize": "int4"}, "quantize must be None or one of"),
    ({"n_threads": 0}, r"n_threads must be None or an integer >= 1, got 0"),
    ({"n_threads": True}, "n_threads must be None or an integer"),
    ({"backend": "torch", "n_threads": 2}, "n_threads sets llama.cpp's threads"),
])
def test_a_bad_setting_is_refused_by_name_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec(**kwargs)


def test_dtype_aliases_are_normalised_and_specs_compare_by_value():
    assert ModelSpec(dtype="bf16").dtype == "bfloat16"
    assert ModelSpec("a.gguf", backend="llama_cpp") == ModelSpec("a.gguf", backend="llama_cpp")
    assert ModelSpec().replace(quantize="int8").to_dict()["quantize"] == "int8"


def test_as_model_spec_completes_a_name_and_keeps_a_spec():
    spec = ModelSpec("x.gguf", backend="llama_cpp")
    assert as_model_spec(spec) is spec
    assert as_model_spec(None, backend=None).source == "default"
    with pytest.raises(ValueError, match="set quantize on it, not beside it"):
        as_model_spec(spec, quantize="int8")


@pytest.mark.parametrize("command", ["solve", "bench", "serve"])
def test_every_command_that_loads_a_model_has_the_same_model_options(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    options = {o for a in sub._actions for o in a.option_strings}
    assert {"--model", "--backend", "--device", "--dtype", "--quantize", "--threads"} <= options


def test_the_cli_refuses_a_backend_that_cannot_run_the_model_before_loading(capsys):
    code = main(["solve", "What is 1 + 1?", "--model", "Qwen/Qwen2.5-7B-Instruct", "--backend", "llama_cpp"])
    assert code == 2
    assert "backend='llama_cpp' runs GGUF files" in capsys.readouterr().err
    code = main(["solve", "What is 1 + 1?", "--backend", "torch", "--threads", "2"])
    assert code == 2
    assert "n_threads sets llama.cpp's threads" in capsys.readouterr().err
