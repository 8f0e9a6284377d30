"""The server's request rules, checked without a server: every bad request gets an OpenAI-style
error with the right status, the field it is about, and a reason that names it."""

import json

import pytest

pytest.importorskip("pydantic")

from latentseek_agents.config import LatentSeekConfig  # noqa: E402
from latentseek_agents.integrations.serve.protocol import (  # noqa: E402
    APIError, ServeLimits, chunk_body, completion_body, parse_request)
from latentseek_agents.result import Attempt, SeekResult  # noqa: E402

USER = [{"role": "user", "content": "What is 2 + 3?"}]


def parse(body, *, raw=None, limits=ServeLimits(max_iters=5, max_tokens=256), base=LatentSeekConfig()):
    data = raw if raw is not None else json.dumps({"model": "m", "messages": USER, **body}).encode()
    return parse_request(data, model_names=["m"], rewards=["math", "self"], base=base, limits=limits)


def refused(body=None, **kw) -> APIError:
    with pytest.raises(APIError) as info:
        parse(body or {}, **kw)
    return info.value


def test_a_plain_request_runs_on_the_deployment_settings():
    request = parse({})
    assert request.messages == USER and request.reward == "math" and request.stream is False
    assert request.config == LatentSeekConfig() and request.context == {"reference": None}


def test_openai_fields_and_the_extension_reach_the_run():
    request = parse({"max_tokens": 64, "seed": 7, "stop": "\n\n", "stream": True,
                     "stream_options": {"include_usage": True},
                     "latentseek": {"reward": "self", "reference": 5, "max_iters": 2, "lr": 0.05,
                                    "tests": "assert f() == 1", "entry_point": "f"}})
    assert (request.config.max_new_tokens, request.config.seed, request.config.max_iters, request.config.lr) == \
        (64, 7, 2, 0.05)
    assert request.stop == ["\n\n"] and request.include_usage and request.reward == "self"
    assert request.context == {"reference": "5", "tests": "assert f() == 1", "entry_point": "f"}
    assert parse({"max_completion_tokens": 32}).config.max_new_tokens == 32


def test_every_role_is_taken_and_developer_text_blocks_and_tool_results_arrive_as_text():
    messages = [{"role": "developer", "content": "Be brief."}, {"role": "system", "content": "s"},
                {"role": "user", "content": [{"type": "text", "text": "2 + "}, {"type": "text", "text": "3?"}]},
                {"role": "assistant", "content": None}, {"role": "tool", "content": "5", "tool_call_id": "c1"},
                {"role": "user", "content": "so?", "name": "ann"}]
    request = parse({"messages": messages})
    assert [m["role"] for m in request.messages] == ["developer", "system", "user", "assistant", "tool", "user"]
    assert request.messages[2]["content"] == "2 + 3?" and request.messages[3]["content"] == ""


@pytest.mark.parametrize("raw, reason", [
    (b"[1, 2]", "must be a JSON object, got list"),
    (b"null", "must be a JSON object, got null"),
    (b"{not json", "invalid JSON"),
    (b"\xff\xfe", "invalid JSON"),
])
def test_a_body_that_is_not_a_json_object_is_a_400(raw, reason):
    error = refused(raw=raw)
    assert error.status == 400 and reason in error.message
    assert error.body()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("body, status, param, reason", [
    ({"messages": [{"role": "wizard", "content": "x"}]}, 400, "messages[0].role", "'wizard'"),
    ({"refernce": "5"}, 400, "refernce", "unknown field 'refernce'"),
    ({"reference": "5"}, 400, "reference", "go in the 'latentseek' object"),
    ({"max_iter": 2}, 400, "max_iter", "'latentseek' object"),
    ({"messages": [{"role": "user", "content": "x", "nme": "a"}]}, 400, "messages[0].nme", "did you mean 'name'"),
    ({"latentseek": {"max_iter": 3}}, 400, "latentseek.max_iter", "did you mean 'max_iters'"),
    ({"latentseek": {"max_iters": 100000}}, 400, "latentseek.max_iters", "[0, 5] on this server, got 100000"),
    ({"latentseek": {"population": 64}}, 400, "latentseek.population", "[1, 4] on this server, got 64"),
    ({"latentseek": {"samples_per_step": 9, "policy": "sample"}}, 400, "latentseek.samples_per_step",
     "[1, 4] on this server, got 9"),
    ({"latentseek": {"steps_per_iter": 50}}, 400, "latentseek.steps_per_iter", "on this server"),
    ({"latentseek": {"lr": -1}}, 400, "latentseek.lr", "lr must be a finite number > 0, got -1"),
    ({"latentseek": {"select": "worst"}}, 400, "latentseek.select", "select must be"),
    ({"latentseek": {"reward": "mth"}}, 400, "latentseek.reward", "did you mean 'math'"),
    ({"latentseek": {"reference": [1]}}, 400, "latentseek.reference", "a string or a number"),
    ({"latentseek": {"tests": ""}}, 400, "latentseek.tests", "non-empty string"),
    ({"max_tokens": 5000}, 400, "max_tokens", "[1, 256] on this server, got 5000"),
    ({"max_tokens": 0}, 400, "max_tokens", "got 0"),
    ({"max_tokens": "5"}, 400, "max_tokens", "valid integer"),
    ({"max_tokens": 5, "max_completion_tokens": 5}, 400, "max_tokens", "not both"),
    ({"seed": -1}, 400, "seed", "seed must be"),
    ({"n": 2}, 400, "n", "n must be 1"),
    ({"temperature": 0.7}, 400, "temperature", "decodes greedily"),
    ({"top_p": 0.9}, 400, "top_p", "decodes greedily"),
    ({"stop": ["a", "b", "c", "d", "e"]}, 400, "stop", "up to 4"),
    ({"stream_options": {"include_usage": True}}, 400, "stream_options", "only allowed with stream"),
    ({"messages": []}, 400, "messages", "at least 1"),
    ({"messages": [{"role": "system", "content": "s"}]}, 400, "messages", "non-empty user message"),
    ({"messages": [{"role": "user"}]}, 400, "messages[0].content", "required for role 'user'"),
    ({"messages": [{"role": "user", "content": "\ud800"}]}, 422, "messages[0].content", "not valid text"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, 422,
     "messages[0].content[0].type", "reads text only"),
    ({"model": "gpt-4o"}, 404, "model", "serves 'm'"),
])
def test_each_bad_request_names_its_field(body, status, param, reason):
    error = refused(body)
    assert (error.status, error.param) == (status, param), error.message
    assert reason in error.message
    assert set(error.body()["error"]) == {"message", "type", "param", "code"}


def test_a_missing_model_is_named():
    error = refused(raw=json.dumps({"messages": USER}).encode())
    assert error.param == "model" and "model is required" in error.message


def test_a_body_over_the_limit_is_a_413():
    error = refused(raw=b" " * 2048, limits=ServeLimits(max_body_bytes=1024))
    assert error.status == 413 and "1024" in error.message


def test_limits_validate_themselves():
    with pytest.raises(ValueError, match="max_tokens must be an integer"):
        ServeLimits(max_tokens=0)


def test_the_response_shapes_are_openai_objects():
    trace = [Attempt(iteration=0, text="x", score=0.0, passed=False, tokens=7),
             Attempt(iteration=1, text="\\boxed{5}", score=1.0, passed=True, tokens=5)]
    result = SeekResult(answer="5", text="\\boxed{5}", score=1.0, iterations=1, trace=trace,
                        stop_reason="threshold", prompt_tokens=11, chosen=1)
    body = completion_body(result, model="m", text=result.text, finish_reason="stop", reward="math")
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"] == "\\boxed{5}"
    assert body["usage"] == {"prompt_tokens": 11, "completion_tokens": 12, "total_tokens": 23}
    assert body["latentseek"]["scores"] == [0.0, 1.0] and body["latentseek"]["iterations"] == 1
    assert chunk_body("c", "m", 1, None, usage=body["usage"])["choices"] == []
