"""Certificates for secured-Kafka tests, generated with ``cryptography`` (no keytool).

:func:`make_pki` writes, as PEM files: a CA, a broker certificate for ``127.0.0.1`` and
``localhost`` signed by it (key and chain in one keystore file, which Kafka reads with
``ssl.keystore.type=PEM``), a client certificate signed by the same CA (its key optionally
encrypted with a password), and a second, untrusted CA with a client certificate of its own.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Issued:
    """A key and its certificate, in memory."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


@dataclass(frozen=True)
class Pki:
    """The PEM files of one test PKI."""

    ca: Path
    broker_keystore: Path
    broker_cert: Path
    broker_key: Path
    client_cert: Path
    client_key: Path
    client_key_password: str
    untrusted_ca: Path
    untrusted_client_cert: Path
    untrusted_client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
    )


def make_ca(common_name: str) -> Issued:
    """A self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(common_name, _name(common_name), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return Issued(key, cert)


def issue(ca: Issued, common_name: str, *, server: bool) -> Issued:
    """A leaf certificate signed by ``ca``: for 127.0.0.1/localhost when ``server``."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(common_name, ca.cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage, ExtendedKeyUsageOID.CLIENT_AUTH]), False)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def make_pki(folder: Path) -> Pki:
    """Generate the test PKI into ``folder`` (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca("iotad test CA")
    broker = issue(ca, "localhost", server=True)
    client = issue(ca, "iotad-test-client", server=False)
    rogue_ca = make_ca("untrusted test CA")
    rogue_client = issue(rogue_ca, "iotad-rogue-client", server=False)
    password = "client-key-secret"
    files = {
        "ca.pem": _cert_pem(ca.cert),
        "broker-keystore.pem": _key_pem(broker.key) + _cert_pem(broker.cert) + _cert_pem(ca.cert),
        "broker.pem": _cert_pem(broker.cert),
        "broker.key": _key_pem(broker.key),
        "client.pem": _cert_pem(client.cert),
        "client.key": _key_pem(client.key, password),
        "untrusted-ca.pem": _cert_pem(rogue_ca.cert),
        "untrusted-client.pem": _cert_pem(rogue_client.cert),
        "untrusted-client.key": _key_pem(rogue_client.key),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
        (folder / name).chmod(0o600)
    return Pki(
        ca=folder / "ca.pem",
        broker_keystore=folder / "broker-keystore.pem",
        broker_cert=folder / "broker.pem",
        broker_key=folder / "broker.key",
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
        client_key_password=password,
        untrusted_ca=folder / "untrusted-ca.pem",
        untrusted_client_cert=folder / "untrusted-client.pem",
        untrusted_client_key=folder / "untrusted-client.key",
    )
