"""The security sections of the settings: how Kafka clients authenticate (``kafka.*``) and the
local broker's secured listeners (``broker.security.*``). :mod:`iotad.settings` re-exports them;
import them from there. See docs/kafka.md, "Secured Kafka".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class Section(BaseModel):
    """Base of every settings section: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _existing_file(value: Path | None, field: str) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError(f"{field}: no such file {str(value)!r}")
    return value


class KafkaSettings(Section):
    """How every client reaches Kafka, including TLS and SASL (see docs/kafka.md).

    ``security_protocol`` is what every client uses; nothing falls back to plaintext. TLS
    (``SSL``, ``SASL_SSL``) verifies the broker's certificate against ``ssl_cafile`` (or the
    system's CAs) and its host name; ``ssl_certfile``/``ssl_keyfile`` add a client certificate.
    SASL (``SASL_SSL``, ``SASL_PLAINTEXT``) needs a mechanism, user name and password.
    """

    # Defaults to the local broker's broker.host:broker.port (see Settings).
    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "iotad"
    request_timeout_s: float = Field(default=30.0, gt=0)
    security_protocol: SecurityProtocol = "PLAINTEXT"
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None

    @field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile")
    @classmethod
    def _file_exists(cls, value: Path | None, info: Any) -> Path | None:
        return _existing_file(value, f"kafka.{info.field_name}")

    @property
    def uses_tls(self) -> bool:
        """True for ``SSL`` and ``SASL_SSL``."""
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        """True for ``SASL_SSL`` and ``SASL_PLAINTEXT``."""
        return self.security_protocol in ("SASL_SSL", "SASL_PLAINTEXT")

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaSettings:
        protocol = self.security_protocol
        if self.uses_sasl:
            missing = [
                f"kafka.{name}"
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"kafka.security_protocol {protocol} needs {', '.join(missing)} "
                    "(mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, user name and password)"
                )
        else:
            given = [
                n
                for n in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, n) is not None
            ]
            if given:
                raise ValueError(
                    f"kafka.{given[0]} is set but kafka.security_protocol is {protocol}, which "
                    "does not authenticate with SASL: set kafka.security_protocol to SASL_SSL"
                )
        if not self.uses_tls:
            given = [
                n
                for n in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_key_password")
                if getattr(self, n) is not None
            ]
            if given:
                raise ValueError(
                    f"kafka.{given[0]} is set but kafka.security_protocol is {protocol}, which "
                    "does not use TLS: set kafka.security_protocol to SSL or SASL_SSL"
                )
        given_one = "ssl_certfile" if self.ssl_keyfile is None else "ssl_keyfile"
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(
                "kafka.ssl_certfile and kafka.ssl_keyfile go together (a client certificate "
                f"needs its key); got only kafka.{given_one}"
            )
        if self.ssl_key_password is not None and self.ssl_keyfile is None:
            raise ValueError("kafka.ssl_key_password is set but kafka.ssl_keyfile is not")
        return self


# Characters a local broker's SASL user name or password may not hold: they would break the
# broker's JAAS line or the storage tool's --add-scram syntax.
_SASL_FORBIDDEN = frozenset('"\\,=[]\n\r ')


class BrokerSecuritySettings(Section):
    """Secured client listeners of the local broker (``iotad kafka up``, the secured tests).

    Off by default: one PLAINTEXT listener on ``broker.port``. ``ssl_port`` adds a TLS
    listener that requires a client certificate signed by ``ssl_cafile`` (``ssl_client_auth``);
    ``sasl_ssl_port`` a TLS listener with SASL (``sasl_mechanisms`` for every user of
    ``sasl_users``); ``sasl_plaintext_port`` SASL without TLS. ``plaintext=false`` removes the
    PLAINTEXT listener. PLAIN users live in the broker's JAAS configuration; SCRAM users are
    created with Kafka's storage tool when the data dir is formatted (a formatted data dir keeps
    the users it was formatted with).
    """

    plaintext: bool = True
    ssl_port: int | None = Field(default=None, ge=1, le=65535)
    sasl_ssl_port: int | None = Field(default=None, ge=1, le=65535)
    sasl_plaintext_port: int | None = Field(default=None, ge=1, le=65535)
    # PEM: the broker's certificate (chain), its PKCS#8 key, and the CA(s) the broker trusts
    # for client certificates, which must also verify the broker's own certificate (the
    # readiness probe checks the broker with it).
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_client_auth: Literal["required", "requested", "none"] = "required"
    sasl_mechanisms: tuple[SaslMechanism, ...] = ("PLAIN", "SCRAM-SHA-512")
    sasl_users: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile")
    @classmethod
    def _file_exists(cls, value: Path | None, info: Any) -> Path | None:
        return _existing_file(value, f"broker.security.{info.field_name}")

    @property
    def secured_ports(self) -> dict[str, int]:
        """The secured listeners' ports by listener name (``SSL``, ``SASL_SSL``, …)."""
        ports = {
            "SSL": self.ssl_port,
            "SASL_SSL": self.sasl_ssl_port,
            "SASL_PLAINTEXT": self.sasl_plaintext_port,
        }
        return {name: port for name, port in ports.items() if port is not None}

    @model_validator(mode="after")
    def _listeners_are_complete(self) -> BrokerSecuritySettings:
        ports = self.secured_ports
        if not self.plaintext and not ports:
            raise ValueError(
                "broker.security.plaintext is false and no secured listener is set: "
                "set broker.security.ssl_port, sasl_ssl_port or sasl_plaintext_port"
            )
        tls = {"SSL", "SASL_SSL"} & ports.keys()
        if tls:
            missing = [
                f"broker.security.{name}"
                for name in ("ssl_certfile", "ssl_keyfile", "ssl_cafile")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"the {'/'.join(sorted(tls))} listener needs {', '.join(missing)}")
        if {"SASL_SSL", "SASL_PLAINTEXT"} & ports.keys():
            if not self.sasl_users or not self.sasl_mechanisms:
                raise ValueError(
                    "a SASL listener needs broker.security.sasl_users (name: password) and "
                    "broker.security.sasl_mechanisms"
                )
            for name, password in self.sasl_users.items():
                if (
                    not name
                    or not password.get_secret_value()
                    or _SASL_FORBIDDEN & set(name + password.get_secret_value())
                ):
                    raise ValueError(
                        f"broker.security.sasl_users: user {name!r} has an empty name or "
                        'password, or one holding a space, " \\ , = [ ] or a line break'
                    )
        return self


__all__ = [
    "BrokerSecuritySettings",
    "KafkaSettings",
    "SaslMechanism",
    "Section",
    "SecurityProtocol",
]
