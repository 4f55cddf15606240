"""The local broker's secured listeners: TLS and SASL properties, SCRAM users, readiness probe.

Kafka 3.9 reads PEM directly (``ssl.keystore.type=PEM``), so no keytool or JKS is needed: the
broker's key and certificate chain are joined into one keystore file in its config dir, and the
CA file is its truststore. PLAIN users are listed in each SASL listener's JAAS line (the config
file is readable by its owner only); SCRAM users are created by the storage tool when the KRaft
log dir is formatted (``--add-scram``), so their passwords never appear in a config file.
"""

from __future__ import annotations

from pathlib import Path

from iotad.settings import BrokerSecuritySettings, BrokerSettings, KafkaSettings

_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"

#: The order in which a listener is picked for inter-broker traffic and the readiness probe.
_PREFERENCE = ("PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT")


def primary_listener(settings: BrokerSettings) -> tuple[str, int]:
    """The listener used between brokers and by the readiness probe: name and port."""
    ports = settings.listener_ports
    name = next(n for n in _PREFERENCE if n in ports)
    return name, ports[name]


def keystore_path(config_dir: Path) -> Path:
    """Where the broker's PEM keystore (key, then certificate chain) is written."""
    return config_dir / "keystore.pem"


def write_keystore(security: BrokerSecuritySettings, config_dir: Path) -> Path | None:
    """Join the broker's key and certificate chain into its PEM keystore (mode 0600)."""
    if security.ssl_keyfile is None or security.ssl_certfile is None:
        return None
    path = keystore_path(config_dir)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    key = security.ssl_keyfile.read_text().strip()
    chain = security.ssl_certfile.read_text().strip()
    path.write_text(f"{key}\n{chain}\n")
    return path


def _jaas(mechanism: str, security: BrokerSecuritySettings, *, inter_broker: bool) -> str:
    """The JAAS line of one SASL mechanism on one listener."""
    users = security.sasl_users
    first = next(iter(users))
    own = (
        f' username="{first}" password="{users[first].get_secret_value()}"' if inter_broker else ""
    )
    if mechanism == "PLAIN":
        listed = "".join(f' user_{name}="{pw.get_secret_value()}"' for name, pw in users.items())
        return f"{_PLAIN_MODULE} required{own}{listed};"
    return f"{_SCRAM_MODULE} required{own};"


def security_properties(settings: BrokerSettings, config_dir: Path) -> dict[str, str]:
    """TLS and SASL properties of the secured listeners (empty when there is none)."""
    security = settings.security
    ports = security.secured_ports
    if not ports:
        return {}
    inter_broker, _ = primary_listener(settings)
    values: dict[str, str] = {}
    if {"SSL", "SASL_SSL"} & ports.keys():
        values.update(
            {
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(keystore_path(config_dir)),
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(security.ssl_cafile),
                "ssl.endpoint.identification.algorithm": "https",
                "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
            }
        )
        if security.ssl_key_password is not None:
            values["ssl.key.password"] = security.ssl_key_password.get_secret_value()
    if "SSL" in ports:
        values["listener.name.ssl.ssl.client.auth"] = security.ssl_client_auth
    mechanisms = ",".join(security.sasl_mechanisms)
    for listener in ("SASL_SSL", "SASL_PLAINTEXT"):
        if listener not in ports:
            continue
        prefix = f"listener.name.{listener.lower()}"
        values[f"{prefix}.sasl.enabled.mechanisms"] = mechanisms
        if listener == "SASL_SSL":
            values[f"{prefix}.ssl.client.auth"] = "none"
        for mechanism in security.sasl_mechanisms:
            own = inter_broker == listener and mechanism == security.sasl_mechanisms[0]
            values[f"{prefix}.{mechanism.lower()}.sasl.jaas.config"] = _jaas(
                mechanism, security, inter_broker=own
            )
    if ports.keys() & {"SASL_SSL", "SASL_PLAINTEXT"}:
        values["sasl.enabled.mechanisms"] = mechanisms
        values["sasl.mechanism.inter.broker.protocol"] = security.sasl_mechanisms[0]
    return values


def scram_arguments(security: BrokerSecuritySettings) -> list[str]:
    """``--add-scram`` arguments of the storage tool: every user, every SCRAM mechanism."""
    if not {"SASL_SSL", "SASL_PLAINTEXT"} & security.secured_ports.keys():
        return []
    arguments: list[str] = []
    for mechanism in security.sasl_mechanisms:
        if not mechanism.startswith("SCRAM-"):
            continue
        for name, password in security.sasl_users.items():
            entry = f"{mechanism}=[name={name},password={password.get_secret_value()}]"
            arguments.extend(["--add-scram", entry])
    return arguments


def probe_client(settings: BrokerSettings) -> KafkaSettings:
    """How the readiness probe reaches the broker: its primary listener, with the broker's own
    certificate as client certificate (SSL) or its first user (SASL)."""
    name, port = primary_listener(settings)
    security = settings.security
    options: dict[str, object] = {
        "bootstrap_servers": f"{settings.host}:{port}",
        "client_id": "iotad-broker-probe",
        "security_protocol": name,
    }
    if name in ("SSL", "SASL_SSL"):
        options["ssl_cafile"] = security.ssl_cafile
    if name == "SSL":
        options.update(
            ssl_certfile=security.ssl_certfile,
            ssl_keyfile=security.ssl_keyfile,
            ssl_key_password=security.ssl_key_password,
        )
    if name.startswith("SASL_"):
        user = next(iter(security.sasl_users))
        options.update(
            sasl_mechanism=security.sasl_mechanisms[0],
            sasl_username=user,
            sasl_password=security.sasl_users[user],
        )
    return KafkaSettings.model_validate(options)


__all__ = [
    "keystore_path",
    "primary_listener",
    "probe_client",
    "scram_arguments",
    "security_properties",
    "write_keystore",
]
