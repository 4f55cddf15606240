"""`iotad baseline learn`: learn a gateway's benign baseline and write it as a bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iotad.cli.context import cli_context
from iotad.console import Console
from iotad.errors import ConfigError, ExitCode

if TYPE_CHECKING:
    from iotad.settings import Settings
    from iotad.stream.baseline_sources import LearningRows


def learn(
    ctx: typer.Context,
    gateway: Annotated[str, typer.Option("--gateway", help="The gateway whose normal this is.")],
    csv: Annotated[
        list[Path] | None,
        typer.Option("--csv", help="CSV files (or folders) of the gateway's normal flows."),
    ] = None,
    benign_only: Annotated[
        bool,
        typer.Option(
            "--benign-only", help="With --csv: keep only rows labelled benign (needs a label)."
        ),
    ] = False,
    pcap: Annotated[
        list[Path] | None,
        typer.Option(
            "--pcap",
            help="pcap/pcapng files (also .gz, or folders of them) of the gateway's normal "
            "traffic: windowed as `iotad capture` does.",
        ),
    ] = None,
    from_topic: Annotated[
        bool, typer.Option("--from-topic", help="Learn from the gateway's flows on the topic.")
    ] = False,
    max_flows: Annotated[
        int, typer.Option("--max-flows", min=2, help="--from-topic: stop after this many flows.")
    ] = 5000,
    learn_s: Annotated[
        float, typer.Option("--learn-s", min=0.1, help="--from-topic: stop after this long.")
    ] = 300.0,
    from_beginning: Annotated[
        bool,
        typer.Option("--from-beginning", help="--from-topic: read what the topic already holds."),
    ] = False,
    layout: Annotated[
        str | None,
        typer.Option(
            "--layout",
            help="--from-topic (default cic39) and --pcap (default capture.layout): feature "
            "layout, cic39 or cic46.",
        ),
    ] = None,
    target_far: Annotated[
        float | None,
        typer.Option("--target-far", help="False-alert rate on held-back benign flows."),
    ] = None,
    held_back: Annotated[
        float | None,
        typer.Option("--held-back", help="Share of the flows (the last ones) held back."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Bundle directory (default models/baselines/<gateway>/<v>)."),
    ] = None,
    promote: Annotated[
        bool, typer.Option("--promote", help="Then serve it in every worker (models promote).")
    ] = False,
    signing_key: Annotated[
        Path | None,
        typer.Option(
            "--signing-key",
            help="Sign the bundle with this private key (default: offline.signing_key); "
            "workers serve only signed baselines they did not learn themselves.",
        ),
    ] = None,
) -> ExitCode:
    """Learn GATEWAY's benign baseline (novelty model) from its normal flows.

    The flows come from CSV files, capture files (--pcap: windowed as `iotad capture` does) or
    the flows topic. The first flows are fitted on; the last --held-back share only sets the
    anomaly threshold, for --target-far false alerts on benign flows. The bundle is verified
    (ONNX against the native model, canary rows) before it is written.
    """
    from iotad.baseline.export import learn_baseline, safe_name
    from iotad.schemas.features import FeatureLayout
    from iotad.schemas.keys import load_signing_key
    from iotad.stream.baseline_learning import baseline_config
    from iotad.stream.baseline_sources import csv_learning_rows, topic_learning_rows

    cli = cli_context(ctx)
    settings = cli.settings(
        {
            "stream": {"baseline": {"target_far": target_far, "held_back_fraction": held_back}},
            "capture": {"layout": layout if pcap else None},
        }
    )
    if sum((bool(csv), bool(pcap), from_topic)) != 1:
        raise ConfigError("give exactly one of --csv PATH…, --pcap FILE… and --from-topic")
    if benign_only and not csv:
        raise ConfigError("--benign-only needs --csv (capture files and the topic have no label)")
    key_path = signing_key or settings.offline.signing_key
    signer = load_signing_key(key_path) if key_path is not None else None  # before any work
    console = cli.console
    if csv:
        rows = csv_learning_rows(csv, benign_only=benign_only)
    elif pcap:
        rows = _pcap_rows(console, settings, pcap)
    else:
        rows = topic_learning_rows(
            settings,
            gateway,
            layout=FeatureLayout(layout or "cic39"),
            max_flows=max_flows,
            learn_s=learn_s,
            from_beginning=from_beginning,
        )
    skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(rows.skipped.items())) or "none"
    console.status(f"{len(rows.values):,} learning flows from {rows.source} (left out: {skipped})")
    version = out.name if out is not None else None
    root = out.parent if out is not None else Path("models/baselines") / safe_name(gateway)
    dest, manifest = learn_baseline(
        rows.values,
        gateway_id=gateway,
        layout=rows.layout,
        config=baseline_config(settings.stream.baseline),
        source=rows.source,
        dest_root=root,
        version=version,
        signer=signer,
    )
    t = manifest.threshold
    console.out.print(
        f"baseline {manifest.reference} for gateway {gateway}: fitted on "
        f"{manifest.training.train_rows:,} flows, threshold {t.value:.4g} set on "
        f"{t.held_back_rows:,} held-back flows ({t.held_back_far:.2%} of them flagged; target "
        f"{t.target_far:.2%}, resolution {t.resolution:.2%}); parity max diff "
        f"{manifest.parity.max_abs_score_diff:.2g}; "
        f"{'signed by key ' + signer.key_id if signer else 'unsigned'}\n{dest}"
    )
    if t.resolution > t.target_far:
        console.warn(
            f"only {t.held_back_rows} held-back flows: a false-alert rate of {t.target_far:.2%} "
            "cannot be measured, the threshold sits just above the largest held-back score"
        )
    if signer is None:
        console.warn(
            "the bundle is unsigned: sign it (`iotad models sign`) before promoting it to "
            "workers that require signatures"
        )
    if promote:
        from iotad.cli.models_cmd import report_outcome
        from iotad.stream.model_control import promote_baseline

        _, outcome = promote_baseline(settings, dest, wait_s=5.0)
        return report_outcome(console, settings, outcome, 5.0)
    return ExitCode.OK


def _pcap_rows(console: Console, settings: Settings, paths: list[Path]) -> LearningRows:
    """``--pcap``: the files' windows, made by the capture wing's own loop, with progress."""
    from iotad.capture import CaptureOptions
    from iotad.capture.learning import pcap_learning_rows
    from iotad.schemas.features import FeatureLayout

    conf = settings.capture
    options = CaptureOptions(
        layout=FeatureLayout(conf.layout),
        window=conf.window,
        flow_idle_timeout_s=conf.flow_idle_timeout_s,
        max_flows=conf.max_flows,
    )
    console.status(
        f"windowing {len(paths)} capture path{'s' if len(paths) != 1 else ''} "
        f"({conf.layout}, windows of {conf.window} packets)"
    )
    with console.progress() as progress:
        task = progress.add_task("packets")
        rows, summary = pcap_learning_rows(
            paths,
            options,
            chunk_bytes=conf.chunk_bytes,
            on_progress=lambda n: progress.advance(task, n),
        )
    console.status(
        f"{summary.packets_read:,} packets from {summary.sources} file"
        f"{'s' if summary.sources != 1 else ''} → {summary.windows:,} windows "
        f"({summary.packets_skipped:,} packets in no window) in {summary.elapsed_s:.1f}s"
    )
    for name, why in summary.refused_sources:
        console.warn(f"refused {name}: {why}")
    return rows


def register(app: typer.Typer) -> None:
    """Add ``iotad baseline``."""
    baseline_app = typer.Typer(
        help="Per-gateway benign baselines: learn one (then `iotad models promote` it).",
        no_args_is_help=True,
    )
    baseline_app.command("learn")(learn)
    app.add_typer(baseline_app, name="baseline")
