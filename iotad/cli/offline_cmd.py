"""`iotad offline run|report|synth`: the training pipeline, its results, synthetic data."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from iotad.cli.context import cli_context
from iotad.errors import ExitCode, ModelLoadError

if TYPE_CHECKING:
    from iotad.offline.pipeline import RunRequest
    from iotad.settings import Settings

STAGES = "ingest, clean, split, variance, scale, balance, reduce, train, evaluate, export"


def _parse_tasks(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        tasks = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"expected tasks like 2,8,34, got {value!r}") from None
    bad = [t for t in tasks if t not in (2, 8, 34)]
    if bad or not tasks:
        raise typer.BadParameter(f"tasks are 2, 8 and 34; got {value!r}")
    return tasks


def _parse_models(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    from iotad.offline.types import ModelKind

    models = tuple(v.strip() for v in value.split(",") if v.strip())
    known = [k.value for k in ModelKind]
    bad = [m for m in models if m not in known]
    if bad or not models:
        raise typer.BadParameter(f"unknown models {bad or value!r}; choose from {known}")
    return models


def _parse_stage(value: str | None) -> Any:
    if value is None:
        return None
    from iotad.offline.pipeline import Stage

    try:
        return Stage(value)
    except ValueError:
        raise typer.BadParameter(f"unknown stage {value!r}; stages: {STAGES}") from None


def _request(settings: Settings, **given: Any) -> RunRequest:
    from iotad.offline.config import (
        BalanceConfig,
        DataConfig,
        ExportConfig,
        SplitConfig,
        StudySplitConfig,
    )
    from iotad.offline.pipeline import RunRequest
    from iotad.offline.types import ModelKind
    from iotad.schemas.features import FeatureLayout
    from iotad.schemas.keys import load_signing_key
    from iotad.schemas.labels import Task

    offline = settings.offline
    # Read the key now: a bad key must stop the run before hours of training, not at export.
    signer = load_signing_key(offline.signing_key) if offline.signing_key else None
    data_cfg = DataConfig(
        split=SplitConfig(test_fraction=offline.test_fraction, seed=settings.seed),
        balance=BalanceConfig(
            target_scale=offline.target_scale,
            max_oversample=offline.max_oversample,
            seed=settings.seed,
        ),
        study_split=StudySplitConfig(random_state=settings.seed),
    )
    return RunRequest(
        data=tuple(given["data"]),
        out=offline.out_dir,
        protocol=offline.protocol,
        tasks=tuple(Task(t) for t in offline.tasks),
        models=tuple(ModelKind(m) for m in offline.models),
        layout=FeatureLayout(offline.layout) if offline.layout else None,
        category_map=offline.category_map,
        from_stage=given["from_stage"],
        to_stage=given["to_stage"],
        force=given["force"],
        export_to=given["export_to"],
        scheduler=offline.scheduler,
        local_scheduler=offline.local_scheduler,
        seed=settings.seed,
        data_cfg=data_cfg,
        export=ExportConfig(max_forest_onnx_mb=offline.max_forest_onnx_mb),
        signer=signer,
        command=given["command"],
    )


def run(
    ctx: typer.Context,
    data: Annotated[
        list[Path],
        typer.Option("--data", help="CSV file or folder (searched recursively); repeatable."),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Artifact folder (default var/offline).")
    ] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="holdout (default) or study.")
    ] = None,
    tasks: Annotated[str | None, typer.Option("--tasks", help="e.g. 2,8,34 (default all).")] = None,
    models: Annotated[
        str | None,
        typer.Option("--models", help="Comma list of rf, rf-compact, lr, ada, perceptron, dnn."),
    ] = None,
    from_stage: Annotated[
        str | None, typer.Option("--from", help=f"First stage to run ({STAGES}).")
    ] = None,
    to_stage: Annotated[str | None, typer.Option("--to", help="Last stage to run.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-run stages even when up to date.")
    ] = False,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Address of an existing Dask cluster.")
    ] = None,
    layout: Annotated[
        str | None, typer.Option("--layout", help="cic39 or cic46 (default: most rows).")
    ] = None,
    export_to: Annotated[
        Path | None,
        typer.Option("--export-to", help="Write bundles to DIR/task<N>/<model>/<version>/."),
    ] = None,
    signing_key: Annotated[
        Path | None,
        typer.Option(
            "--signing-key", help="Sign every bundle with this private key (offline.signing_key)."
        ),
    ] = None,
) -> ExitCode:
    """Run the pipeline: ingest → … → export, skipping stages that are up to date."""
    from iotad.offline.pipeline import run_pipeline

    cli = cli_context(ctx)
    parsed_tasks, parsed_models = _parse_tasks(tasks), _parse_models(models)
    stages = (_parse_stage(from_stage), _parse_stage(to_stage))
    settings = cli.settings(
        {
            "offline": {
                "out_dir": out,
                "protocol": protocol,
                "tasks": parsed_tasks,
                "models": parsed_models,
                "scheduler": scheduler,
                "layout": layout,
                "signing_key": signing_key,
            }
        }
    )
    command = "iotad offline run " + " ".join(
        [*(f"--data {shlex.quote(str(p))}" for p in data), f"--out {settings.offline.out_dir}"]
        + [f"--protocol {settings.offline.protocol}"]
        + [f"--tasks {','.join(str(t) for t in settings.offline.tasks)}"]
        + [f"--models {','.join(settings.offline.models)}"]
    )
    request = _request(
        settings, data=data, from_stage=stages[0], to_stage=stages[1], force=force,
        export_to=export_to, command=command,
    )  # fmt: skip
    summary = run_pipeline(request, cli.console)
    ran = sum(r.status == "ran" for r in summary.stages)
    skipped = sum(r.status != "ran" for r in summary.stages)
    cli.console.out.print(f"{ran} stage(s) ran, {skipped} reused; artifacts in {summary.out}")
    if summary.results is not None:
        cli.console.out.print(f"results: {summary.results}")
    if summary.failures:
        raise ModelLoadError(
            f"{len(summary.failures)} bundle(s) failed export: " + "; ".join(summary.failures),
            hint="the other models were exported; see the parity figures above",
        )
    return ExitCode.OK


def report(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Artifact folder of the runs (default var/offline)."),
    ] = None,
    to: Annotated[
        Path | None, typer.Option("--to", help="Document to write (default <out>/results.md).")
    ] = None,
    figures: Annotated[
        bool, typer.Option("--figures/--no-figures", help="Copy small PNGs next to it (img/).")
    ] = True,
) -> ExitCode:
    """Write both protocols' results side by side, with the data used and the commands."""
    from iotad.offline.summary import write_report

    cli = cli_context(ctx)
    settings = cli.settings({"offline": {"out_dir": out}})
    root = settings.offline.out_dir
    written = write_report(root, to or root / "results.md", figures=figures)
    cli.console.out.print(f"wrote {written}")
    return ExitCode.OK


def synth(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Rows to generate in all.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the synthetic CSV files.")],
    files: Annotated[
        int | None, typer.Option("--files", min=1, help="CSV files (default: ~276 k rows each).")
    ] = None,
) -> ExitCode:
    """Write SYNTHETIC CICIoT2023-layout CSV (46-column part files) for scale tests only."""
    from iotad.offline.synth import SynthRequest, write_synthetic

    cli = cli_context(ctx)
    settings = cli.settings()
    with cli.console.progress() as progress:
        result = write_synthetic(
            SynthRequest(rows=rows, out=out, files=files, seed=settings.seed), progress=progress
        )
    cli.console.out.print(
        f"wrote {result.rows} synthetic rows in {len(result.files)} files "
        f"({result.bytes / 1e9:.2f} GB) to {out}"
    )
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    """Add ``iotad offline`` and its subcommands."""
    offline = typer.Typer(
        name="offline", help="Train, evaluate and export models (CICIoT2023).", no_args_is_help=True
    )
    offline.command("run")(run)
    offline.command("report")(report)
    offline.command("synth")(synth)
    app.add_typer(offline)


__all__ = ["register"]
