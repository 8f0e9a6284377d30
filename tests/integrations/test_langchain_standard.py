"""langchain-tests standard suites (pinned langchain-tests==1.1.9) on a tiny random model.

Capability flags are set honestly: no tool calling, no structured output, one local model.
"""

import pytest

pytest.importorskip("langchain_tests")

from langchain_tests.integration_tests import ChatModelIntegrationTests  # noqa: E402
from langchain_tests.unit_tests import ChatModelUnitTests  # noqa: E402

from latentseek_agents.integrations.langchain import ChatLatentSeek  # noqa: E402

from .conftest import tiny_loaded_model  # noqa: E402


def never_passes(text):
    return 0.0


class _Flags:
    @property
    def chat_model_class(self):
        return ChatLatentSeek

    @property
    def has_tool_calling(self):
        return False

    @property
    def has_structured_output(self):
        return False

    @property
    def supports_model_override(self):
        return False

    @property
    def returns_usage_metadata(self):
        return True


class TestChatLatentSeekUnit(_Flags, ChatModelUnitTests):
    @property
    def standard_chat_model_params(self):
        # A local model takes no API key: an unknown setting is refused, so the suite's key is left out;
        # and it has no transient failures to retry, so max_retries is refused above 0.
        params = {k: v for k, v in super().standard_chat_model_params.items() if k != "api_key"}
        return {**params, "max_retries": 0}

    @property
    def chat_model_params(self):
        return {"model": "default", "reward": never_passes, "max_iters": 1}


class TestChatLatentSeekIntegration(_Flags, ChatModelIntegrationTests):
    @property
    def chat_model_params(self):
        return {"model": tiny_loaded_model(), "reward": never_passes, "max_iters": 1, "lr": 0.3}
