"""`LatentSeekSettings`: the pydantic fields shared by ChatLatentSeek, LatentSeekRunnable and the tool.

Field names are LatentSeekConfig's, so ``ChatLatentSeek(max_iters=2, lr=0.05)`` reads like the
engine. Settings are validated at construction (a bad value raises at once, naming the field);
nothing is loaded until the first call.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from latentseek_agents.config import LatentSeekConfig, field_help

from ..common import (
    CALL_NAMES,
    CONFIG_FIELDS,
    MODEL_SETTINGS,
    build_config,
    check_model_and_reward,
    display_name,
    fingerprint,
    make_seeker,
    split_overrides,
    unknown_names,
)

__all__ = ["LatentSeekSettings", "messages_to_dicts", "ours_from_configurable"]


def _config_fields() -> dict[str, Any]:
    """One pydantic field per LatentSeekConfig field: its type (strict: '3', 2.0 or 'yes' are refused,
    not coerced), default and description come from the config, so a new setting is a one-place change."""
    hints = typing.get_type_hints(LatentSeekConfig)
    helps = field_help()
    out: dict[str, Any] = {}
    for f in dataclasses.fields(LatentSeekConfig):
        alias = {"alias": "max_tokens"} if f.name == "max_new_tokens" else {}  # LangChain's standard name
        hint, extra = hints[f.name], {}
        if typing.get_origin(hint) is typing.Literal:  # the config's own check names the choices
            hint, extra = str, {"json_schema_extra": {"enum": list(typing.get_args(hint))}}
        out[f.name] = (hint, Field(default=f.default, strict=True, description=helps.get(f.name),  # type: ignore[call-overload]
                                   **alias, **extra))
    return out


class _Settings(BaseModel):
    """Model, reward and LatentSeek settings (a mixin for the LangChain classes)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True, protected_namespaces=())

    model: Any = Field(default="default", alias="model_name",
                       description="'default', a hub id or local path, a ModelSpec or a loaded model")
    reward: Any = Field(default=None, description="a checker or callable; None = SelfJudge on the same model")
    backend: str = Field(default="auto", description="torch, llama_cpp or auto (see latentseek_agents.backends)")
    device: str = "auto"
    dtype: str = "auto"
    quantize: str | None = Field(default=None, description="None or 'int8' (torch on the CPU)")

    @model_validator(mode="before")
    @classmethod
    def _no_null_max_tokens_and_no_unknown_names(cls, values: Any) -> Any:
        if isinstance(values, dict):
            # LangChain's standard params pass max_tokens=None meaning "default".
            for key in ("max_tokens", "max_new_tokens"):
                if key in values and values[key] is None:
                    values.pop(key)
            known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
            problem = unknown_names(list(values), sorted(known))
            if problem:
                raise ValueError(f"{cls.__name__}: {problem}")
        return values

    @model_validator(mode="after")
    def _validate_settings(self) -> _Settings:
        self.latentseek_config()  # raises ValueError("lr must be ...") on a bad setting
        check_model_and_reward(self.model, self.reward, self.model_settings)
        return self

    def latentseek_config(self, overrides: Mapping[str, Any] | None = None) -> LatentSeekConfig:
        """The validated engine config, with optional per-call overrides."""
        return build_config({name: getattr(self, name) for name in CONFIG_FIELDS}, overrides)

    @property
    def model_settings(self) -> dict[str, Any]:
        """The ModelSpec fields set beside ``model`` (backend, device, dtype, quantize)."""
        return {name: getattr(self, name) for name in MODEL_SETTINGS}

    @property
    def model_display_name(self) -> str:
        """The model's name, without loading it."""
        return display_name(self.model)

    def settings_fingerprint(self) -> dict[str, Any]:
        """Everything that changes an answer: model and its settings, reward fingerprint, search settings."""
        return {"model_name": self.model_display_name, **self.model_settings,
                "reward": fingerprint(self.reward), **self.latentseek_config().to_dict()}

    def seeker(self, overrides: Mapping[str, Any] | None = None, reward: Any = None) -> Any:
        """A LatentSeek engine for one call (weights come from the shared model registry)."""
        return make_seeker(self.model, reward if reward is not None else self.reward,
                           self.latentseek_config(overrides), self.model_settings)

    @staticmethod
    def call_overrides(kwargs: dict[str, Any], configurable: Mapping[str, Any] | None) -> tuple[dict[str, Any], Any]:
        """Per-call settings and reference, from invoke kwargs first, then ``config["configurable"]``."""
        configurable = ours_from_configurable(configurable)
        overrides = {k: v for k, v in configurable.items() if k in CONFIG_FIELDS}
        overrides.update(split_overrides(kwargs))
        reference = kwargs.pop("reference", None)
        if reference is None and configurable:
            reference = configurable.get("reference")
        return overrides, reference


def ours_from_configurable(configurable: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``reference`` and LatentSeekConfig settings in ``config["configurable"]``.

    Other keys belong to other runnables of the chain (LangGraph's ``thread_id``, ...) and are left
    alone; a key that looks like a misspelling of ours (``max_iter``, ``refernce``) is refused.

    Example:
        >>> ours_from_configurable({"thread_id": "t1", "max_iters": 2})
        {'max_iters': 2}
    """
    import difflib

    configurable = configurable or {}
    misspelt = [k for k in configurable if isinstance(k, str) and k not in CALL_NAMES
                and difflib.get_close_matches(k, CALL_NAMES, n=1, cutoff=0.8)]
    if misspelt:
        raise ValueError(f"config['configurable']: {unknown_names(misspelt, CALL_NAMES)}")
    return {k: v for k, v in configurable.items() if k == "reference" or k in CONFIG_FIELDS}


if TYPE_CHECKING:  # the fields are made from LatentSeekConfig at import; to a type checker it is _Settings
    LatentSeekSettings = _Settings
else:
    LatentSeekSettings = create_model("LatentSeekSettings", __base__=_Settings, __module__=__name__,
                                      **_config_fields())
LatentSeekSettings.__doc__ = """Model, reward and every LatentSeekConfig setting as pydantic fields (derived from
the config), for ChatLatentSeek, LatentSeekRunnable and LatentSeekTool.

Example:
    >>> LatentSeekSettings(max_iters=2).latentseek_config().max_iters
    2
"""


def messages_to_dicts(messages: Sequence[Any]) -> list[dict[str, str]]:
    """LangChain messages -> ``[{"role", "content"}]`` for the chat template (text blocks only)."""
    from latentseek_agents.prompts import content_text, normalize_role

    def role(message: Any) -> str:  # a ChatMessage carries its own role name
        kind = getattr(message, "type", "")
        return normalize_role(getattr(message, "role", kind) if kind == "chat" else kind)

    return [{"role": role(m), "content": content_text(m.content)} for m in messages]
