"""The local broker's secured listeners: settings checks, properties, SCRAM users, probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotad.broker.security import (
    primary_listener,
    probe_client,
    scram_arguments,
    security_properties,
    write_keystore,
)
from iotad.broker.server_config import server_properties
from iotad.errors import ConfigError
from iotad.settings import BrokerSettings, load_settings


@pytest.fixture
def pem_files(tmp_path: Path) -> dict[str, str]:
    """Stand-in PEM files (the settings check that they exist; the broker reads them)."""
    files = {}
    for name, text in {"cert": "CERT", "key": "KEY", "ca": "CA"}.items():
        path = tmp_path / f"{name}.pem"
        path.write_text(f"-----BEGIN {text}-----\nxx\n-----END {text}-----\n")
        files[name] = str(path)
    return files


def _secured(pem: dict[str, str], **security: object) -> BrokerSettings:
    base = {
        "ssl_certfile": pem["cert"],
        "ssl_keyfile": pem["key"],
        "ssl_cafile": pem["ca"],
        "sasl_users": {"alice": "a-secret", "bob": "b-secret"},
    }
    return BrokerSettings.model_validate(
        {"port": 29092, "controller_port": 29093, "security": {**base, **security}}
    )


def test_listeners_ssl_and_sasl_ssl_without_plaintext(
    pem_files: dict[str, str], tmp_path: Path
) -> None:
    settings = _secured(pem_files, plaintext=False, ssl_port=29094, sasl_ssl_port=29095)
    props = server_properties(settings, tmp_path / "kraft", tmp_path / "config")
    assert props["listeners"] == (
        "SSL://127.0.0.1:29094,SASL_SSL://127.0.0.1:29095,CONTROLLER://127.0.0.1:29093"
    )
    assert props["advertised.listeners"] == "SSL://127.0.0.1:29094,SASL_SSL://127.0.0.1:29095"
    assert props["listener.security.protocol.map"] == (
        "SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    )
    assert props["inter.broker.listener.name"] == "SSL"
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(tmp_path / "config" / "keystore.pem")
    assert props["ssl.truststore.location"] == pem_files["ca"]
    assert props["listener.name.ssl.ssl.client.auth"] == "required"
    assert props["listener.name.sasl_ssl.ssl.client.auth"] == "none"
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "PLAIN,SCRAM-SHA-512"
    plain = props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert plain.endswith('required user_alice="a-secret" user_bob="b-secret";')
    scram = props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert scram == "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def test_plaintext_stays_the_primary_listener_when_kept(pem_files: dict[str, str]) -> None:
    settings = _secured(pem_files, sasl_ssl_port=29095)
    assert settings.listener_ports == {"PLAINTEXT": 29092, "SASL_SSL": 29095}
    assert primary_listener(settings) == ("PLAINTEXT", 29092)


def test_sasl_inter_broker_listener_carries_the_brokers_own_login(
    pem_files: dict[str, str], tmp_path: Path
) -> None:
    settings = _secured(pem_files, plaintext=False, sasl_plaintext_port=29096)
    props = security_properties(settings, tmp_path)
    assert props["sasl.mechanism.inter.broker.protocol"] == "PLAIN"
    jaas = props["listener.name.sasl_plaintext.plain.sasl.jaas.config"]
    assert 'username="alice" password="a-secret"' in jaas
    assert "ssl.keystore.location" not in props  # no TLS listener, no keystore


def test_scram_users_for_every_scram_mechanism(pem_files: dict[str, str]) -> None:
    settings = _secured(
        pem_files, sasl_ssl_port=29095, sasl_mechanisms=["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
    )
    arguments = scram_arguments(settings.security)
    assert arguments[::2] == ["--add-scram"] * 4
    assert set(arguments[1::2]) == {
        f"{m}=[name={u},password={p}]"
        for m in ("SCRAM-SHA-256", "SCRAM-SHA-512")
        for u, p in (("alice", "a-secret"), ("bob", "b-secret"))
    }
    assert scram_arguments(_secured(pem_files, ssl_port=29094).security) == []


def test_keystore_joins_key_and_chain_owner_only(pem_files: dict[str, str], tmp_path: Path) -> None:
    path = write_keystore(_secured(pem_files, ssl_port=29094).security, tmp_path)
    assert path is not None
    text = path.read_text()
    assert text.index("BEGIN KEY") < text.index("BEGIN CERT")
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("listener", "expected"),
    [
        ({"ssl_port": 29094}, {"security_protocol": "SSL", "sasl_username": None}),
        ({"sasl_ssl_port": 29095}, {"security_protocol": "SASL_SSL", "sasl_username": "alice"}),
    ],
)
def test_readiness_probe_uses_the_primary_secured_listener(
    pem_files: dict[str, str], listener: dict[str, int], expected: dict[str, object]
) -> None:
    probe = probe_client(_secured(pem_files, plaintext=False, **listener))
    assert probe.bootstrap_servers == f"127.0.0.1:{next(iter(listener.values()))}"
    for name, value in expected.items():
        assert getattr(probe, name) == value
    assert str(probe.ssl_cafile) == pem_files["ca"]


@pytest.mark.parametrize(
    ("security", "message"),
    [
        ({"plaintext": False}, "no secured listener is set"),
        ({"ssl_port": 29094, "ssl_cafile": None}, "needs broker.security.ssl_cafile"),
        ({"sasl_ssl_port": 29095, "sasl_users": {}}, "needs broker.security.sasl_users"),
        ({"sasl_ssl_port": 29095, "sasl_users": {"eve": 'a"b'}}, "user 'eve'"),
        ({"ssl_port": 29093}, "broker.security.ssl_port and broker.controller_port must differ"),
        ({"ssl_certfile": "/nonexistent/cert.pem"}, "broker.security.ssl_certfile: no such file"),
    ],
)
def test_invalid_broker_security_names_the_field(
    pem_files: dict[str, str], security: dict[str, object], message: str
) -> None:
    base = {
        "ssl_certfile": pem_files["cert"],
        "ssl_keyfile": pem_files["key"],
        "ssl_cafile": pem_files["ca"],
        "sasl_users": {"alice": "a-secret"},
    }
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as info:
        load_settings(
            overrides={
                "broker": {
                    "port": 29092,
                    "controller_port": 29093,
                    "security": {**base, **security},
                }
            }
        )
    assert "a-secret" not in str(info.value) and 'a"b' not in str(info.value)
