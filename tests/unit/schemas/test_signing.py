"""Signed bundles: key files, manifest signatures, and every way a bundle can be tampered with."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import stat
from pathlib import Path

import pytest
from support.bundles import make_tiny_bundle
from support.signing import make_key, suite_public_key, suite_signer

from iotad.errors import ConfigError, ModelLoadError
from iotad.schemas.bundle import load_bundle, sha256_file
from iotad.schemas.keys import (
    generate_keypair,
    load_public_key,
    load_signing_key,
    load_trusted_keys,
)
from iotad.schemas.signing import (
    SIGNATURE_FILE,
    BundleSignature,
    SignatureState,
    TrustPolicy,
    canonical_manifest,
    check_signature,
    sign_bundle,
)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny bundle signed with the suite's key (never modified: tests tamper with copies)."""
    dest = tmp_path_factory.mktemp("signed") / "bundle"
    make_tiny_bundle(dest)
    return dest


@pytest.fixture
def copy(signed: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(signed, dest)
    return dest


def _check(bundle: Path, *keys: Path) -> SignatureState:
    trusted = load_trusted_keys(keys or (suite_public_key(),))
    return check_signature(bundle, (bundle / "manifest.json").read_bytes(), trusted).state


def _policy(*keys: Path, allow_unsigned: bool = False) -> TrustPolicy:
    return TrustPolicy(load_trusted_keys(keys or (suite_public_key(),)), allow_unsigned)


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    private, public, key_id = generate_keypair(tmp_path / "keys", "ops")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert load_signing_key(private).key_id == load_public_key(public).key_id == key_id
    assert len(key_id) == 16 and generate_keypair(tmp_path / "other", "ops")[2] != key_id
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        generate_keypair(tmp_path / "keys", "ops")
    private.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others") as info:
        load_signing_key(private)
    assert info.value.hint == f"chmod 600 {private}"


def test_key_files_that_are_not_ed25519_keys_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="trusted public key not found"):
        load_trusted_keys([tmp_path / "missing.pub"])
    junk = tmp_path / "junk.pub"
    junk.write_text("not a key")
    with pytest.raises(ConfigError, match="is not a PEM public key"):
        load_public_key(junk)
    private, _ = make_key("tests")
    with pytest.raises(ConfigError, match="is not a PEM public key"):
        load_public_key(private)  # a private key where a public one belongs


def test_trusted_keys_from_files_and_folders(tmp_path: Path) -> None:
    _, first, first_id = generate_keypair(tmp_path / "ring", "2026")
    _, _, second_id = generate_keypair(tmp_path / "ring", "2027")
    (tmp_path / "ring" / "notes.txt").write_text("not a key, not a .pub file")
    keys = load_trusted_keys([tmp_path / "ring", first])  # first twice: counted once
    assert sorted(k.key_id for k in keys) == sorted([first_id, second_id])
    (tmp_path / "empty").mkdir()
    assert load_trusted_keys([tmp_path / "empty"]) == ()


def test_a_signed_bundle_verifies_and_names_its_key(signed: Path) -> None:
    check = check_signature(
        signed, (signed / "manifest.json").read_bytes(), load_trusted_keys([suite_public_key()])
    )
    assert check.state is SignatureState.SIGNED and check.key_id == suite_signer().key_id
    assert check.describe() == f"signed by key {check.key_id} ({suite_public_key()})"
    bundle = load_bundle(signed, _policy())
    assert bundle.signature == check
    signature = BundleSignature.model_validate_json((signed / SIGNATURE_FILE).read_bytes())
    assert len(base64.b64decode(signature.signature)) == 64
    assert stat.S_IMODE((signed / SIGNATURE_FILE).stat().st_mode) == 0o644  # others may read it


def test_reformatting_the_manifest_keeps_the_signature(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    reordered = dict(reversed(list(manifest.items())))
    (copy / "manifest.json").write_text(json.dumps(reordered, indent=4).replace("\n", "\r\n"))
    assert _check(copy) is SignatureState.SIGNED
    assert load_bundle(copy, _policy()).manifest.version == "1"


def test_a_tampered_graph_fails_its_checksum_though_the_signature_holds(copy: Path) -> None:
    graph = bytearray((copy / "model.onnx").read_bytes())
    graph[-1] ^= 0xFF
    (copy / "model.onnx").write_bytes(bytes(graph))
    assert _check(copy) is SignatureState.SIGNED  # the manifest is untouched …
    with pytest.raises(ModelLoadError, match=r"model.onnx has sha256 .*\(file changed"):
        load_bundle(copy, _policy())  # … and says the graph is another one


def test_a_manifest_changed_to_match_a_new_graph_fails_the_signature(copy: Path) -> None:
    (copy / "model.onnx").write_bytes((copy / "model.onnx").read_bytes() + b"\0")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sha256"]["model.onnx"] = sha256_file(copy / "model.onnx")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="manifest.json changed after it was signed") as info:
        load_bundle(copy, _policy(allow_unsigned=True))  # a bad signature: never accepted
    assert info.value.hint is not None and "changed after it was signed" in info.value.hint


def test_a_signature_copied_with_the_new_manifest_digest_does_not_verify(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["decision"]["confidence_threshold"] = 0.99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    signature = json.loads((copy / SIGNATURE_FILE).read_text())
    digest = hashlib.sha256(canonical_manifest((copy / "manifest.json").read_bytes()))
    signature["manifest_sha256"] = digest.hexdigest()
    (copy / SIGNATURE_FILE).write_text(json.dumps(signature))
    with pytest.raises(ModelLoadError, match="the signature does not verify with key"):
        load_bundle(copy, _policy())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: {**s, "signature": s["signature"][::-1]}, "does not verify"),
        (lambda s: {**s, "signature": "!!not base64!!"}, "does not verify"),
        (lambda s: {**s, "key_id": "nothex"}, "manifest.sig is invalid at key_id"),
        (lambda s: {**s, "algorithm": "rsa"}, "manifest.sig is invalid at algorithm"),
        (lambda s: {k: v for k, v in s.items() if k != "signature"}, "invalid at signature"),
    ],
)
def test_a_tampered_signature_file_is_refused(copy: Path, change: object, reason: str) -> None:
    signature = json.loads((copy / SIGNATURE_FILE).read_text())
    (copy / SIGNATURE_FILE).write_text(json.dumps(change(signature)))  # type: ignore[operator]
    assert _check(copy) is SignatureState.BAD
    with pytest.raises(ModelLoadError, match=reason):
        load_bundle(copy, _policy(allow_unsigned=True))


def test_garbage_in_the_signature_file_is_refused(copy: Path) -> None:
    (copy / SIGNATURE_FILE).write_bytes(b"\xff\x00 not json")
    with pytest.raises(ModelLoadError, match="bad signature: manifest.sig is invalid"):
        load_bundle(copy, _policy())


def test_a_duplicated_manifest_key_is_refused(copy: Path) -> None:
    text = (copy / "manifest.json").read_text()
    (copy / "manifest.json").write_text(
        text.replace('"version": "1"', '"version": "1", "version": "9"')
    )
    with pytest.raises(ModelLoadError, match=r"duplicate key\(s\) \['version'\]"):
        load_bundle(copy, _policy())


def test_unsigned_bundles_serve_only_when_allowed(copy: Path) -> None:
    (copy / SIGNATURE_FILE).unlink()
    with pytest.raises(ModelLoadError, match=r"is refused: unsigned \(no manifest.sig\)") as info:
        load_bundle(copy, _policy())
    assert info.value.hint is not None and "iotad models sign" in info.value.hint
    with pytest.raises(ModelLoadError, match="unsigned"):
        load_bundle(copy, TrustPolicy(()))  # no key configured: still refused
    bundle = load_bundle(copy, _policy(allow_unsigned=True))
    assert bundle.signature is not None and bundle.signature.state is SignatureState.UNSIGNED


def test_a_bundle_signed_by_an_untrusted_key_is_refused(copy: Path, tmp_path: Path) -> None:
    private, public, other_id = generate_keypair(tmp_path / "rogue", "rogue")
    sign_bundle(copy, load_signing_key(private))
    with pytest.raises(ModelLoadError, match=f"signed by key {other_id}, which is not trusted"):
        load_bundle(copy, _policy())
    assert _check(copy, public) is SignatureState.SIGNED


def test_rotation_two_trusted_keys_accept_bundles_of_either(copy: Path, tmp_path: Path) -> None:
    private, public, new_id = generate_keypair(tmp_path / "keys", "2027")
    both = (suite_public_key(), public)
    assert _check(copy, *both) is SignatureState.SIGNED  # the old key's bundle
    sign_bundle(copy, load_signing_key(private))  # re-signed with the new key
    bundle = load_bundle(copy, _policy(*both))
    assert bundle.signature is not None and bundle.signature.key_id == new_id
    with pytest.raises(ModelLoadError, match="not trusted"):
        load_bundle(copy, _policy())  # a worker that only knows the old key


def test_a_manifest_cannot_name_files_outside_its_bundle(copy: Path) -> None:
    (copy.parent / "outside.txt").write_text("secret")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sha256"]["../outside.txt"] = sha256_file(copy.parent / "outside.txt")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / SIGNATURE_FILE).unlink()
    with pytest.raises(ModelLoadError, match="names '../outside.txt', not a file of the bundle"):
        load_bundle(copy, _policy(allow_unsigned=True))
