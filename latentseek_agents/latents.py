"""The latent update: a policy-gradient step on the first L hidden states, through the LM head only.

Each problem's latents z (shape [L, d]) are float32 leaf tensors, the only tensors that require
grad. The loss is ``-sum_i R_i * sum_t log softmax(W z_t + b)[x_t]`` with ``R = score - 1`` and
``x_t = argmax(W z_t + b)`` (the paper), or, for the ``"sample"`` policy, ``x_t`` the tokens that
were scored and ``R`` an advantage (reward minus a baseline); one optimizer (Adam by default)
holds every problem's latents as its own parameter, so problems that stop simply get no gradient
and are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from .config import LatentSeekConfig
    from .models import Model

__all__ = ["LatentOptimizer", "num_latents"]


def num_latents(generated: int, fraction: float, max_latents: int) -> int:
    """L = min(int(fraction * T), max_latents), T counting the stop token (as the paper does).

    Example:
        >>> num_latents(100, 0.2, 300), num_latents(4, 0.2, 300), num_latents(5000, 0.2, 300)
        (20, 0, 300)
    """
    return min(int(fraction * generated), max_latents)


class LatentOptimizer:
    """Holds several problems' latents and moves them with one optimizer.

    Args:
        lm: the model whose LM head decodes the latents (its weights stay frozen).
        latents: per problem, the initial hidden states [L_i, d] (copied to float32).
        config: lr, optimizer, steps_per_iter, grad_clip.

    Example:
        >>> opt = LatentOptimizer(lm, [h0[:8]], config)           # doctest: +SKIP
        >>> prefixes = opt.step({0: -1.0})                        # doctest: +SKIP
    """

    def __init__(self, lm: Model, latents: Sequence[torch.Tensor], config: LatentSeekConfig) -> None:
        import torch

        self.weight, self.bias = lm.lm_head_fp32()
        device = self.weight.device
        self.z = [h.detach().to(device=device, dtype=torch.float32).clone().requires_grad_(True)
                  for h in latents]
        self.config = config
        self.optimizer: torch.optim.Optimizer = (torch.optim.Adam if config.optimizer == "adam"
                                                 else torch.optim.SGD)(self.z, lr=config.lr)

    def reset(self, index: int, latents: torch.Tensor) -> None:
        """Replace problem ``index``'s latents with new initial ones (a restart): a fresh leaf tensor,
        the optimizer's state for the old one dropped.

        Example:
            >>> opt.reset(0, fresh_hidden[:12])                       # doctest: +SKIP
        """
        import torch

        old = self.z[index]
        new = latents.detach().to(device=self.weight.device, dtype=torch.float32).clone().requires_grad_(True)
        self.optimizer.state.pop(old, None)
        params = self.optimizer.param_groups[0]["params"]
        params[next(k for k, p in enumerate(params) if p is old)] = new
        self.z[index] = new

    def _logits(self, z: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        return F.linear(z, self.weight, self.bias)

    def tokens(self, index: int) -> list[int]:
        """The current argmax token of each of problem ``index``'s latents."""
        import torch

        with torch.no_grad():
            return self._logits(self.z[index]).argmax(dim=-1).tolist()

    def sample(self, index: int, temperature: float, generator: torch.Generator | None = None) -> list[int]:
        """Tokens drawn from the LM head's distribution over each of problem ``index``'s latents."""
        import torch

        with torch.no_grad():
            probs = torch.softmax(self._logits(self.z[index]) / temperature, dim=-1)
            return torch.multinomial(probs, 1, generator=generator).squeeze(-1).tolist()

    def step(self, rewards: dict[int, float | list[float]],
             actions: dict[int, list[int] | list[list[int]]] | None = None) -> dict[int, list[int]]:
        """Take ``steps_per_iter`` optimizer steps for the problems in ``rewards`` (index -> R).

        R is on the paper's scale (``score - 1``, in [-1, 0]), or an advantage. ``actions`` gives,
        per problem, the tokens whose log-probability is weighted (the scored prefix), or several
        prefixes with one weight each (``rewards[i]`` then a list: a group of samples, each weighted by
        its own advantage); without it each step uses the current argmax (the paper). Returns the
        argmax tokens of the updated latents of each of those problems.
        """
        import torch

        indices = sorted(rewards)
        device = self.weight.device
        pairs: dict[int, list[tuple[float, Any]]] = {}  # per problem: (weight, action tokens) of each sample
        if actions is not None:
            for i in indices:
                action: Any = actions[i]
                reward: Any = rewards[i]
                group: list[list[int]] = action if action and isinstance(action[0], list) else [action]
                weights: list[float] = [float(w) for w in reward] if isinstance(reward, list) else [float(reward)]
                if len(weights) != len(group):
                    raise ValueError(f"rewards[{i}] has {len(weights)} weights for {len(group)} actions")
                for tokens in group:
                    if len(tokens) != len(self.z[i]):
                        raise ValueError(f"actions[{i}] has {len(tokens)} tokens for {len(self.z[i])} latents")
                pairs[i] = [(w, torch.as_tensor(t, dtype=torch.long, device=device)) for w, t in zip(weights, group)]
        for _ in range(self.config.steps_per_iter):
            self.optimizer.zero_grad(set_to_none=True)
            # One LM-head matmul over every active problem's latents.
            z = torch.cat([self.z[i] for i in indices])
            logp = torch.log_softmax(self._logits(z), dim=-1)
            if actions is None:
                chosen = logp.gather(-1, logp.detach().argmax(dim=-1).unsqueeze(-1)).squeeze(-1)
                scale = torch.cat([torch.full((len(self.z[i]),), float(rewards[i]), device=z.device)  # type: ignore[arg-type]
                                   for i in indices])  # a plain R per problem here: no groups without actions
                loss = -(scale * chosen).sum()
            else:
                loss = z.new_zeros(())
                start = 0
                for i in indices:
                    rows = logp[start:start + len(self.z[i])]
                    start += len(self.z[i])
                    for weight, tokens in pairs[i]:
                        loss = loss - weight * rows.gather(-1, tokens.unsqueeze(-1)).sum()
            loss.backward()
            if self.config.grad_clip is not None:
                for i in indices:
                    torch.nn.utils.clip_grad_norm_([self.z[i]], self.config.grad_clip)
            self.optimizer.step()
        return {i: self.tokens(i) for i in indices}
