"""Fixtures for the framework integrations: a tiny model registered under a local path."""

from __future__ import annotations

import functools

import pytest


@functools.lru_cache(maxsize=1)
def tiny_loaded_model():
    """One tiny random model for the whole session (the standard suites build models from params)."""
    from latentseek_agents import load_model

    from ..conftest import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    return load_model(build_tiny_model(len(tokenizer)), tokenizer=tokenizer)


@pytest.fixture()
def tiny():
    return tiny_loaded_model()


@functools.lru_cache(maxsize=1)
def formatted_model():
    """A ~110k-parameter Llama trained to answer ChainOfThought("question -> answer") ChatAdapter
    prompts in the adapter's format (answer: 4); see tests/fixtures/make_formatted_model.py."""
    from pathlib import Path

    from latentseek_agents import load_model

    return load_model(str(Path(__file__).resolve().parents[1] / "fixtures" / "formatted_tiny"), device="cpu")


@pytest.fixture()
def formatted():
    return formatted_model()
