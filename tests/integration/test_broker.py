"""The project's own broker: it answers, holds the product's topics, and carries messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import psutil
import pytest
from support.kafka import IsolatedSettings, MakeTopic, consume_all, produce

from iotad.broker import broker_answers, ensure_topics, free_port, list_topics, start_broker
from iotad.broker.admin import parse_bootstrap
from iotad.errors import BrokerError, ExitCode
from iotad.settings import load_settings

pytestmark = pytest.mark.kafka


def test_session_broker_answers(kafka_bootstrap: str) -> None:
    [(host, port)] = parse_bootstrap(kafka_bootstrap)
    assert broker_answers(host, port)


def test_isolated_settings_topics_exist_with_their_partitions(
    isolated_settings: IsolatedSettings,
) -> None:
    settings = isolated_settings(partitions=3)
    on_broker = {t.name: t.partitions for t in list_topics(settings.kafka.bootstrap_servers)}
    topics = settings.topics
    assert on_broker[topics.flows] == 3
    assert on_broker[topics.alerts] == 3
    assert on_broker[topics.dead_letters] == 3
    assert on_broker[topics.models] == 1
    assert isolated_settings().topics.flows != topics.flows


def test_ensure_topics_is_idempotent(kafka_bootstrap: str, make_topic: MakeTopic) -> None:
    name = make_topic("idem", partitions=2)
    report = ensure_topics(kafka_bootstrap, {name: 5})
    assert report.created == ()
    assert [(t.name, t.partitions) for t in report.existing] == [(name, 2)]


def test_produce_then_consume_round_trip(kafka_bootstrap: str, make_topic: MakeTopic) -> None:
    topic = make_topic("roundtrip", partitions=2)
    sent = [(f"k{i % 3}".encode(), f"value {i}".encode()) for i in range(50)]
    assert produce(kafka_bootstrap, topic, sent) == 50
    received = consume_all(kafka_bootstrap, topic, expected=50)
    assert sorted(received) == sorted(sent)


def test_second_broker_on_a_taken_port_is_refused(kafka_bootstrap: str, tmp_path: Path) -> None:
    [(_, port)] = parse_bootstrap(kafka_bootstrap)
    settings = load_settings(overrides={"broker": {"port": port, "data_dir": str(tmp_path)}})
    with pytest.raises(BrokerError, match="already in use"):
        start_broker(settings.broker)


def _iotad(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``iotad`` command in its own process, as a user would."""
    command = [str(Path(sys.executable).parent / "iotad"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)


def test_cli_up_status_topics_down(kafka_bootstrap: str, tmp_path: Path) -> None:
    """`iotad kafka up` leaves a broker running after the command; `down` stops exactly it."""
    port, controller_port = free_port(), free_port()
    data = ("--data-dir", str(tmp_path / "data"))
    up = _iotad("kafka", "up", "--port", str(port), "--controller-port", str(controller_port),
                "--partitions", "2", *data)  # fmt: skip
    state_file = tmp_path / "data" / "broker.json"
    try:
        assert up.returncode == ExitCode.OK, up.stderr
        pid = orjson.loads(state_file.read_bytes())["pid"]
        status = _iotad("kafka", "status", "--json", *data)
        assert status.returncode == ExitCode.OK
        assert orjson.loads(status.stdout)["port"] == port
        listed = _iotad("kafka", "topics", "--bootstrap", f"127.0.0.1:{port}")
        topics = dict(line.split() for line in listed.stdout.splitlines())
        assert topics == {"iotad.flows": "2", "iotad.alerts": "2", "iotad.flows.dlq": "2",
                          "iotad.incidents": "2", "iotad.models": "1"}  # fmt: skip
    finally:
        down = _iotad("kafka", "down", *data)
    assert down.returncode == ExitCode.OK, down.stderr
    assert "stopped the broker" in down.stderr
    assert not state_file.exists()
    assert not psutil.pid_exists(pid)
    assert _iotad("kafka", "status", *data).returncode == ExitCode.BROKER
