"""`iotad models list|show|verify|promote|rollback|keygen|sign`: model bundles and hot swaps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from iotad.cli.context import cli_context
from iotad.cli.signing_cmd import keygen, sign
from iotad.console import Console
from iotad.errors import ExitCode, ModelLoadError

BundleArgument = Annotated[
    Path, typer.Argument(help="Bundle directory (holds manifest.json and model.onnx).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0.0,
        help="Seconds to wait for the running workers' answers (0: do not wait).",
    ),
]
SkipVerifyOption = Annotated[
    bool,
    typer.Option(
        "--skip-verify",
        help="Publish without verifying here first (the workers still verify and may refuse).",
    ),
]


def list_bundles(
    ctx: typer.Context,
    models_dir: Annotated[
        Path | None,
        typer.Argument(help="Where to look (default: offline.models_dir, ./models)."),
    ] = None,
    as_json: JsonOption = False,
) -> ExitCode:
    """List the bundles under a models directory; the promoted one is marked."""
    from iotad.stream.catalog import find_bundles
    from iotad.stream.state import ActiveBundleStore

    cli = cli_context(ctx)
    settings = cli.settings()
    root = models_dir or settings.offline.models_dir
    entries = find_bundles(root)
    active = ActiveBundleStore(settings.stream.state_dir).read().active
    active_path = Path(active.path).resolve() if active else None
    if as_json:
        rows = [
            {
                "path": str(e.path),
                "active": e.path.resolve() == active_path,
                "problem": e.problem,
                **({} if e.manifest is None else _row(e.manifest)),
            }
            for e in entries
        ]
        cli.console.out.print_json(orjson.dumps(rows).decode())
        return ExitCode.OK
    if not entries:
        cli.console.warn(f"no bundles under {root}")
        return ExitCode.OK
    table = Table("", "bundle", "name@version", "task", "model", "layout", "macro-F1", "created")
    for e in entries:
        mark = "*" if e.path.resolve() == active_path else ""
        if e.manifest is None:
            table.add_row(mark, str(e.path), f"[red]{e.problem}[/]", "", "", "", "", "")
            continue
        m = e.manifest
        table.add_row(
            mark,
            str(e.path),
            m.reference,
            str(m.task),
            m.model_kind,
            m.input.layout.value,
            f"{m.metrics.macro_f1:.3f}",
            m.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    cli.console.out.print(table)
    if active_path is not None:
        cli.console.status(f"* = promoted (state file under {settings.stream.state_dir})")
    return ExitCode.OK


def _row(manifest: Any) -> dict[str, Any]:
    return {
        "name": manifest.name,
        "version": manifest.version,
        "task": manifest.task,
        "model_kind": manifest.model_kind,
        "layout": manifest.input.layout.value,
        "macro_f1": manifest.metrics.macro_f1,
        "created_at": manifest.created_at.isoformat(),
    }


def show(ctx: typer.Context, bundle: BundleArgument, as_json: JsonOption = False) -> ExitCode:
    """Show a bundle's manifest summary: classes, features, metrics, training, parity."""
    from iotad.stream.catalog import read_entry, summary

    cli = cli_context(ctx)
    cli.settings()
    entry = read_entry(bundle)
    if entry.manifest is None:
        raise ModelLoadError(f"{bundle}: {entry.problem}", hint="is this a bundle directory?")
    facts = summary(entry.manifest)
    if as_json:
        cli.console.out.print_json(orjson.dumps(facts).decode())
        return ExitCode.OK
    table = Table("field", "value", show_header=False)
    for key, value in facts.items():
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        table.add_row(key, shown)
    cli.console.out.print(table)
    return ExitCode.OK


def verify(
    ctx: typer.Context,
    bundle: BundleArgument,
    trusted_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--trusted-key",
            help="Trust this public key (file or folder of *.pub) too; repeatable. "
            "Default: stream.trusted_keys.",
        ),
    ] = None,
) -> ExitCode:
    """Verify a bundle as a worker would: signature, every file's sha256, ONNX, canary rows."""
    from iotad.schemas.baseline_bundle import bundle_kind
    from iotad.schemas.signing import SignatureState
    from iotad.stream.loader import load_model

    cli = cli_context(ctx)
    settings = cli.settings()
    if bundle_kind(bundle) == "baseline":
        return _verify_baseline(cli.console, bundle)
    stream = settings.stream
    if trusted_key:
        stream = stream.model_copy(update={"trusted_keys": (*stream.trusted_keys, *trusted_key)})
    loaded = load_model(bundle, stream)  # raises ModelLoadError with the reason
    m = loaded.manifest
    signature = loaded.signature
    if signature.state is not SignatureState.SIGNED:
        cli.console.warn(
            f"{escape(signature.describe())}: accepted only because "
            "stream.allow_unsigned_bundles is true"
        )
    cli.console.out.print(
        f"[green]OK[/] {escape(m.reference)}: {escape(signature.describe())}; "
        f"{len(m.sha256)} files match their sha256, the ONNX graph loads, the canary rows "
        f"reproduce their recorded outputs; serves {len(m.classes)} classes from "
        f"{len(m.input.raw_features)} {m.input.layout.value} features"
    )
    return ExitCode.OK


def report_outcome(console: Console, settings: Any, outcome: Any, wait: float) -> ExitCode:
    """Say what was published and what the workers answered within ``wait`` seconds."""
    event = outcome.event
    console.status(
        f"{event.action.value} of {event.bundle_path} published on {settings.topics.models}"
    )
    if wait <= 0:
        return ExitCode.OK
    if not outcome.replies:
        console.warn(f"no worker answered within {wait:g}s (are workers running?)")
        return ExitCode.OK
    from iotad.schemas.control import ControlAction

    for reply in outcome.replies:
        if reply.action is ControlAction.REFUSED:
            console.error(f"worker {reply.worker_id} refused it: {reply.reason}")
        else:
            console.out.print(
                f"[green]worker {escape(reply.worker_id)} now serves[/] "
                f"{escape(str(event.bundle_path))}"
            )
    return ExitCode.MODEL if outcome.refused else ExitCode.OK


def promote(
    ctx: typer.Context,
    bundle: BundleArgument,
    wait: WaitOption = 5.0,
    skip_verify: SkipVerifyOption = False,
) -> ExitCode:
    """Serve BUNDLE in every running worker (hot swap) and record it as the promoted bundle."""
    from iotad.stream.model_control import promote_bundle

    cli = cli_context(ctx)
    settings = cli.settings()
    manifest, outcome = promote_bundle(settings, bundle, wait_s=wait, verify=not skip_verify)
    if not skip_verify:
        cli.console.status(f"verified {manifest.reference}")
    return report_outcome(cli.console, settings, outcome, wait)


def rollback(ctx: typer.Context, wait: WaitOption = 5.0) -> ExitCode:
    """Serve the previously promoted bundle again (in every running worker)."""
    from iotad.stream.model_control import rollback_bundle

    cli = cli_context(ctx)
    settings = cli.settings()
    previous, outcome = rollback_bundle(settings, wait_s=wait)
    cli.console.status(f"rolled back to {previous.model.name}@{previous.model.version}")
    return report_outcome(cli.console, settings, outcome, wait)


def _verify_baseline(console: Console, bundle: Path) -> ExitCode:
    from iotad.stream.baselines import load_gateway_baseline

    m = load_gateway_baseline(bundle).manifest  # raises ModelLoadError with the reason
    console.out.print(
        f"[green]OK[/] gateway baseline {m.reference} of gateway {m.gateway_id}: {len(m.sha256)} "
        f"files match their sha256, the ONNX graph loads, the canary rows reproduce their "
        f"scores; threshold {m.threshold.value:.4g} ({m.threshold.held_back_far:.2%} of "
        f"{m.threshold.held_back_rows} held-back benign flows flagged)"
    )
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    """Add ``iotad models``."""
    models_app = typer.Typer(
        help="Model bundles: list, show, verify, promote/rollback (hot swap in the workers), "
        "and keygen/sign (signed bundles).",
        no_args_is_help=True,
    )
    models_app.command("list")(list_bundles)
    for command in (show, verify, promote, rollback, keygen, sign):
        models_app.command(command.__name__)(command)
    app.add_typer(models_app, name="models")
