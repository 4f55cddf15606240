"""Clear errors for Kafka connections that fail: unreachable, TLS refused, SASL refused.

The Kafka clients report a failed bootstrap as "Unable to bootstrap from …", whatever the cause.
When security is configured, :func:`connection_error` connects once more itself, with exactly
the client's TLS and SASL options (one aiokafka ``AIOKafkaConnection``), and turns what
that connection raises into a message that says what went wrong: the broker's certificate did
not verify, the broker refused the client certificate, the listener does not speak TLS, or the
broker refused the user name and password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl

from iotad.errors import BrokerError
from iotad.kafka_security import security_options, ssl_context
from iotad.settings import KafkaSettings

logger = logging.getLogger(__name__)

_CLIENT_CERT_ALERTS = (
    "BAD_CERTIFICATE",
    "CERTIFICATE_UNKNOWN",
    "CERTIFICATE_REQUIRED",
    "UNKNOWN_CA",
)
_CLOSED = (ConnectionError, EOFError, asyncio.IncompleteReadError)
_HINT = "start one with `iotad kafka up`, or set IOTAD_KAFKA__BOOTSTRAP_SERVERS"
_SECURITY_HINT = "check the IOTAD_KAFKA__SECURITY_PROTOCOL, …__SSL_* and …__SASL_* settings"


def _first_server(kafka: KafkaSettings) -> tuple[str, int]:
    entry = kafka.bootstrap_servers.split(",")[0].strip()
    host, _, port = entry.rpartition(":")
    return (host.strip("[]") or entry, int(port) if port.isdigit() else 9092)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _tls_message(kafka: KafkaSettings, server: str, error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        trusted = f"kafka.ssl_cafile={kafka.ssl_cafile}" if kafka.ssl_cafile else "the system CAs"
        return (
            f"TLS certificate verification failed for {server}: "
            f"{getattr(error, 'verify_message', None) or error} "
            f"(the broker's certificate is not trusted by {trusted}, or does not name the host)"
        )
    reason = str(getattr(error, "reason", None) or error)
    if any(alert in reason for alert in _CLIENT_CERT_ALERTS):
        if kafka.ssl_certfile is not None:
            return (
                f"the broker at {server} refused the client certificate "
                f"kafka.ssl_certfile={kafka.ssl_certfile} (TLS alert {reason})"
            )
        return (
            f"the broker at {server} requires a client certificate (TLS alert {reason}): "
            "set kafka.ssl_certfile and kafka.ssl_keyfile"
        )
    return (
        f"TLS handshake with {server} failed ({reason}): is it a TLS listener? "
        f"kafka.security_protocol is {kafka.security_protocol}"
    )


def check_tls(kafka: KafkaSettings) -> None:
    """With TLS configured, complete a TLS handshake with the first bootstrap server that
    accepts a connection, before a kafka-python client is made.

    kafka-python 3.0 leaks the socket of a failed handshake and reports it only as "Unable to
    bootstrap"; this check fails first, with the reason. Unreachable servers are left to the
    client to report.

    Raises
    ------
    BrokerError
        when the broker's certificate does not verify or the listener does not speak TLS.
    """
    context = ssl_context(kafka)
    if context is None:
        return
    timeout_s = min(kafka.request_timeout_s, 10.0)
    for entry in kafka.bootstrap_servers.split(","):
        host, _, port = entry.strip().rpartition(":")
        host = host.strip("[]")
        try:
            raw = socket.create_connection((host, int(port)), timeout=timeout_s)
        except (OSError, ValueError):
            continue
        try:
            with context.wrap_socket(raw, server_hostname=host):
                return
        except ssl.SSLError as exc:
            raise BrokerError(
                _tls_message(kafka, f"{host}:{port}", exc), hint=_SECURITY_HINT
            ) from exc
        except (ConnectionError, TimeoutError) as exc:
            raise BrokerError(
                _closed_message(kafka, f"{host}:{port}", exc), hint=_SECURITY_HINT
            ) from exc
        finally:
            raw.close()


def _closed_message(kafka: KafkaSettings, server: str, exc: BaseException) -> str:
    # A plaintext listener reads the TLS hello as a bogus request and hangs up.
    return (
        f"TLS handshake with {server} failed (the broker closed the connection: "
        f"{type(exc).__name__}): is it a TLS listener? kafka.security_protocol is "
        f"{kafka.security_protocol}"
    )


def describe_failure(kafka: KafkaSettings, exc: BaseException) -> str | None:
    """What ``exc`` (raised while connecting with ``kafka``) says about TLS or SASL, if anything."""
    host, port = _first_server(kafka)
    server = f"{host}:{port}"
    for error in _chain(exc):
        name = type(error).__name__
        said = str(error.args[0]) if error.args else str(error)  # the broker's own words
        if name.startswith("SaslAuthenticationFailed"):
            return (
                f"authentication failed for user {kafka.sasl_username} "
                f"(SASL {kafka.sasl_mechanism}) at {server}: {said}"
            )
        if name == "UnsupportedSaslMechanismError":
            return f"the broker at {server} does not accept SASL {kafka.sasl_mechanism}: {said}"
        if isinstance(error, ssl.SSLError):
            return _tls_message(kafka, server, error)
    return None


async def probe_connection(kafka: KafkaSettings) -> str | None:
    """Connect once to the first bootstrap server with ``kafka``'s security; None when that
    works (or cannot tell), else what went wrong (:func:`describe_failure`).

    The connection is closed, and its socket released, before this returns.
    """
    try:
        from aiokafka.conn import AIOKafkaConnection
        from aiokafka.errors import KafkaError
    except ImportError:  # the core install has kafka-python only
        return None
    host, port = _first_server(kafka)
    timeout_s = min(kafka.request_timeout_s, 10.0)
    opened: list[bool] = []
    connection = AIOKafkaConnection(
        host,
        port,
        request_timeout_ms=int(timeout_s * 1000),
        on_close=lambda *_: opened.append(True),  # called only for a connection that opened
        **security_options(kafka),
    )
    try:
        await asyncio.wait_for(connection.connect(), timeout=timeout_s)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, KafkaError) as exc:
        found = describe_failure(kafka, exc)
        if found is None and kafka.uses_tls and isinstance(exc, _CLOSED):
            found = _closed_message(kafka, f"{host}:{port}", exc)
        if found is None:
            logger.debug("connection probe to %s:%s failed: %r", host, port, exc)
        return found
    finally:
        closed = connection.close()
        if opened:  # wait for the transport (and its TLS shutdown) to let go of the socket
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(closed), timeout=timeout_s)
    return None


def _message(kafka: KafkaSettings, exc: BaseException, diagnosis: str | None) -> BrokerError:
    found = describe_failure(kafka, exc) or diagnosis
    if found is not None:
        return BrokerError(found, hint=_SECURITY_HINT)
    secured = "" if kafka.security_protocol == "PLAINTEXT" else f" over {kafka.security_protocol}"
    return BrokerError(
        f"no Kafka broker answers at {kafka.bootstrap_servers}{secured}: {exc}", hint=_HINT
    )


def connection_error(kafka: KafkaSettings, exc: BaseException) -> BrokerError:
    """The :class:`BrokerError` for a client of ``kafka`` that could not connect (sync code).

    With TLS or SASL configured it probes the broker to say why (see the module docstring).
    """
    diagnosis = None
    if kafka.security_protocol != "PLAINTEXT" and describe_failure(kafka, exc) is None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: the probe may run one
            diagnosis = asyncio.run(probe_connection(kafka))
        else:
            logger.debug("not probing %s from inside an event loop", kafka.bootstrap_servers)
    return _message(kafka, exc, diagnosis)


async def connection_error_async(kafka: KafkaSettings, exc: BaseException) -> BrokerError:
    """:func:`connection_error` for code that runs in an event loop."""
    diagnosis = None
    if kafka.security_protocol != "PLAINTEXT" and describe_failure(kafka, exc) is None:
        diagnosis = await probe_connection(kafka)
    return _message(kafka, exc, diagnosis)


__all__ = [
    "check_tls",
    "connection_error",
    "connection_error_async",
    "describe_failure",
    "probe_connection",
]
