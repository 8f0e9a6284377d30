"""ServeOptions: the deployment's settings, batching included, checked where they are declared."""

import argparse

import pytest

from latentseek_agents.integrations.serve.options import ServeOptions


def test_a_replica_batches_as_many_requests_as_it_holds_unless_told_otherwise():
    assert ServeOptions().batch_size == ServeOptions().max_ongoing_requests == 8
    assert ServeOptions(max_ongoing_requests=4).batch_size == 4
    assert ServeOptions(max_ongoing_requests=4, max_batch_size=1).batch_size == 1  # one search at a time


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_ongoing_requests": 2, "max_batch_size": 4}, "max_batch_size is 4, above max_ongoing_requests \\(2\\)"),
    ({"max_batch_size": 0}, "max_batch_size must be None or an integer >= 1, got 0"),
    ({"batch_wait_s": -0.1}, "batch_wait_s must be a finite number in \\[0, .*got -0.1"),
    ({"batch_wait_s": float("nan")}, "batch_wait_s must be a finite number"),
])
def test_batching_settings_that_cant_work_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message) as caught:
        ServeOptions(**settings)
    assert caught.value.field == next(iter(k for k in settings if k.startswith(("max_batch", "batch"))))


def test_the_command_line_and_key_value_text_reach_the_same_fields():
    parser = argparse.ArgumentParser()
    ServeOptions.add_options(parser)
    args = parser.parse_args(["--max-batch-size", "3", "--batch-wait-s", "0.2"])
    assert ServeOptions.from_args(args) == ServeOptions(max_batch_size=3, batch_wait_s=0.2)
    assert ServeOptions.from_strings({"max_batch_size": "3", "batch_wait_s": "0.2"}) == ServeOptions.from_args(args)
    with pytest.raises(ValueError, match="batch_wait_s must be a float, got 'soon'"):
        ServeOptions.from_strings({"batch_wait_s": "soon"})
