"""Secured Kafka: every client kind over TLS and SASL against the project's own broker.

One broker for the module, started by :func:`iotad.broker.start_broker` on free ports with an
SSL listener (client certificate required) and a SASL_SSL listener (PLAIN and SCRAM-SHA-512),
and *no* plaintext listener. Certificates come from ``support.tls`` (``cryptography``), the
SCRAM users from Kafka's own storage tool. Proves: authenticated clients work end to end,
a wrong password and an untrusted certificate are refused with a clear error, and nothing
falls back to plaintext.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console as RichConsole
from support.bundles import make_tiny_bundle, synthetic_rows
from support.kafka import unique_name
from support.signing import suite_public_key
from support.tls import Pki, make_pki
from support.worker import WorkerProcess

from iotad.broker import (
    LocalBroker,
    ensure_topics,
    free_port,
    list_topics,
    product_topics,
    start_broker,
)
from iotad.broker.admin import parse_bootstrap
from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import BrokerError, ExitCode
from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.schemas.messages import Alert
from iotad.settings import KafkaSettings, Settings, load_settings
from iotad.stream.alerts_tail import TailOptions, tail_alerts
from iotad.stream.model_control import promote_bundle
from iotad.stream.replay import ReplayOptions, replay_to_kafka
from iotad.stream.replay.sink import KafkaSink

pytestmark = pytest.mark.kafka

USER, PASSWORD = "alice", "alice-scram-secret"
EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
#: Short enough that every refused connection fails fast, long enough for a busy machine.
REFUSED_TIMEOUT_S = 4.0


@dataclass(frozen=True)
class SecuredBroker:
    """The module's broker, its listeners and its PKI."""

    broker: LocalBroker
    pki: Pki

    def client(self, protocol: str, **options: Any) -> KafkaSettings:
        """Client settings for ``protocol``'s listener (SASL: SCRAM-SHA-512 as alice)."""
        base: dict[str, Any] = {
            "bootstrap_servers": self.broker.listener(protocol),
            "security_protocol": protocol,
            "request_timeout_s": 15.0,
            "ssl_cafile": self.pki.ca,
        }
        if protocol == "SASL_SSL":
            base.update(sasl_mechanism="SCRAM-SHA-512", sasl_username=USER, sasl_password=PASSWORD)
        if protocol == "SSL":
            base.update(
                ssl_certfile=self.pki.client_cert,
                ssl_keyfile=self.pki.client_key,
                ssl_key_password=self.pki.client_key_password,
            )
        return KafkaSettings.model_validate({**base, **options})


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """A broker with SSL and SASL_SSL listeners only (see the module docstring)."""
    root = tmp_path_factory.mktemp("secured-kafka")
    pki = make_pki(root / "pki")
    ports = {free_port() for _ in range(8)}
    controller, ssl_port, sasl_port, unused = sorted(ports)[:4]
    settings = load_settings(
        overrides={
            "broker": {
                "port": unused,
                "controller_port": controller,
                "data_dir": str(root / "data"),
                "heap_mb": 512,
                "start_timeout_s": 180.0,
                "security": {
                    "plaintext": False,
                    "ssl_port": ssl_port,
                    "sasl_ssl_port": sasl_port,
                    "ssl_certfile": str(pki.broker_cert),
                    "ssl_keyfile": str(pki.broker_key),
                    "ssl_cafile": str(pki.ca),
                    "sasl_mechanisms": ["SCRAM-SHA-512", "PLAIN"],
                    "sasl_users": {USER: PASSWORD, "bob": "bob-plain-secret"},
                },
            }
        }
    )
    try:
        broker = start_broker(settings.broker, die_with_parent=True)
    except BrokerError as exc:
        if os.environ.get("IOTAD_REQUIRE_KAFKA") == "1":
            pytest.fail(f"IOTAD_REQUIRE_KAFKA=1 but the secured broker failed: {exc.message}")
        pytest.skip(f"no secured Kafka broker ({exc.message})")
    try:
        yield SecuredBroker(broker, pki)
    finally:
        broker.stop(settings.broker.stop_timeout_s)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny verified bundle the worker can serve."""
    path = tmp_path_factory.mktemp("bundle") / "tiny"
    make_tiny_bundle(path)
    return path


def _topic(kafka: KafkaSettings, partitions: int = 1) -> str:
    name = unique_name("secured")
    ensure_topics(kafka, {name: partitions})
    return name


def _cli(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> tuple[int, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    err = io.StringIO()
    console = Console(
        out=RichConsole(file=io.StringIO(), soft_wrap=True),
        err=RichConsole(file=err, soft_wrap=True, width=400),
    )
    return main(list(args), console=console), err.getvalue()


# -- the broker: secured listeners only ---------------------------------------------------------


def test_the_secured_broker_has_no_plaintext_listener(secured: SecuredBroker) -> None:
    assert set(secured.broker.state.listeners) == {"SSL", "SASL_SSL"}
    path = secured.broker.state.data_dir / "config" / "server.properties"
    config = path.read_text()
    listeners = next(line for line in config.splitlines() if line.startswith("listeners="))
    assert "PLAINTEXT://" not in listeners.replace("SASL_PLAINTEXT://", "")
    assert path.stat().st_mode & 0o077 == 0  # it lists the PLAIN users' passwords
    # A plaintext client at the TLS port gets nothing.
    plain = KafkaSettings(bootstrap_servers=secured.broker.listener("SASL_SSL"))
    with pytest.raises(BrokerError, match="no Kafka broker answers"):
        list_topics(plain, timeout_s=REFUSED_TIMEOUT_S)


# -- authenticated clients work -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "options"),
    [
        ("SASL_SSL", {}),
        (
            "SASL_SSL",
            {
                "sasl_mechanism": "PLAIN",
                "sasl_username": "bob",
                "sasl_password": "bob-plain-secret",
            },
        ),
        ("SSL", {}),
    ],
    ids=["sasl-ssl-scram-sha-512", "sasl-ssl-plain", "ssl-client-cert"],
)
def test_authenticated_round_trip_admin_producer_and_consumer(
    secured: SecuredBroker, protocol: str, options: dict[str, Any]
) -> None:
    kafka = secured.client(protocol, **options)
    topic = _topic(kafka)  # kafka-python admin
    assert topic in {t.name for t in list_topics(kafka)}
    settings = load_settings(overrides={"kafka": kafka.model_dump(), "topics": {"alerts": topic}})
    alert = Alert.model_validate_json((EXAMPLES / "alert.json").read_bytes())

    async def produce() -> None:  # aiokafka, as replay and the demo feed produce
        async with KafkaSink.from_settings(
            settings, topic, client="test", max_message_bytes=1 << 20
        ) as sink:
            await sink.send(b"DDoS", alert.model_dump_json().encode(), 1)
        assert sink.delivered_flows == 1, sink.first_error

    asyncio.run(produce())
    seen: list[Alert] = []
    summary = tail_alerts(  # kafka-python consumer
        settings,
        TailOptions(topics=(topic,), from_beginning=True, max_alerts=1, idle_timeout_s=30),
        lambda a, _record: seen.append(a),
        lambda reason, record: pytest.fail(f"invalid alert at {record}: {reason}"),
    )
    assert summary.shown == 1 and seen == [alert]


def _write_flows_csv(path: Path, n: int) -> int:
    x, y = synthetic_rows(n, FeatureLayout.CIC39, ("Attack", "Benign"), seed=3)
    labels = {"Attack": "DDoS-ACK_Fragmentation", "Benign": "BenignTraffic"}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FEATURES_39, "label"])
        writer.writerows([*map(float, row), labels[str(c)]] for row, c in zip(x, y, strict=True))
    return n


def test_replay_worker_and_alerts_tail_end_to_end_over_sasl_ssl_and_ssl(
    secured: SecuredBroker, tmp_path: Path, bundle: Path
) -> None:
    """replay (aiokafka, SCRAM) → worker (Faust + its producer + model control, PLAIN) → alerts
    tail (kafka-python, client certificate); then a promote round trip over SASL_SSL."""
    prefix = unique_name("e2e")
    topics = {
        "flows": f"{prefix}.flows",
        "alerts": f"{prefix}.alerts",
        "dead_letters": f"{prefix}.dlq",
        "models": f"{prefix}.models",
        "partitions": 2,
    }
    stream = {
        "app_id": f"{prefix}.worker",
        "state_dir": str(tmp_path / "state"),
        "web_port": free_port(),
        "batch_size": 100,
        "trusted_keys": [str(suite_public_key())],
    }
    plain = {"sasl_mechanism": "PLAIN", "sasl_username": "bob", "sasl_password": "bob-plain-secret"}
    worker_kafka = secured.client("SASL_SSL", **plain)
    worker_settings = load_settings(
        overrides={"kafka": worker_kafka.model_dump(), "topics": topics, "stream": stream}
    )
    ensure_topics(worker_kafka, product_topics(worker_settings.topics))
    worker = WorkerProcess(worker_settings, tmp_path / "worker.log", bundle=bundle)
    try:
        worker.wait_ready(120)
        sent = _write_flows_csv(tmp_path / "flows.csv", 300)
        replay_settings = _with_kafka(worker_settings, secured.client("SASL_SSL"))
        summary = replay_to_kafka(
            replay_settings, [tmp_path / "flows.csv"], ReplayOptions(topic=topics["flows"])
        )
        assert summary.sent == sent and summary.delivery_failures == 0, summary
        worker.wait_metric("iotad_flows_scored_total", sent, timeout_s=90)
        raised = sum(
            value
            for (name, _labels), value in worker.metrics().items()
            if name == "iotad_alerts_total"
        )
        assert raised > 0
        tail_settings = _with_kafka(worker_settings, secured.client("SSL"))
        seen: list[Alert] = []
        tail_alerts(
            tail_settings,
            TailOptions(
                topics=(topics["alerts"],),
                from_beginning=True,
                max_alerts=int(raised),
                idle_timeout_s=30,
            ),
            lambda alert, _record: seen.append(alert),
            lambda reason, record: pytest.fail(f"invalid alert at {record}: {reason}"),
        )
        assert len(seen) == raised
        assert {a.source.topic for a in seen} == {topics["flows"]}
        _, outcome = promote_bundle(
            replay_settings, bundle, wait_s=60, verify=False, expected_replies=1
        )
        assert len(outcome.activated) == 1, outcome.replies
    finally:
        worker.stop()


def _with_kafka(settings: Settings, kafka: KafkaSettings) -> Settings:
    return settings.model_copy(update={"kafka": kafka})


# -- refused, with a clear error ------------------------------------------------------------------


def _env(kafka: KafkaSettings) -> dict[str, str]:
    env = {
        "IOTAD_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "IOTAD_KAFKA__SECURITY_PROTOCOL": kafka.security_protocol,
        "IOTAD_KAFKA__REQUEST_TIMEOUT_S": str(REFUSED_TIMEOUT_S),
    }
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "sasl_mechanism", "sasl_username"):
        value = getattr(kafka, name)
        if value is not None:
            env[f"IOTAD_KAFKA__{name.upper()}"] = str(value)
    for name in ("ssl_key_password", "sasl_password"):
        secret = getattr(kafka, name)
        if secret is not None:
            env[f"IOTAD_KAFKA__{name.upper()}"] = secret.get_secret_value()
    return env


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_a_wrong_password_is_refused_with_a_clear_cli_error(
    secured: SecuredBroker, monkeypatch: pytest.MonkeyPatch, mechanism: str
) -> None:
    wrong = secured.client("SASL_SSL", sasl_mechanism=mechanism, sasl_password="not-the-password")
    code, err = _cli(monkeypatch, _env(wrong), "kafka", "topics")
    assert code == ExitCode.BROKER
    assert f"authentication failed for user {USER} (SASL {mechanism})" in err
    assert "Traceback" not in err and "not-the-password" not in err


def test_a_worker_with_a_wrong_password_stops_at_start_up_with_a_clear_error(
    secured: SecuredBroker, monkeypatch: pytest.MonkeyPatch, bundle: Path, tmp_path: Path
) -> None:
    wrong = secured.client("SASL_SSL", sasl_password="not-the-password")
    env = {
        **_env(wrong),
        "IOTAD_STREAM__STATE_DIR": str(tmp_path / "state"),
        "IOTAD_STREAM__TRUSTED_KEYS": str(suite_public_key()),
    }
    code, err = _cli(monkeypatch, env, "stream", "worker", "--bundle", str(bundle))
    assert code == ExitCode.BROKER
    assert f"authentication failed for user {USER} (SASL SCRAM-SHA-512)" in err
    assert "Traceback" not in err


def test_a_wrong_password_is_refused_by_the_aiokafka_clients_too(secured: SecuredBroker) -> None:
    wrong = secured.client("SASL_SSL", sasl_password="not-the-password", request_timeout_s=5)
    sink = KafkaSink(wrong.bootstrap_servers, "any-topic", security=wrong)

    async def open_sink() -> None:
        async with sink:
            pytest.fail("the sink opened with a wrong password")

    with pytest.raises(BrokerError, match=r"authentication failed for user alice \(SASL SCRAM"):
        asyncio.run(open_sink())


def test_an_untrusted_broker_certificate_is_refused(
    secured: SecuredBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    untrusted = secured.client("SASL_SSL", ssl_cafile=secured.pki.untrusted_ca)
    code, err = _cli(monkeypatch, _env(untrusted), "kafka", "topics")
    assert code == ExitCode.BROKER
    assert "TLS certificate verification failed" in err and "Traceback" not in err
    sink = KafkaSink(untrusted.bootstrap_servers, "any-topic", security=untrusted)

    async def open_sink() -> None:
        async with sink:
            pytest.fail("the sink trusted an unknown CA")

    with pytest.raises(BrokerError, match="TLS certificate verification failed"):
        asyncio.run(open_sink())


@pytest.mark.parametrize("certificate", ["none", "untrusted"])
def test_the_ssl_listener_refuses_a_missing_or_untrusted_client_certificate(
    secured: SecuredBroker, certificate: str
) -> None:
    options: dict[str, Any] = {"ssl_certfile": None, "ssl_keyfile": None, "ssl_key_password": None}
    if certificate == "untrusted":
        options.update(
            ssl_certfile=secured.pki.untrusted_client_cert,
            ssl_keyfile=secured.pki.untrusted_client_key,
        )
    kafka = secured.client("SSL", **options)
    expected = "refused the client certificate" if options["ssl_certfile"] else "requires a client"
    with pytest.raises(BrokerError, match=expected):
        list_topics(kafka, timeout_s=REFUSED_TIMEOUT_S)


# -- nothing falls back to plaintext ------------------------------------------------------------


def test_a_secured_client_pointed_at_a_plaintext_listener_does_not_fall_back(
    secured: SecuredBroker, kafka_bootstrap: str
) -> None:
    """The session broker listens in plaintext only: a SASL_SSL client must refuse it, and the
    topic it tried to create must not exist there."""
    [(host, port)] = parse_bootstrap(kafka_bootstrap)
    kafka = secured.client("SASL_SSL", bootstrap_servers=f"{host}:{port}")
    name = unique_name("never-created")
    with pytest.raises(BrokerError, match="TLS handshake with .* failed"):
        ensure_topics(kafka, {name: 1}, timeout_s=REFUSED_TIMEOUT_S)
    assert name not in {t.name for t in list_topics(kafka_bootstrap)}
