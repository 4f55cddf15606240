"""Faust tuning settings reach the app's configuration, and the event loop is the one asked."""

from __future__ import annotations

import asyncio

import pytest

from iotad.settings import load_settings
from iotad.stream.app import faust_config
from iotad.stream.worker import new_event_loop


def test_defaults_leave_faust_poll_size_alone_and_size_the_buffer_from_the_batch() -> None:
    config = faust_config(load_settings(overrides={"stream": {"batch_size": 5000}}))
    assert "broker_max_poll_records" not in config
    assert config["stream_buffer_maxsize"] == 10_000


def test_poll_records_and_buffer_size_are_passed_through() -> None:
    settings = load_settings(
        overrides={"stream": {"max_poll_records": 250, "stream_buffer_maxsize": 777}}
    )
    config = faust_config(settings)
    assert config["broker_max_poll_records"] == 250
    assert config["stream_buffer_maxsize"] == 777


def test_a_non_positive_poll_size_is_refused_by_name() -> None:
    from iotad.errors import ConfigError

    with pytest.raises(ConfigError, match="stream.max_poll_records"):
        load_settings(overrides={"stream": {"max_poll_records": 0}})


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_the_worker_runs_on_the_event_loop_it_was_configured_with(kind: str) -> None:
    policy = asyncio.get_event_loop_policy()
    try:
        loop = new_event_loop(kind)
        try:
            assert (type(loop).__module__.split(".")[0] == "uvloop") == (kind == "uvloop")
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(policy)
