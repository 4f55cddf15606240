"""Signed bundles: an Ed25519 signature over the canonical ``manifest.json``, in ``manifest.sig``.

The manifest holds the sha256 of every other file of the bundle (graph, scaler, mask, canary,
metrics), so a signature over the manifest covers the whole bundle:

* a changed file no longer matches its checksum (``load_bundle`` refuses it);
* a changed manifest (say, a checksum updated to match a new graph) no longer matches the
  signature;
* a missing, malformed or forged signature, or one by a key the worker does not trust, is refused.

What is signed is ``b"iotad.bundle_signature.v1\\n"`` followed by the *canonical* manifest: the
JSON document re-serialised with sorted keys, no whitespace and UTF-8 (so re-indenting the file or
a checkout that rewrites line endings does not break a signature, while any change of a value
does). A manifest with a duplicated key is refused, so no two JSON readers can see different
manifests under one signature. ``manifest.sig`` (:class:`BundleSignature`) holds the key id, the
sha256 of the canonical manifest and the base64 signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotad.errors import ModelLoadError
from iotad.schemas.keys import PublicKey, SigningKey
from iotad.schemas.manifest import MANIFEST_FILE

SIGNATURE_FILE = "manifest.sig"
SIGNATURE_FORMAT = "iotad.bundle_signature.v1"
_DOMAIN = SIGNATURE_FORMAT.encode() + b"\n"
_TRUST_HINT = (
    "sign it with `iotad models sign BUNDLE --key PRIVATE_KEY` and list that key's .pub file in "
    "stream.trusted_keys (IOTAD_STREAM__TRUSTED_KEYS); see docs/models.md, Signed bundles"
)


class BundleSignature(BaseModel):
    """``manifest.sig``: who signed the bundle's manifest, and the signature."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="iotad bundle signature v1")

    format: Literal["iotad.bundle_signature.v1"] = "iotad.bundle_signature.v1"
    algorithm: Literal["ed25519"] = "ed25519"
    key_id: Annotated[
        str,
        Field(
            pattern=r"^[0-9a-f]{16}$",
            description="The signing key: sha256 of its raw public key, first 16 hex digits.",
        ),
    ]
    manifest_sha256: Annotated[
        str,
        Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the canonical manifest signed."),
    ]
    signature: Annotated[
        str,
        Field(
            min_length=1,
            description="base64 of the Ed25519 signature of 'iotad.bundle_signature.v1\\n' + "
            "the canonical manifest.",
        ),
    ]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicate key(s) {dupes}")
    return dict(pairs)


def canonical_manifest(raw: bytes) -> bytes:
    """The canonical bytes of a manifest document (sorted keys, no whitespace, UTF-8).

    Raises
    ------
    ModelLoadError
        if ``raw`` is not JSON, repeats a key, or holds NaN or infinity.
    """
    try:
        document = json.loads(raw, object_pairs_hook=_no_duplicates)
        text = json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelLoadError(f"{MANIFEST_FILE} cannot be signed or checked: {exc}") from exc
    return text.encode()


def sign_manifest(raw: bytes, key: SigningKey) -> BundleSignature:
    """The signature of the manifest bytes ``raw`` by ``key``."""
    canonical = canonical_manifest(raw)
    signature = key.key.sign(_DOMAIN + canonical)
    return BundleSignature(
        key_id=key.key_id,
        manifest_sha256=hashlib.sha256(canonical).hexdigest(),
        signature=base64.b64encode(signature).decode(),
    )


def write_signature(bundle_dir: Path, signature: BundleSignature) -> Path:
    """Write ``manifest.sig`` atomically (a new file renamed over the old one)."""
    dest = Path(bundle_dir) / SIGNATURE_FILE
    descriptor, temp = tempfile.mkstemp(prefix=f".{SIGNATURE_FILE}.", dir=dest.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(signature.model_dump_json(indent=2).encode() + b"\n")
        Path(temp).chmod(0o644)  # mkstemp makes it 0600; workers may run as another user
        Path(temp).replace(dest)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return dest


def sign_bundle(bundle_dir: Path, key: SigningKey) -> BundleSignature:
    """Sign the bundle's ``manifest.json`` as it is on disk and write ``manifest.sig``.

    This checks nothing but the manifest's JSON; verify the bundle first (``iotad models sign``
    does).
    """
    raw = (Path(bundle_dir) / MANIFEST_FILE).read_bytes()
    signature = sign_manifest(raw, key)
    write_signature(bundle_dir, signature)
    return signature


class SignatureState(StrEnum):
    """What a bundle's signature says."""

    SIGNED = "signed"  # a valid signature by a trusted key
    UNSIGNED = "unsigned"  # no manifest.sig
    UNTRUSTED = "untrusted"  # well-formed, by a key that is not trusted (not checked)
    BAD = "bad"  # malformed, or does not match the manifest: tampered


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one bundle's signature."""

    state: SignatureState
    key_id: str | None = None
    detail: str = ""

    def describe(self) -> str:
        """One line for people, e.g. ``signed by key 3f2a… (keys/ops.pub)``."""
        if self.state is SignatureState.SIGNED:
            return f"signed by key {self.key_id} ({self.detail})"
        if self.state is SignatureState.UNSIGNED:
            return f"unsigned (no {SIGNATURE_FILE})"
        if self.state is SignatureState.UNTRUSTED:
            return f"signed by key {self.key_id}, which is not trusted ({self.detail})"
        return f"bad signature: {self.detail}"


def check_signature(
    bundle_dir: Path, raw_manifest: bytes, trusted: Sequence[PublicKey]
) -> SignatureCheck:
    """Check ``manifest.sig`` in ``bundle_dir`` against the manifest bytes and trusted keys."""
    path = Path(bundle_dir) / SIGNATURE_FILE
    try:
        signature = BundleSignature.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return SignatureCheck(SignatureState.UNSIGNED)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        return SignatureCheck(
            SignatureState.BAD, detail=f"{SIGNATURE_FILE} is invalid at {where}: {first['msg']}"
        )
    try:
        canonical = canonical_manifest(raw_manifest)
    except ModelLoadError as exc:
        return SignatureCheck(SignatureState.BAD, signature.key_id, exc.message)
    digest = hashlib.sha256(canonical).hexdigest()
    if digest != signature.manifest_sha256:
        return SignatureCheck(
            SignatureState.BAD,
            signature.key_id,
            f"{MANIFEST_FILE} changed after it was signed (sha256 {digest[:12]}…, signed "
            f"{signature.manifest_sha256[:12]}…)",
        )
    key = next((k for k in trusted if k.key_id == signature.key_id), None)
    if key is None:
        known = ", ".join(k.key_id for k in trusted) or "none configured"
        return SignatureCheck(SignatureState.UNTRUSTED, signature.key_id, f"trusted: {known}")
    try:
        key.key.verify(base64.b64decode(signature.signature, validate=True), _DOMAIN + canonical)
    except (InvalidSignature, binascii.Error):
        return SignatureCheck(
            SignatureState.BAD,
            signature.key_id,
            f"the signature does not verify with key {key.key_id} ({key.path})",
        )
    return SignatureCheck(SignatureState.SIGNED, key.key_id, str(key.path))


@dataclass(frozen=True)
class TrustPolicy:
    """Which bundles may serve: signed by one of ``keys``, or also unsigned ones.

    ``allow_unsigned`` also accepts a bundle signed by a key that is not trusted (it is no
    better than an unsigned one), never a bad signature: that is a tampered bundle.
    """

    keys: tuple[PublicKey, ...]
    allow_unsigned: bool = False

    def check(self, bundle_dir: Path, raw_manifest: bytes) -> SignatureCheck:
        """The bundle's signature state if it may serve.

        Raises
        ------
        ModelLoadError
            naming the bundle and what is wrong with its signature.
        """
        result = check_signature(bundle_dir, raw_manifest, self.keys)
        if result.state is SignatureState.SIGNED:
            return result
        if result.state is not SignatureState.BAD and self.allow_unsigned:
            return result
        hint = (
            "the bundle changed after it was signed: rebuild it, or verify and re-sign it"
            if result.state is SignatureState.BAD
            else _TRUST_HINT
        )
        raise ModelLoadError(f"bundle {bundle_dir} is refused: {result.describe()}", hint=hint)


__all__ = [
    "SIGNATURE_FILE",
    "SIGNATURE_FORMAT",
    "BundleSignature",
    "SignatureCheck",
    "SignatureState",
    "TrustPolicy",
    "canonical_manifest",
    "check_signature",
    "sign_bundle",
    "sign_manifest",
    "write_signature",
]
