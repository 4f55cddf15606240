"""Kafka admin connections (kafka-python) and the "does the broker answer?" probe."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from iotad.errors import BrokerError
from iotad.kafka_failures import check_tls, connection_error
from iotad.kafka_security import kafka_python_options
from iotad.settings import KafkaSettings

logger = logging.getLogger(__name__)


class _RedactPasswords(logging.Filter):
    """kafka-python's admin client logs its whole configuration at DEBUG: hide the passwords."""

    def filter(self, record: logging.LogRecord) -> bool:
        # logging keeps a lone dict argument as record.args itself
        if isinstance(record.args, dict):
            record.args = _redacted(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) if isinstance(a, dict) else a for a in record.args)
        return True


def _redacted(config: dict[str, Any]) -> dict[str, Any]:
    return {k: "**********" if "password" in str(k) else v for k, v in config.items()}


def _redact_admin_log() -> None:
    admin_log = logging.getLogger("kafka.admin.client")
    if not any(isinstance(f, _RedactPasswords) for f in admin_log.filters):
        admin_log.addFilter(_RedactPasswords())


class _AdminClient(KafkaAdminClient):  # type: ignore[misc]
    """A :class:`KafkaAdminClient` that releases its I/O thread when bootstrapping fails."""

    def __init__(self, **configs: Any) -> None:
        try:
            super().__init__(**configs)
        except KafkaError:
            for name in ("_client", "_net", "_metrics"):
                part = getattr(self, name, None)
                if part is not None:
                    (part.stop if name == "_net" else part.close)()
            raise


#: A broker to reach: bootstrap servers (plaintext), or Kafka client settings with security.
KafkaTarget = str | KafkaSettings


def as_kafka(target: KafkaTarget) -> KafkaSettings:
    """``target`` as client settings: a ``"host:port"`` string means plaintext, defaults."""
    return target if isinstance(target, KafkaSettings) else KafkaSettings(bootstrap_servers=target)


@contextmanager
def admin_client(
    target: KafkaTarget, *, timeout_s: float = 10.0, client_id: str = "iotad-admin"
) -> Iterator[KafkaAdminClient]:
    """An admin client connected to ``target`` (with its TLS/SASL settings), closed on exit.

    Raises
    ------
    BrokerError
        when no broker answers within ``timeout_s``, or TLS or SASL authentication fails
        (:func:`iotad.kafka_failures.connection_error` says which).
    """
    kafka = as_kafka(target)
    timeout_ms = max(1, int(timeout_s * 1000))
    require_broker(kafka)
    options = kafka_python_options(kafka, "admin")
    _redact_admin_log()
    try:
        client = _AdminClient(
            **{
                **options,
                "client_id": client_id,
                "bootstrap_timeout_ms": timeout_ms,
                "request_timeout_ms": max(timeout_ms, 5000),
            }
        )
    except KafkaError as exc:
        raise connection_error(kafka, exc) from exc
    try:
        yield client
    finally:
        client.close()


def require_listener(bootstrap_servers: str) -> None:
    """Fail fast, with a hint, when nothing listens on any of ``bootstrap_servers``."""
    if not any(port_accepts(host, port) for host, port in parse_bootstrap(bootstrap_servers)):
        raise BrokerError(
            f"no Kafka broker listens at {bootstrap_servers}",
            hint="start one with `iotad kafka up`, or set IOTAD_KAFKA__BOOTSTRAP_SERVERS",
        )


def require_broker(kafka: KafkaSettings) -> None:
    """Before a kafka-python client is made: something listens (:func:`require_listener`) and,
    with TLS, the handshake succeeds (:func:`iotad.kafka_failures.check_tls`)."""
    require_listener(kafka.bootstrap_servers)
    check_tls(kafka)


def parse_bootstrap(bootstrap_servers: str) -> list[tuple[str, int]]:
    """``"h1:9092,h2:9093"`` → ``[("h1", 9092), ("h2", 9093)]`` (port 9092 when omitted).

    Raises
    ------
    BrokerError
        for an entry whose port is not a number.
    """
    servers = []
    for entry in bootstrap_servers.split(","):
        host, _, port = entry.strip().rpartition(":")
        if not host:
            host, port = port, "9092"
        if not port.isdigit():
            raise BrokerError(f"bad bootstrap server {entry.strip()!r}: expected host:port")
        servers.append((host.strip("[]"), int(port)))
    return servers


def port_accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def broker_answers(
    host: str, port: int, timeout_s: float = 2.0, *, security: KafkaSettings | None = None
) -> bool:
    """True when a Kafka broker on ``host:port`` answers a metadata request (over the TLS/SASL
    of ``security``, whose bootstrap servers are replaced by ``host:port``)."""
    if not port_accepts(host, port):
        return False
    target: KafkaTarget = f"{host}:{port}"
    if security is not None:
        target = security.model_copy(update={"bootstrap_servers": target})
    try:
        with admin_client(target, timeout_s=timeout_s) as client:
            client.describe_cluster()
    except (BrokerError, KafkaError) as exc:
        logger.debug("broker on %s:%s does not answer yet: %s", host, port, exc)
        return False
    return True


def quiet_client_logs() -> None:
    """Keep the Kafka clients' connection chatter out of the CLI's logs (shown at DEBUG).

    kafka-python logs every connection at INFO and every refused one (TLS, SASL) at ERROR;
    aiokafka logs each failed connection attempt at ERROR. iotad reports a broker it cannot
    reach or that refuses it, or a failed delivery, itself, in one line.
    """
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


__all__ = [
    "KafkaTarget",
    "admin_client",
    "as_kafka",
    "broker_answers",
    "parse_bootstrap",
    "port_accepts",
    "quiet_client_logs",
    "require_broker",
    "require_listener",
]
