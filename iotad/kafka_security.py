"""The one place that turns :class:`~iotad.settings.KafkaSettings` into client options.

Every Kafka client of the product gets its connection and security options from here:
aiokafka (worker output, model-control listener, replay and any ``KafkaSink``),
kafka-python (admin, topic checks, alert tail, model control) and Faust (the worker's consumer
and producer). The options always carry ``security_protocol`` explicitly, so a client
configured for TLS or SASL can never quietly connect in plaintext.

TLS uses one :class:`ssl.SSLContext` built from the settings: the broker's certificate is
verified against ``ssl_cafile`` (or the system's CAs) with its host name checked, and
``ssl_certfile``/``ssl_keyfile`` (optionally encrypted, ``ssl_key_password``) add a client
certificate.
"""

from __future__ import annotations

import ssl
from typing import Any

from iotad.errors import ConfigError
from iotad.settings import KafkaSettings


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of ``kafka`` (None unless it uses ``SSL`` or ``SASL_SSL``).

    Raises
    ------
    ConfigError
        when the CA file or the client certificate and key cannot be loaded (wrong format,
        key not matching, wrong key password), naming the setting.
    """
    if not kafka.uses_tls:
        return None
    cafile = str(kafka.ssl_cafile) if kafka.ssl_cafile is not None else None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"kafka.ssl_cafile {cafile!r} holds no usable CA certificate: {exc}",
            hint="give a PEM file with the CA certificate(s) that signed the broker's certificate",
        ) from exc
    context.check_hostname = kafka.ssl_check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if kafka.ssl_certfile is not None and kafka.ssl_keyfile is not None:
        secret = kafka.ssl_key_password
        # Never None: OpenSSL would then ask for the password on the terminal.
        password = secret.get_secret_value() if secret is not None else ""
        try:
            context.load_cert_chain(
                str(kafka.ssl_certfile), str(kafka.ssl_keyfile), password=lambda: password
            )
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"cannot load the client certificate kafka.ssl_certfile={kafka.ssl_certfile} "
                f"with kafka.ssl_keyfile={kafka.ssl_keyfile}: "
                f"{getattr(exc, 'reason', None) or exc}",
                hint="both must be PEM, the key must match the certificate, and an encrypted "
                "key needs the right kafka.ssl_key_password",
            ) from exc
    return context


def security_options(kafka: KafkaSettings) -> dict[str, Any]:
    """``security_protocol``, ``ssl_context`` and the SASL options, as aiokafka and kafka-python
    both name them."""
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    context = ssl_context(kafka)
    if context is not None:
        options["ssl_context"] = context
    if kafka.uses_sasl and kafka.sasl_password is not None:
        options.update(
            sasl_mechanism=kafka.sasl_mechanism,
            sasl_plain_username=kafka.sasl_username,
            sasl_plain_password=kafka.sasl_password.get_secret_value(),
        )
    return options


def aiokafka_options(kafka: KafkaSettings, client: str) -> dict[str, Any]:
    """Keyword arguments for an aiokafka producer or consumer: bootstrap servers, client id
    ``<kafka.client_id>-<client>``, request timeout and security.

    Examples
    --------
    >>> options = aiokafka_options(settings.kafka, "worker-output")  # doctest: +SKIP
    >>> producer = AIOKafkaProducer(acks="all", **options)  # doctest: +SKIP
    """
    return {
        "bootstrap_servers": kafka.bootstrap_servers,
        "client_id": f"{kafka.client_id}-{client}",
        "request_timeout_ms": int(kafka.request_timeout_s * 1000),
        **security_options(kafka),
    }


def kafka_python_options(kafka: KafkaSettings, client: str) -> dict[str, Any]:
    """Keyword arguments for a kafka-python client (consumer, producer, admin): bootstrap
    servers as a list, client id ``<kafka.client_id>-<client>``, request timeout (also the
    longest wait for the first connection), security."""
    timeout_ms = int(kafka.request_timeout_s * 1000)
    return {
        "bootstrap_servers": [s.strip() for s in kafka.bootstrap_servers.split(",")],
        "client_id": f"{kafka.client_id}-{client}",
        "request_timeout_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
        **security_options(kafka),
    }


def faust_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Faust app settings: the broker URLs, client id and ``broker_credentials``.

    Faust hands ``broker_credentials`` to its aiokafka consumer and producer: SSL (with a client
    certificate, when configured) as :class:`faust.SSLCredentials`, SASL as
    :class:`faust.SASLCredentials` (over TLS when ``SASL_SSL``).
    """
    import faust

    options: dict[str, Any] = {
        "broker": [f"kafka://{host.strip()}" for host in kafka.bootstrap_servers.split(",")],
        "broker_client_id": kafka.client_id,
    }
    context = ssl_context(kafka)
    if kafka.uses_sasl and kafka.sasl_password is not None:
        options["broker_credentials"] = faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=kafka.sasl_mechanism,
        )
    elif context is not None:
        options["broker_credentials"] = faust.SSLCredentials(context)
    return options


__all__ = [
    "aiokafka_options",
    "faust_options",
    "kafka_python_options",
    "security_options",
    "ssl_context",
]
