"""`iotad models keygen|sign|verify` as an operator runs them: keys, signing, the reported state."""

from __future__ import annotations

import io
import json
import shutil
import stat
from pathlib import Path

import pytest
from rich.console import Console as RichConsole
from support.bundles import make_tiny_bundle
from support.signing import suite_public_key

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.keys import load_public_key
from iotad.schemas.signing import SIGNATURE_FILE


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str, str]:
    for key in ("IOTAD_STREAM__TRUSTED_KEYS", "IOTAD_STREAM__ALLOW_UNSIGNED_BUNDLES"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=RichConsole(file=out, width=300), err=RichConsole(file=err, width=300))
    return main(args, console=console), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("cli") / "bundle"
    make_tiny_bundle(dest, signed=False)
    return dest


def test_keygen_sign_verify(
    unsigned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(unsigned, bundle)
    keys = tmp_path / "keys"
    code, out, _ = _run(["models", "keygen", "--out", str(keys), "--name", "ops"], monkeypatch)
    assert code == ExitCode.OK
    key_id = load_public_key(keys / "ops.pub").key_id
    assert f"key {key_id}" in out and stat.S_IMODE((keys / "ops.key").stat().st_mode) == 0o600
    code, _, err = _run(["models", "keygen", "--out", str(keys), "--name", "ops"], monkeypatch)
    assert code == ExitCode.CONFIG and "refusing to overwrite" in err

    code, _, err = _run(["models", "verify", str(bundle)], monkeypatch)
    assert code == ExitCode.MODEL and "unsigned (no manifest.sig)" in err
    code, out, err = _run(
        ["models", "verify", str(bundle)], monkeypatch, IOTAD_STREAM__ALLOW_UNSIGNED_BUNDLES="true"
    )
    assert code == ExitCode.OK and "OK tiny-lr@1: unsigned" in out
    assert "accepted only because stream.allow_unsigned_bundles is true" in err

    code, out, _ = _run(
        ["models", "sign", str(bundle), "--key", str(keys / "ops.key")], monkeypatch
    )
    assert code == ExitCode.OK and f"signed tiny-lr@1 with key {key_id}" in out
    code, out, _ = _run(
        ["models", "verify", str(bundle), "--trusted-key", str(keys / "ops.pub")], monkeypatch
    )
    assert code == ExitCode.OK and f"OK tiny-lr@1: signed by key {key_id}" in out
    code, out, _ = _run(
        ["models", "verify", str(bundle)], monkeypatch, IOTAD_STREAM__TRUSTED_KEYS=str(keys)
    )  # a folder of trusted keys
    assert code == ExitCode.OK and f"signed by key {key_id}" in out
    code, _, err = _run(
        ["models", "verify", str(bundle)],
        monkeypatch,
        IOTAD_STREAM__TRUSTED_KEYS=str(suite_public_key()),
    )
    assert code == ExitCode.MODEL and f"signed by key {key_id}, which is not trusted" in err

    signature = json.loads((bundle / SIGNATURE_FILE).read_text())
    signature["signature"] = signature["signature"][::-1]
    (bundle / SIGNATURE_FILE).write_text(json.dumps(signature))
    code, _, err = _run(
        ["models", "verify", str(bundle)], monkeypatch, IOTAD_STREAM__TRUSTED_KEYS=str(keys)
    )
    assert code == ExitCode.MODEL and "bad signature: the signature does not verify" in err


def test_sign_refuses_a_broken_bundle_and_a_missing_key(
    unsigned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "broken"
    shutil.copytree(unsigned, bundle)
    (bundle / "scaler.json").write_text("{}")
    code, _, err = _run(["models", "sign", str(bundle)], monkeypatch)
    assert code == ExitCode.CONFIG and "no signing key" in err
    key = tmp_path / "k"
    _run(["models", "keygen", "--out", str(key)], monkeypatch)
    code, _, err = _run(
        ["models", "sign", str(bundle), "--key", str(key / "iotad-signing.key")], monkeypatch
    )
    assert code == ExitCode.MODEL and "scaler.json has sha256" in err
    assert not (bundle / SIGNATURE_FILE).exists()
