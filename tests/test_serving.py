"""Ray Serve: ChatLatentSeek behind HTTP on a local cluster (tiny model on disk, loopback only)."""

import socket

import pytest

serve = pytest.importorskip("ray.serve")
ray = pytest.importorskip("ray")
httpx = pytest.importorskip("httpx")

from latentseek_agents.serving import latentseek_app  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(tiny_model_dir):
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(latentseek_app(model=tiny_model_dir, reward=None, max_iters=1, lr=0.3, max_tokens=12,
                             device="cpu"), route_prefix="/latentseek")
    yield f"http://127.0.0.1:{port}/latentseek"
    serve.shutdown()
    ray.shutdown()


def test_a_question_over_http(endpoint):
    reply = httpx.post(endpoint, json={"messages": [{"role": "user", "content": "What is 2 + 3?"}],
                                       "max_iters": 1}, timeout=120)
    assert reply.status_code == 200
    data = reply.json()
    assert data["latentseek"]["iterations"] == 1 and len(data["latentseek"]["scores"]) == 2
    assert data["usage"]["output_tokens"] > 0 and data["text"]


def test_bad_requests_get_a_400_with_the_reason(endpoint):
    reply = httpx.post(endpoint, content=b"not json", timeout=60)
    assert reply.status_code == 400 and "messages" in reply.json()["error"]
    reply = httpx.post(endpoint, json={"question": "2 + 3?", "lr": -1}, timeout=60)
    assert reply.status_code == 400 and "lr must be a finite number in (0, 10]" in reply.json()["error"]


def test_the_model_must_be_named():
    with pytest.raises(ValueError, match="must be a name or path"):
        latentseek_app(model=object())
