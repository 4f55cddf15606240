"""Broker configuration, topic plan and state file: pure pieces, no broker needed."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from iotad.broker.admin import parse_bootstrap
from iotad.broker.process import ensure_port_free
from iotad.broker.server_config import new_cluster_id, render_properties, server_properties
from iotad.broker.topics import ALERT_CATEGORIES, product_topics
from iotad.broker.types import BrokerState
from iotad.errors import BrokerError, ConfigError
from iotad.schemas.labels import Category
from iotad.settings import BrokerSettings, TopicSettings, load_settings


def test_server_properties_single_node_kraft(tmp_path: Path) -> None:
    settings = BrokerSettings(host="127.0.0.1", port=29092, controller_port=29093)
    props = server_properties(settings, tmp_path / "kraft")
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["log.dirs"] == str(tmp_path / "kraft")
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1"


def test_render_properties_one_line_per_key() -> None:
    text = render_properties({"a.b": "1", "listeners": "PLAINTEXT://h:1"})
    assert text == "a.b=1\nlisteners=PLAINTEXT://h:1\n"


def test_cluster_ids_are_kraft_shaped_and_fresh() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) and not i.startswith("-") for i in ids)


def test_settings_reject_equal_ports() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides={"broker": {"port": 9100, "controller_port": 9100}})
    assert "must differ" in str(info.value)


def test_default_paths_live_under_home(tmp_path: Path) -> None:
    settings = BrokerSettings(home=tmp_path, kafka_version="3.9.1")
    assert settings.libs_dir == tmp_path / "3.9.1" / "libs"
    assert settings.resolved_data_dir == tmp_path / "data"
    assert (
        BrokerSettings(home=tmp_path, data_dir=tmp_path / "x").resolved_data_dir == tmp_path / "x"
    )


def test_product_topics_models_topic_has_one_partition() -> None:
    topics = product_topics(TopicSettings(partitions=6))
    assert topics == {
        "iotad.flows": 6,
        "iotad.alerts": 6,
        "iotad.flows.dlq": 6,
        "iotad.incidents": 6,
        "iotad.models": 1,
    }


def test_per_category_alert_topics_use_category_slugs() -> None:
    topics = product_topics(TopicSettings(partitions=2, per_category_alerts=True))
    assert "iotad.alerts.ddos" in topics
    assert "iotad.alerts.bruteforce" in topics
    assert "iotad.alerts.benign" not in topics
    assert len(topics) == 5 + len(ALERT_CATEGORIES)
    assert Category.BENIGN not in ALERT_CATEGORIES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9092", [("127.0.0.1", 9092)]),
        ("a:1, b:2", [("a", 1), ("b", 2)]),
        ("kafka", [("kafka", 9092)]),
        ("[::1]:9094", [("::1", 9094)]),
    ],
)
def test_parse_bootstrap(text: str, expected: list[tuple[str, int]]) -> None:
    assert parse_bootstrap(text) == expected


def test_parse_bootstrap_rejects_bad_port() -> None:
    with pytest.raises(BrokerError, match="expected host:port"):
        parse_bootstrap("host:port")


def test_state_round_trips_through_json(tmp_path: Path) -> None:
    state = BrokerState(
        pid=123,
        create_time=1.5,
        host="127.0.0.1",
        port=9092,
        controller_port=9093,
        started_at=2.5,
        kafka_version="3.9.1",
        data_dir=tmp_path,
        log_file=tmp_path / "logs" / "server.log",
    )
    assert BrokerState.from_json(state.to_json()) == state
    assert state.bootstrap_servers == "127.0.0.1:9092"


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is already in use"):
            ensure_port_free("127.0.0.1", port)


def test_clients_follow_the_local_broker_port_unless_bootstrap_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IOTAD_BROKER__PORT", "29092")
    assert load_settings().kafka.bootstrap_servers == "127.0.0.1:29092"
    monkeypatch.setenv("IOTAD_KAFKA__BOOTSTRAP_SERVERS", "kafka.ward:9092")
    assert load_settings().kafka.bootstrap_servers == "kafka.ward:9092"
    monkeypatch.delenv("IOTAD_BROKER__PORT")
    monkeypatch.delenv("IOTAD_KAFKA__BOOTSTRAP_SERVERS")
    assert load_settings().kafka.bootstrap_servers == "127.0.0.1:9092"
    overridden = load_settings(overrides={"broker": {"host": "10.0.0.5", "port": 19092}})
    assert overridden.kafka.bootstrap_servers == "10.0.0.5:19092"
