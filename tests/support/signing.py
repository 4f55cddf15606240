"""The test suite's signing key: one fixed Ed25519 key pair, written once per process.

Every test bundle (:func:`support.bundles.make_tiny_bundle`, :func:`support.worker.
train_real_bundle`) is signed with it, and every test worker trusts its public key, so the tests
run the worker's real policy: signed bundles only.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import shutil
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from iotad.schemas.keys import SigningKey, load_signing_key, write_keypair


@functools.cache
def _key_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="iotad-test-keys-"))
    atexit.register(shutil.rmtree, directory, True)
    return directory


def make_key(name: str) -> tuple[Path, Path]:
    """A deterministic key pair named ``name`` (private file, public file), made once."""
    private = _key_dir() / f"{name}.key"
    if not private.exists():
        seed = hashlib.sha256(f"iotad test key {name}".encode()).digest()
        write_keypair(Ed25519PrivateKey.from_private_bytes(seed), _key_dir(), name)
    return private, private.with_suffix(".pub")


def suite_signer() -> SigningKey:
    """The suite's signing key."""
    return load_signing_key(make_key("tests")[0])


def suite_public_key() -> Path:
    """The file of the suite's public key: what test workers list in ``stream.trusted_keys``."""
    return make_key("tests")[1]


__all__ = ["make_key", "suite_public_key", "suite_signer"]
