"""`LatentSeekSettings`: the pydantic fields shared by ChatLatentSeek, LatentSeekRunnable and the tool.

Field names are LatentSeekConfig's, so ``ChatLatentSeek(max_iters=2, lr=0.05)`` reads like the
engine. Settings are validated at construction (a bad value raises at once, naming the field);
nothing is loaded until the first call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from latentseek_agents.config import LatentSeekConfig

from ..common import CONFIG_FIELDS, build_config, display_name, fingerprint, make_seeker, split_overrides

__all__ = ["LatentSeekSettings", "messages_to_dicts"]

_DEFAULTS = LatentSeekConfig()


class LatentSeekSettings(BaseModel):
    """Model, reward and LatentSeek settings (a mixin for the LangChain classes)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True, protected_namespaces=())

    model: Any = Field(default="default", alias="model_name",
                       description="'default', a hub id or local path, or a LoadedModel")
    reward: Any = Field(default=None, description="a checker or callable; None = SelfJudge on the same model")
    device: str = "auto"
    dtype: str = "auto"
    lr: float = _DEFAULTS.lr
    fraction: float = _DEFAULTS.fraction
    max_latents: int = _DEFAULTS.max_latents
    max_iters: int = _DEFAULTS.max_iters
    score_threshold: float = _DEFAULTS.score_threshold
    inclusive_threshold: bool = _DEFAULTS.inclusive_threshold
    steps_per_iter: int = _DEFAULTS.steps_per_iter
    optimizer: str = _DEFAULTS.optimizer
    policy: str = _DEFAULTS.policy
    policy_temperature: float = _DEFAULTS.policy_temperature
    max_new_tokens: int = Field(default=_DEFAULTS.max_new_tokens, alias="max_tokens")
    select: str = _DEFAULTS.select
    seed: int = _DEFAULTS.seed
    prompt_style: str = _DEFAULTS.prompt_style
    grad_clip: float | None = _DEFAULTS.grad_clip
    reward_timeout_s: float | None = _DEFAULTS.reward_timeout_s

    @model_validator(mode="before")
    @classmethod
    def _no_null_max_tokens(cls, values: Any) -> Any:
        # LangChain's standard params pass max_tokens=None meaning "default".
        if isinstance(values, dict):
            for key in ("max_tokens", "max_new_tokens"):
                if key in values and values[key] is None:
                    values.pop(key)
        return values

    @model_validator(mode="after")
    def _validate_settings(self) -> LatentSeekSettings:
        self.latentseek_config()  # raises ValueError("lr must be ...") on a bad setting
        return self

    def latentseek_config(self, overrides: Mapping[str, Any] | None = None) -> LatentSeekConfig:
        """The validated engine config, with optional per-call overrides."""
        return build_config({name: getattr(self, name) for name in CONFIG_FIELDS}, overrides)

    @property
    def model_display_name(self) -> str:
        """The model's name, without loading it."""
        return display_name(self.model)

    def settings_fingerprint(self) -> dict[str, Any]:
        """Everything that changes an answer: model, device, dtype, reward fingerprint, settings."""
        return {"model_name": self.model_display_name, "device": self.device, "dtype": self.dtype,
                "reward": fingerprint(self.reward), **self.latentseek_config().to_dict()}

    def seeker(self, overrides: Mapping[str, Any] | None = None, reward: Any = None) -> Any:
        """A LatentSeek engine for one call (weights come from the shared model registry)."""
        return make_seeker(self.model, reward if reward is not None else self.reward,
                           self.latentseek_config(overrides), self.device, self.dtype)

    @staticmethod
    def call_overrides(kwargs: dict[str, Any], configurable: Mapping[str, Any] | None) -> tuple[dict[str, Any], Any]:
        """Per-call settings and reference, from invoke kwargs first, then ``config["configurable"]``."""
        overrides = {k: v for k, v in (configurable or {}).items() if k in CONFIG_FIELDS}
        overrides.update(split_overrides(kwargs))
        reference = kwargs.pop("reference", None)
        if reference is None and configurable:
            reference = configurable.get("reference")
        return overrides, reference


def messages_to_dicts(messages: Sequence[Any]) -> list[dict[str, str]]:
    """LangChain messages -> ``[{"role", "content"}]`` for the chat template (text blocks only)."""
    roles = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool", "developer": "system"}
    out = []
    for message in messages:
        role = roles.get(getattr(message, "type", ""), "user")
        content = message.content
        if not isinstance(content, str):
            content = "".join(
                block if isinstance(block, str) else str(block.get("text", ""))
                for block in content if isinstance(block, str) or block.get("type") == "text"
            )
        out.append({"role": role, "content": content})
    return out
