"""LatentSeekConfig: the paper's defaults, and a clear error for each bad setting."""

import pytest

from latentseek_agents import LatentSeekConfig


def test_defaults_are_the_papers():
    cfg = LatentSeekConfig()
    assert (cfg.lr, cfg.fraction, cfg.max_latents, cfg.max_iters) == (0.03, 0.2, 300, 10)
    assert (cfg.score_threshold, cfg.steps_per_iter, cfg.optimizer) == (0.8, 1, "adam")
    assert (cfg.max_new_tokens, cfg.select, cfg.prompt_style) == (1024, "first_pass", "boxed")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lr", -1, "lr must be a finite number > 0, got -1"),
        ("lr", float("nan"), "lr must be a finite number > 0, got nan"),
        ("fraction", 1.5, "fraction must be a finite number in (0, 1], got 1.5"),
        ("fraction", 0, "fraction must be a finite number in (0, 1], got 0"),
        ("max_iters", -1, "max_iters must be an integer >= 0, got -1"),
        ("max_latents", 0, "max_latents must be an integer >= 1, got 0"),
        ("max_new_tokens", 2.5, "max_new_tokens must be an integer >= 1, got 2.5"),
        ("score_threshold", 1.2, "score_threshold must be a finite number in [0, 1], got 1.2"),
        ("score_threshold", float("nan"), "score_threshold must be a finite number in [0, 1], got nan"),
        ("optimizer", "rmsprop", "optimizer must be one of ('adam', 'sgd'), got 'rmsprop'"),
        ("policy", "greedy", "policy must be one of ('argmax', 'sample'), got 'greedy'"),
        ("policy_temperature", 0, "policy_temperature must be a finite number > 0, got 0"),
        ("select", "last", "select must be one of ('first_pass', 'best'), got 'last'"),
        ("prompt_style", "xml", "prompt_style must be one of ('boxed', 'json', 'json_expression', 'none'), got 'xml'"),
        ("grad_clip", 0, "grad_clip must be None or a finite number > 0, got 0"),
        ("grad_clip", float("nan"), "grad_clip must be None or a finite number > 0, got nan"),
        ("reward_timeout_s", -2, "reward_timeout_s must be None or a finite number in (0, 9.22337e+09], got -2"),
        ("reward_timeout_s", float("inf"), "reward_timeout_s must be None or a finite number in (0, 9.22337e+09], got inf"),
        ("reward_timeout_s", 1e12, "reward_timeout_s must be None or a finite number in (0, 9.22337e+09], got 1000000000000.0"),
        ("seed", 2**70, f"seed must be an integer in [0, {2**63 - 1}], got {2**70}"),
        ("seed", 1.0, f"seed must be an integer in [0, {2**63 - 1}], got 1.0"),
        ("steps_per_iter", True, "steps_per_iter must be an integer >= 1, got True"),
    ],
)
def test_bad_settings_name_the_argument(field, value, message):
    with pytest.raises(ValueError) as info:
        LatentSeekConfig(**{field: value})
    assert str(info.value) == message


def test_config_is_frozen_and_replace_validates():
    cfg = LatentSeekConfig()
    with pytest.raises(AttributeError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert cfg.replace(max_iters=3).max_iters == 3
    with pytest.raises(ValueError, match="fraction"):
        cfg.replace(fraction=2.0)
    with pytest.raises(TypeError, match="unknown LatentSeekConfig field"):
        cfg.replace(learning_rate=0.1)


def test_to_dict_round_trips():
    cfg = LatentSeekConfig(lr=0.1, max_iters=2)
    assert LatentSeekConfig(**cfg.to_dict()) == cfg


def test_threshold_rule_strict_by_default_inclusive_on_request():
    assert not LatentSeekConfig(score_threshold=0.5).passes(0.5)
    assert LatentSeekConfig(score_threshold=0.5).passes(0.51)
    assert LatentSeekConfig(score_threshold=1.0, inclusive_threshold=True).passes(1.0)
    with pytest.raises(ValueError, match="inclusive_threshold must be a bool, got 1"):
        LatentSeekConfig(inclusive_threshold=1)


def test_a_perfect_score_passes_whatever_the_threshold():
    strict = LatentSeekConfig(score_threshold=1.0)
    assert strict.passes(1.0) and not strict.passes(0.999)
    assert LatentSeekConfig(score_threshold=0.8).passes(1.0) and not LatentSeekConfig().passes(0.8)
