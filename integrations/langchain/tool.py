"""`LatentSeekTool`: a tool an agent (driven by any chat model) uses to hand a hard sub-question
to LatentSeek. The tool result is the answer with its score; the artifact is the whole SeekResult.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from .runnable import LatentSeekRunnable

__all__ = ["LatentSeekTool", "LatentSeekToolInput"]

_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class LatentSeekToolInput(BaseModel):
    """Arguments of the LatentSeek tool (any other argument is refused, not dropped)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="a self-contained question, e.g. a math word problem")
    reference: str | None = Field(default=None, description="a known correct answer to check against, if any")


class LatentSeekTool(BaseTool):
    """Solve a hard sub-question with LatentSeek on a local model.

    Args:
        runnable: the :class:`LatentSeekRunnable` to use; or pass its settings as keyword arguments.

    Example:
        >>> from latentseek_agents.rewards import MathAnswer
        >>> tool = LatentSeekTool(runnable=LatentSeekRunnable(reward=MathAnswer(), max_iters=2))
        >>> tool.invoke({"question": "What is 12 + 30?", "reference": "42"})    # doctest: +SKIP
        'answer: 42 (score 1.00 after 0 latent updates, stop: threshold)'
    """

    name: str = "latentseek_reasoner"
    description: str = (
        "Solves a hard, self-contained reasoning or math question step by step with a local model that "
        "refines its own answer at test time. Input: the question. Returns the final answer and its score."
    )
    args_schema: type[BaseModel] = LatentSeekToolInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    runnable: LatentSeekRunnable = Field(default_factory=LatentSeekRunnable)

    def __init__(self, runnable: LatentSeekRunnable | None = None, **settings: Any) -> None:
        # BaseTool's own fields (name, description, return_direct, handle_tool_error, tags, ...) go to
        # the tool; the rest are LatentSeek settings of its runnable (which refuses unknown names).
        own = set(type(self).model_fields) - {"runnable"}
        tool_fields = {k: settings.pop(k) for k in list(settings) if k in own}
        if runnable is not None and settings:
            raise ValueError(f"LatentSeekTool: {', '.join(sorted(settings))} would be ignored beside runnable=; set "
                             "them on the LatentSeekRunnable (or pass settings without runnable=)")
        name = tool_fields.get("name", type(self).model_fields["name"].default)
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise ValueError(f"LatentSeekTool: name must be 1-64 letters, digits, '_' or '-' (what chat-model tool "
                             f"APIs accept), got {name!r}")
        super().__init__(runnable=runnable or LatentSeekRunnable(**settings), **tool_fields)

    def _run(self, question: str, reference: str | None = None,
             run_manager: CallbackManagerForToolRun | None = None) -> tuple[str, dict[str, Any]]:
        config = RunnableConfig(callbacks=run_manager.get_child()) if run_manager else None
        result = self.runnable.invoke({"question": question, "reference": reference}, config=config)
        answer = result.answer if result.answer is not None else result.text.strip()[-300:]
        content = (f"answer: {answer} (score {result.score:.2f} after {result.iterations} latent updates, "
                   f"stop: {result.stop_reason})")
        return content, result.to_dict()
