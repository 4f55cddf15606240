"""Kafka client security from settings: validation, one set of options per client library,
secrets kept out of messages, and what a refused connection is reported as."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from support.tls import Pki, make_pki

from iotad.errors import ConfigError
from iotad.kafka_failures import describe_failure
from iotad.kafka_security import (
    aiokafka_options,
    faust_options,
    kafka_python_options,
    ssl_context,
)
from iotad.settings import KafkaSettings, child_environment, load_settings

SECRET = "s3cret-value"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _kafka(pki: Pki, protocol: str = "SASL_SSL", **options: Any) -> KafkaSettings:
    base: dict[str, Any] = {"bootstrap_servers": "h1:9094, h2:9094", "security_protocol": protocol}
    if protocol.endswith("SSL"):
        base["ssl_cafile"] = pki.ca
    if protocol.startswith("SASL"):
        base.update(sasl_mechanism="SCRAM-SHA-512", sasl_username="alice", sasl_password=SECRET)
    return KafkaSettings.model_validate({**base, **options})


def _load_error(**kafka: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides={"kafka": kafka})
    return str(info.value)


@pytest.mark.parametrize(
    ("kafka", "message"),
    [
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_username": "a"},
         "SASL_SSL needs kafka.sasl_password"),
        ({"security_protocol": "SASL_SSL"},
         "needs kafka.sasl_mechanism, kafka.sasl_username, kafka.sasl_password"),
        ({"sasl_username": "a", "sasl_password": SECRET},
         "kafka.sasl_username is set but kafka.security_protocol is PLAINTEXT"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "a",
          "sasl_password": SECRET, "ssl_check_hostname": True, "ssl_key_password": SECRET},
         "kafka.ssl_key_password is set but kafka.security_protocol is SASL_PLAINTEXT"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "a",
          "sasl_password": SECRET}, "kafka.sasl_mechanism"),
        ({"security_protocol": "TLS"}, "kafka.security_protocol"),
    ],
)  # fmt: skip
def test_incomplete_or_contradictory_security_names_the_field(
    kafka: dict[str, Any], message: str
) -> None:
    error = _load_error(**kafka)
    assert message in error
    assert SECRET not in error


def test_tls_files_must_exist_and_certificate_needs_its_key(pki: Pki, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    error = _load_error(security_protocol="SSL", ssl_cafile=str(missing))
    assert f"kafka.ssl_cafile: no such file '{missing}'" in error
    error = _load_error(security_protocol="SSL", ssl_certfile=str(pki.client_cert))
    assert "kafka.ssl_certfile and kafka.ssl_keyfile go together" in error


def test_secrets_stay_out_of_reprs_and_dumps(pki: Pki) -> None:
    kafka = _kafka(pki, ssl_key_password=None)
    assert SECRET not in repr(kafka) and SECRET not in str(kafka.model_dump())


def test_the_child_process_environment_carries_the_secrets(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(overrides={"kafka": _kafka(pki).model_dump()})
    env = child_environment(settings)
    assert env["IOTAD_KAFKA__SASL_PASSWORD"] == SECRET
    assert env["IOTAD_KAFKA__SECURITY_PROTOCOL"] == "SASL_SSL"
    for key, value in env.items():
        if key.startswith("IOTAD_"):
            monkeypatch.setenv(key, value)
    assert load_settings().kafka == settings.kafka


def test_sasl_ssl_options_verify_the_broker_and_authenticate(pki: Pki) -> None:
    options = aiokafka_options(_kafka(pki), "replay")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("alice", SECRET)
    assert options["client_id"] == "iotad-replay"
    python = kafka_python_options(_kafka(pki), "admin")
    assert python["bootstrap_servers"] == ["h1:9094", "h2:9094"]
    assert python["security_protocol"] == "SASL_SSL" and "ssl_context" in python


def test_plaintext_is_explicit_and_carries_no_credentials() -> None:
    options = kafka_python_options(KafkaSettings(), "tail")
    assert options["security_protocol"] == "PLAINTEXT"
    assert not {"ssl_context", "sasl_mechanism", "sasl_plain_password"} & options.keys()


def test_client_certificate_with_its_key_password(pki: Pki) -> None:
    kafka = _kafka(
        pki,
        "SSL",
        ssl_certfile=pki.client_cert,
        ssl_keyfile=pki.client_key,
        ssl_key_password=pki.client_key_password,
    )
    assert ssl_context(kafka) is not None
    wrong = kafka.model_copy(update={"ssl_key_password": None})
    with pytest.raises(ConfigError, match="cannot load the client certificate") as info:
        ssl_context(wrong)
    assert "kafka.ssl_key_password" in (info.value.hint or "")


def test_a_ca_file_without_certificates_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    kafka = KafkaSettings(security_protocol="SSL", ssl_cafile=bogus)
    with pytest.raises(ConfigError, match="kafka.ssl_cafile"):
        ssl_context(kafka)


def test_faust_gets_credentials_for_each_protocol(pki: Pki) -> None:
    import faust

    sasl_ssl = faust_options(_kafka(pki))
    assert sasl_ssl["broker"] == ["kafka://h1:9094", "kafka://h2:9094"]
    credentials = sasl_ssl["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("alice", SECRET)
    sasl_plain = faust_options(_kafka(pki, "SASL_PLAINTEXT", ssl_cafile=None))
    assert sasl_plain["broker_credentials"].protocol.value == "SASL_PLAINTEXT"
    tls = faust_options(_kafka(pki, "SSL"))["broker_credentials"]
    assert isinstance(tls, faust.SSLCredentials) and tls.protocol.value == "SSL"
    assert "broker_credentials" not in faust_options(KafkaSettings())


def test_the_worker_app_config_carries_the_credentials(pki: Pki) -> None:
    from iotad.stream.app import faust_config

    settings = load_settings(overrides={"kafka": _kafka(pki).model_dump()})
    config = faust_config(settings)
    assert config["broker_credentials"].protocol.value == "SASL_SSL"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SaslAuthenticationFailed("Authentication failed: Invalid username or password"),
         "authentication failed for user alice (SASL SCRAM-SHA-512) at h1:9094"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"),
         "TLS certificate verification failed for h1:9094"),
        (ssl.SSLError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate"),
         "the broker at h1:9094 requires a client certificate"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
         "TLS handshake with h1:9094 failed"),
    ],
)  # fmt: skip
def test_refused_connections_are_described(pki: Pki, error: BaseException, expected: str) -> None:
    wrapped = KafkaConnectionError("Connection at h1:9094 closed")
    wrapped.__cause__ = error
    assert expected in (describe_failure(_kafka(pki), wrapped) or "")


def test_an_unexplained_failure_is_not_guessed(pki: Pki) -> None:
    assert describe_failure(_kafka(pki), KafkaConnectionError("Unable to bootstrap")) is None


def test_the_demo_keeps_security_only_for_a_broker_it_did_not_start(
    pki: Pki, tmp_path: Path
) -> None:
    from iotad.demo.runner import demo_settings

    base = load_settings(overrides={"kafka": _kafka(pki).model_dump()})
    own = demo_settings(base, "127.0.0.1:1234", tmp_path, "r1", own_topics=True)
    assert own.kafka.security_protocol == "PLAINTEXT" and own.kafka.sasl_password is None
    assert own.kafka.bootstrap_servers == "127.0.0.1:1234"
    external = demo_settings(base, "broker:9094", tmp_path, "r2", own_topics=False, secured=True)
    assert external.kafka.security_protocol == "SASL_SSL"
    assert external.kafka.sasl_password == base.kafka.sasl_password
    assert external.kafka.bootstrap_servers == "broker:9094"


def test_the_admin_clients_debug_log_of_its_config_hides_passwords(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from iotad.broker.admin import _redact_admin_log

    _redact_admin_log()
    _redact_admin_log()  # once is enough; twice adds nothing
    admin_log = logging.getLogger("kafka.admin.client")
    assert len(admin_log.filters) == 1
    with caplog.at_level(logging.DEBUG, logger="kafka.admin.client"):
        admin_log.debug("configuration: %s", {"sasl_plain_password": SECRET, "client_id": "x"})
    assert SECRET not in caplog.text and "'client_id': 'x'" in caplog.text
