"""`LatentSeekConfig`: the settings of one LatentSeek run, validated at construction.

Defaults are the paper's (see ``docs/method.md``): lr 0.03, fraction 0.2, at most 300 latents,
10 iterations, stop when the score passes 0.8 (the paper's reward threshold -0.2 on its
[-1, 0] scale), one Adam step per iteration, return the first passing answer.
"""

from __future__ import annotations

import textwrap
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from .validation import ConfigError, check_int, check_number

__all__ = ["LatentSeekConfig", "PROMPT_STYLES", "OPTIMIZERS", "SELECT_MODES", "POLICIES", "SAMPLE_TEMPERATURE",
           "field_help"]

PROMPT_STYLES = ("boxed", "json", "json_expression", "none")
OPTIMIZERS = ("adam", "sgd")
SELECT_MODES = ("first_pass", "best")
POLICIES = ("argmax", "sample")


def _fail(name: str, expected: str, value: Any) -> None:
    raise ConfigError(name, f"{name} must be {expected}, got {value!r}")


# Upper bounds only where the domain has one; elsewhere a setting just has to be a finite number or an
# int (the model's context bounds the token budget when a problem is prepared).
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed's range
SAMPLE_TEMPERATURE = 0.7  # the temperature of a sample: the sampling baselines', a restart's (the paper's baseline)
MAX_TIMEOUT_S = threading.TIMEOUT_MAX  # the longest wait Thread.join / Timer accept


_ARGS_PLACEHOLDER = "        {args}"


@dataclass(frozen=True)
class LatentSeekConfig:
    """Settings of the LatentSeek loop (frozen; every field is checked at construction).

    Args:
        {args}

    Example:
        >>> cfg = LatentSeekConfig(max_iters=2, lr=0.05)
        >>> cfg.fraction
        0.2
        >>> LatentSeekConfig(lr=-1)
        Traceback (most recent call last):
        ...
        latentseek_agents.validation.ConfigError: lr must be a finite number > 0, got -1
    """

    lr: float = field(default=0.03, metadata={"help": (
        "step size of the latent optimizer (paper: 0.03; 0.05 for some models).")})
    fraction: float = field(default=0.2, metadata={"help": (
        "share of the generated positions whose latents are optimized, in (0, 1].")})
    max_latents: int = field(default=300, metadata={"help": (
        "cap on the number of optimized positions (reference code: 300).")})
    max_iters: int = field(default=10, metadata={"help": (
        "maximum number of latent updates; 0 returns the first answer.")})
    score_threshold: float = field(default=0.8, metadata={"help": (
        "stop once a score is strictly above this, in [0, 1] (the paper's rule); a perfect score (1.0) always "
        "passes, so ``score_threshold=1.0`` means \"stop at a perfect score\".")})
    inclusive_threshold: bool = field(default=False, metadata={"help": (
        "stop once a score is at or above the threshold instead (the rule of ``dspy.Refine`` / "
        "``dspy.BestOfN``, used by the DSPy module).")})
    steps_per_iter: int = field(default=1, metadata={"help": "optimizer steps between two decodes (paper: 1)."})
    optimizer: Literal["adam", "sgd"] = field(default="adam", metadata={"help": (
        "``\"adam\"`` (paper) or ``\"sgd\"`` (the reward's magnitude then sets the step).")})
    policy: Literal["argmax", "sample"] = field(default="argmax", metadata={"help": (
        "``\"argmax\"`` (paper): the prefix is the argmax of the moved latents and the loss is ``-R * sum log "
        "p(argmax)``. ``\"sample\"``: the prefix tokens are sampled from the moved latents' token distributions "
        "(at ``policy_temperature``) and the loss is REINFORCE with a baseline, ``-(R - b) * sum log p(tokens "
        "scored)``, ``b`` being the mean reward of the problem's earlier attempts (``b = 0`` for the first "
        "update, which then pushes away from the greedy answer as the paper's step does).")})
    population: int = field(default=1, metadata={"help": (
        "chains per problem: the greedy first answer and ``population - 1`` samples (at ``SAMPLE_TEMPERATURE``), "
        "each refined by latent steps of its own; a round costs ``population`` generations, and the problem "
        "stops when any chain passes. 1 = the paper's one chain.")})
    samples_per_step: int = field(default=1, metadata={"help": (
        "with ``policy=\"sample\"``: prefixes sampled from the moved latents at each update, each continued and "
        "scored as an attempt of its own; the next step weights each by its reward minus the group's mean (the "
        "paper's expectation over x ~ pi(x|z), with a baseline). Each counts against the budget: an update costs "
        "this many generations.")})
    policy_temperature: float = field(default=1.0, metadata={"help": (
        "temperature of the prefix sampling (``policy=\"sample\"`` only).")})
    continuation_temperature: float = field(default=0.0, metadata={"help": (
        "temperature of the continuation after an updated prefix: 0 decodes it greedily (paper); above 0 "
        "samples it (seeded by ``seed``), so an update explores past its prefix as a sample does.")})
    restart_on_repeat: bool = field(default=False, metadata={"help": (
        "when an update's final answer (or, without one, its text) repeats one the problem already had, its next "
        "attempt is a fresh "
        "sample from the prompt (at ``SAMPLE_TEMPERATURE``, 0.7) whose hidden states become its new latents, "
        "instead of another step from the old ones.")})
    max_new_tokens: int = field(default=1024, metadata={"help": "budget of generated tokens for every answer."})
    select: Literal["first_pass", "best"] = field(default="first_pass", metadata={"help": (
        "``\"first_pass\"`` returns the first passing answer, else the last (paper); ``\"best\"`` returns the "
        "highest-scoring answer seen.")})
    seed: int = field(default=42, metadata={"help": (
        "seed of the random generator a solve samples from (``policy=\"sample\"``, a sampled continuation, "
        "a restart).")})
    prompt_style: Literal["boxed", "json", "json_expression", "none"] = field(default="boxed", metadata={"help": (
        "``\"boxed\"`` (Prompt 1), ``\"json\"`` (Prompt 2, GSM8K text: the final answer a bare number), "
        "``\"json_expression\"`` (Prompt 2, MATH text: no such sentence) or ``\"none\"`` (as given).")})
    grad_clip: float | None = field(default=None, metadata={"help": (
        "optional max norm of each problem's latent gradient.")})
    reward_timeout_s: float | None = field(default=None, metadata={"help": (
        "optional wall-clock bound for one reward call; a reward that runs longer is recorded as a failed "
        "attempt with its error and the run goes on.")})

    def __post_init__(self) -> None:
        check_number("lr", self.lr, 0, low_open=True)
        check_number("fraction", self.fraction, 0, 1, low_open=True)
        check_int("max_latents", self.max_latents, 1)
        check_int("max_iters", self.max_iters, 0)
        check_int("steps_per_iter", self.steps_per_iter, 1)
        check_int("max_new_tokens", self.max_new_tokens, 1)
        check_number("score_threshold", self.score_threshold, 0, 1)
        if not isinstance(self.inclusive_threshold, bool):
            _fail("inclusive_threshold", "a bool", self.inclusive_threshold)
        if self.optimizer not in OPTIMIZERS:
            _fail("optimizer", f"one of {OPTIMIZERS}", self.optimizer)
        if self.policy not in POLICIES:
            _fail("policy", f"one of {POLICIES}", self.policy)
        check_number("policy_temperature", self.policy_temperature, 0, low_open=True)
        check_int("population", self.population, 1)
        check_int("samples_per_step", self.samples_per_step, 1)
        if self.samples_per_step > 1 and self.policy != "sample":
            raise ConfigError("samples_per_step", f"samples_per_step > 1 samples prefixes from the latents: it needs "
                                                  f"policy='sample', got policy={self.policy!r}")
        check_number("continuation_temperature", self.continuation_temperature, 0)
        if self.select not in SELECT_MODES:
            _fail("select", f"one of {SELECT_MODES}", self.select)
        if self.prompt_style not in PROMPT_STYLES:
            _fail("prompt_style", f"one of {PROMPT_STYLES}", self.prompt_style)
        check_int("seed", self.seed, 0, MAX_SEED)
        check_number("grad_clip", self.grad_clip, 0, low_open=True, optional=True)
        check_number("reward_timeout_s", self.reward_timeout_s, 0, MAX_TIMEOUT_S, low_open=True, optional=True)

    def passes(self, score: float) -> bool:
        """Whether ``score`` passes the threshold (strictly above it, or at/above when inclusive). A
        perfect score passes whatever the threshold: nothing can be strictly above 1.0.

        Example:
            >>> LatentSeekConfig().passes(0.8), LatentSeekConfig(inclusive_threshold=True).passes(0.8)
            (False, True)
            >>> LatentSeekConfig(score_threshold=1.0).passes(1.0)
            True
        """
        if self.inclusive_threshold or score >= 1.0:
            return score >= self.score_threshold
        return score > self.score_threshold

    @property
    def max_generations(self) -> int:
        """The most full answers a LatentSeek search decodes per problem: ``population`` chains, each
        with its first answer and ``samples_per_step`` answers per update round (a restart takes the
        place of an update's answer). The budget to compare with K + 1 samples of best-of-N.

        Example:
            >>> LatentSeekConfig(max_iters=10).max_generations
            11
            >>> LatentSeekConfig(max_iters=3, population=3).max_generations
            12
        """
        return self.population * (1 + self.max_iters * self.samples_per_step)

    def replace(self, **changes: Any) -> LatentSeekConfig:
        """Return a copy with some fields changed (validated again).

        Example:
            >>> LatentSeekConfig().replace(max_iters=3).max_iters
            3
        """
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown LatentSeekConfig field(s): {sorted(unknown)}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain JSON-serialisable dict."""
        return asdict(self)


def field_help() -> dict[str, str]:
    """Each LatentSeekConfig field's description, from the field's own ``help`` (one declaration: the
    CLI's help, the wrappers' field descriptions and the class docstring all read it).

    Example:
        >>> field_help()["max_iters"]
        'maximum number of latent updates; 0 returns the first answer.'
    """
    return {f.name: f.metadata["help"] for f in fields(LatentSeekConfig)}


def _document_fields(cls: type) -> None:
    """Write the class docstring's Args section from the fields' ``help`` (for ``help()`` and docs)."""
    lines = []
    for f in fields(cls):
        wrapped = textwrap.wrap(f"{f.name}: {f.metadata['help']}", 96)
        lines += ["        " + wrapped[0]] + ["            " + more for more in wrapped[1:]]
    cls.__doc__ = (cls.__doc__ or "").replace(_ARGS_PLACEHOLDER, "\n".join(lines))


_document_fields(LatentSeekConfig)
