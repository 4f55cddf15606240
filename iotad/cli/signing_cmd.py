"""`iotad models keygen|sign`: Ed25519 keys and signed bundles (see docs/models.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from iotad.cli.context import cli_context
from iotad.errors import ConfigError, ExitCode


def keygen(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for NAME.key (private, 0600) and NAME.pub.")
    ],
    name: Annotated[str, typer.Option("--name", help="File name of both keys.")] = "iotad-signing",
) -> ExitCode:
    """Create an Ed25519 key pair for signing bundles (never overwrites a key)."""
    from iotad.schemas.keys import generate_keypair

    cli = cli_context(ctx)
    cli.settings()
    private, public, key_id = generate_keypair(out, name)
    cli.console.out.print(
        f"key {key_id}: private key {escape(str(private))} (mode 0600: keep it on the machine "
        f"that signs bundles), public key {escape(str(public))} (copy it to the workers and "
        "list it in stream.trusted_keys)"
    )
    return ExitCode.OK


def sign(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(help="Bundle directory to sign.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Private key file (default: offline.signing_key)."),
    ] = None,
) -> ExitCode:
    """Verify a bundle (checksums, ONNX, canary rows), then sign its manifest (manifest.sig)."""
    from iotad.schemas.bundle import load_bundle, open_session
    from iotad.schemas.keys import load_signing_key
    from iotad.schemas.signing import SIGNATURE_FILE, sign_bundle

    cli = cli_context(ctx)
    settings = cli.settings()
    key_path = key or settings.offline.signing_key
    if key_path is None:
        raise ConfigError(
            "no signing key: pass --key or set offline.signing_key",
            hint="create one with `iotad models keygen --out DIR`",
        )
    signer = load_signing_key(key_path)
    manifest = open_session(load_bundle(bundle)).bundle.manifest  # never sign a broken bundle
    sign_bundle(bundle, signer)
    cli.console.out.print(
        f"[green]signed[/] {manifest.reference} with key {signer.key_id} → "
        f"{escape(str(Path(bundle) / SIGNATURE_FILE))}"
    )
    return ExitCode.OK


__all__ = ["keygen", "sign"]
