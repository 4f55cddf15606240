"""Ed25519 key files for signing model bundles (the signatures: :mod:`iotad.schemas.signing`).

A key pair is two PEM files, written by ``iotad models keygen``:

* ``<name>.key``: the private key, PKCS#8 PEM, unencrypted, mode ``0600``. It stays on the
  machine that exports or signs bundles; a private key that others can read is refused.
* ``<name>.pub``: the public key, SubjectPublicKeyInfo PEM. Workers trust bundles signed by the
  keys listed in ``stream.trusted_keys`` (files, or folders whose ``*.pub`` files all count).

Both are the standard formats ``openssl pkey`` reads. A key's *id* is the first 16 hex digits of
the sha256 of its 32 raw public-key bytes; signatures name the key that made them by this id.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from iotad.errors import ConfigError

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
_PRIVATE_MODE = 0o600


def key_id(public: Ed25519PublicKey) -> str:
    """The id of a public key: sha256 of its raw bytes, first 16 hex digits."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """A trusted public key and the file it came from."""

    key_id: str
    path: Path
    key: Ed25519PublicKey


@dataclass(frozen=True)
class SigningKey:
    """A private signing key and the file it came from."""

    key_id: str
    path: Path
    key: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        """The public half (its ``path`` is the private key's file)."""
        return PublicKey(self.key_id, self.path, self.key.public_key())


def write_keypair(key: Ed25519PrivateKey, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``key`` as ``<out_dir>/<name>.key`` (mode 0600) and ``<name>.pub``.

    Raises
    ------
    ConfigError
        if either file exists already (keys are never overwritten).
    """
    out_dir = Path(out_dir)
    private, public = out_dir / f"{name}{PRIVATE_SUFFIX}", out_dir / f"{name}{PUBLIC_SUFFIX}"
    existing = [str(p) for p in (private, public) if p.exists()]
    if existing:
        raise ConfigError(
            f"refusing to overwrite existing key file(s): {', '.join(existing)}",
            hint="choose another --out folder or --name; keep the old key while bundles "
            "signed with it are in service",
        )
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created with 0600 from the start: the key is never readable by others, not even briefly.
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def generate_keypair(out_dir: Path, name: str) -> tuple[Path, Path, str]:
    """A new random key pair in ``out_dir``: (private file, public file, key id)."""
    key = Ed25519PrivateKey.generate()
    private, public = write_keypair(key, out_dir, name)
    return private, public, key_id(key.public_key())


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from exc


def load_signing_key(path: Path) -> SigningKey:
    """Read a private key written by :func:`write_keypair`.

    Raises
    ------
    ConfigError
        if the file is missing, readable by group or others (POSIX), or not an Ed25519 key.
    """
    path = Path(path)
    data = _read(path, "signing key")
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"signing key {path} is readable by others (mode {stat.S_IMODE(mode):04o})",
            hint=f"chmod 600 {path}",
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return SigningKey(key_id(key.public_key()), path, key)


def load_public_key(path: Path) -> PublicKey:
    """Read a public key written by :func:`write_keypair`.

    Raises
    ------
    ConfigError
        if the file is missing or not an Ed25519 public key.
    """
    path = Path(path)
    data = _read(path, "trusted public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return PublicKey(key_id(key), path, key)


def load_trusted_keys(paths: Sequence[Path]) -> tuple[PublicKey, ...]:
    """Every public key named by ``paths``: files, or folders whose ``*.pub`` files all count.

    Duplicates (the same key id twice) are kept once. An empty folder contributes nothing.

    Raises
    ------
    ConfigError
        if a path does not exist or a file is not an Ed25519 public key.
    """
    found: dict[str, PublicKey] = {}
    for entry in paths:
        entry = Path(entry)
        files = sorted(entry.glob(f"*{PUBLIC_SUFFIX}")) if entry.is_dir() else [entry]
        for file in files:
            key = load_public_key(file)
            found.setdefault(key.key_id, key)
    return tuple(found.values())


__all__ = [
    "PRIVATE_SUFFIX",
    "PUBLIC_SUFFIX",
    "PublicKey",
    "SigningKey",
    "generate_keypair",
    "key_id",
    "load_public_key",
    "load_signing_key",
    "load_trusted_keys",
    "write_keypair",
]
