"""Session-wide fixtures: a real Kafka broker started by iotad's own code, unique topics.

* ``kafka_bootstrap``: ``"host:port"`` of a single-node KRaft broker that :mod:`iotad.broker`
  starts once per session on free ports in a temporary data dir (jars from the shared cache,
  ``~/.cache/iotad/broker``) and stops at session end, even on failure. With
  ``IOTAD_TEST_BOOTSTRAP=host:port`` an external broker is used instead. When no broker can be
  started, tests that need one are skipped, unless ``IOTAD_REQUIRE_KAFKA=1`` (``make test``, CI):
  then they fail.
* ``make_topic(prefix, partitions=1)``: creates a topic with a unique name and returns the name.
* ``isolated_settings(partitions=2, **overrides)``: :class:`~iotad.settings.Settings` whose Kafka
  client points at the test broker and whose five topics (flows, alerts, dead letters, models,
  incidents) have unique names and exist; ``overrides`` are nested sections as in
  ``load_settings``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from support.kafka import IsolatedSettings, MakeTopic, unique_name
from support.signing import suite_public_key

from iotad.broker import ensure_topics, free_port, product_topics, start_broker
from iotad.errors import BrokerError
from iotad.settings import Settings, load_settings

logger = logging.getLogger("iotad.tests")

_TEST_HEAP_MB = 512


def _announce(config: pytest.Config, line: str) -> None:
    """Show a line in the pytest output (not captured), and log it."""
    logger.info(line)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_line(f"[kafka] {line}")


def _no_broker(reason: str) -> None:
    if os.environ.get("IOTAD_REQUIRE_KAFKA") == "1":
        pytest.fail(f"IOTAD_REQUIRE_KAFKA=1 but no Kafka broker: {reason}", pytrace=False)
    pytest.skip(f"no Kafka broker ({reason}); set IOTAD_REQUIRE_KAFKA=1 to make this an error")


class _KafkaReport:
    """Lists, at the end of the run, the tests that passed against the broker."""

    def __init__(self) -> None:
        self.passed: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed and "kafka" in report.keywords:
            self.passed.append(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.passed:
            round_trips = [n for n in self.passed if "round_trip" in n]
            terminalreporter.write_sep("-", "kafka")
            terminalreporter.write_line(
                f"{len(self.passed)} tests passed against the Kafka broker; produce→consume "
                f"round trips: {', '.join(round_trips)[:600]}"
            )


def pytest_configure(config: pytest.Config) -> None:
    """Register the end-of-run Kafka report."""
    config.pluginmanager.register(_KafkaReport(), "iotad-kafka-report")


@pytest.fixture(scope="session")
def kafka_bootstrap(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Bootstrap servers of the session's Kafka broker (started by iotad, or external)."""
    external = os.environ.get("IOTAD_TEST_BOOTSTRAP")
    if external:
        _announce(request.config, f"using the external broker IOTAD_TEST_BOOTSTRAP={external}")
        yield external
        return
    port, controller_port = free_port(), free_port()
    while controller_port == port:
        controller_port = free_port()
    settings = load_settings(
        overrides={
            "broker": {
                "port": port,
                "controller_port": controller_port,
                "data_dir": str(tmp_path_factory.mktemp("kafka")),
                "heap_mb": _TEST_HEAP_MB,
                "start_timeout_s": 180.0,
            }
        }
    )
    started = time.monotonic()
    try:
        broker = start_broker(settings.broker, die_with_parent=True)
    except BrokerError as exc:
        _no_broker(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        return
    _announce(
        request.config,
        f"broker started by the project (iotad.broker): Kafka {settings.broker.kafka_version} "
        f"on {broker.bootstrap_servers}, pid {broker.state.pid}, "
        f"in {time.monotonic() - started:.1f}s",
    )
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop(settings.broker.stop_timeout_s)
        _announce(request.config, f"broker on {broker.bootstrap_servers} stopped")


@pytest.fixture
def make_topic(kafka_bootstrap: str) -> MakeTopic:
    """A factory: ``make_topic(prefix, partitions=1)`` creates a unique topic, returns its name."""

    def make(prefix: str, partitions: int = 1) -> str:
        name = unique_name(prefix)
        ensure_topics(kafka_bootstrap, {name: partitions})
        return name

    return make


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


@pytest.fixture
def isolated_settings(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> IsolatedSettings:
    """A factory of settings with unique, existing topics on the test broker.

    ``isolated_settings(partitions=2, stream={"batch_size": 10})``: the worker's app id (its
    consumer group) and state dir are unique too, so tests never share offsets or state. The
    worker trusts the suite's signing key (:mod:`support.signing`).
    """

    def make(partitions: int = 2, **overrides: Any) -> Settings:
        prefix = unique_name("test")
        base: dict[str, Any] = {
            "kafka": {"bootstrap_servers": kafka_bootstrap},
            "topics": {
                "flows": f"{prefix}.flows",
                "alerts": f"{prefix}.alerts",
                "dead_letters": f"{prefix}.flows.dlq",
                "models": f"{prefix}.models",
                "incidents": f"{prefix}.incidents",
                "partitions": partitions,
            },
            "stream": {
                "app_id": f"{prefix}.worker",
                "state_dir": str(tmp_path_factory.mktemp("stream-state")),
                # Test bundles are signed with the suite's key (support/signing.py).
                "trusted_keys": [str(suite_public_key())],
            },
        }
        settings = load_settings(overrides=_merge(base, overrides))
        ensure_topics(kafka_bootstrap, product_topics(settings.topics))
        return settings

    return make
