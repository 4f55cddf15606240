"""`iotad replay PATH…`: send CICIoT2023 CSV rows to the flows topic as flow messages."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from iotad.cli.context import cli_context
from iotad.console import Console
from iotad.errors import ExitCode

if TYPE_CHECKING:
    from iotad.stream.replay import ReplaySummary


def replay(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="CSV files (.csv or .csv.gz) or folders of them (searched recursively)."
        ),
    ],
    rate: Annotated[
        float | None,
        typer.Option("--rate", help="Flows per second (default: as fast as possible)."),
    ] = None,
    speedup: Annotated[
        float | None,
        typer.Option(
            "--speedup",
            help="Multiple of the capture's natural pace (per-class capture files only).",
        ),
    ] = None,
    max_rate: Annotated[
        float | None, typer.Option("--max-rate", help="Never more flows per second than this.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Stop after this many flows.")
    ] = None,
    loop: Annotated[
        bool, typer.Option("--loop", help="Start over after the last file (until --limit/Ctrl-C).")
    ] = False,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch", min=0, help="Flows per batch envelope; 0 or 1 sends single flow messages."
        ),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Topic (default IOTAD_TOPICS__FLOWS).")
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap", help="Kafka servers (default IOTAD_KAFKA__BOOTSTRAP_SERVERS)."),
    ] = None,
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="Gateway id of the flows (default gw-replay).")
    ] = None,
) -> ExitCode:
    """Replay CICIoT2023 CSV files into Kafka, paced, and report what was sent and refused.

    Rows that are not valid flows (wrong column count, empty, non-numeric or infinite values,
    unknown labels) are counted by reason and never sent.
    """
    from iotad.broker import quiet_client_logs
    from iotad.stream.replay import ReplayOptions, replay_to_kafka

    cli = cli_context(ctx)
    settings = cli.settings(
        {
            "kafka": {"bootstrap_servers": bootstrap},
            "topics": {"flows": topic},
            "replay": {"batch": batch, "gateway_id": gateway},
        }
    )
    quiet_client_logs()
    options = ReplayOptions(
        topic=settings.topics.flows,
        gateway_id=settings.replay.gateway_id,
        devices_per_file=settings.replay.devices_per_file,
        batch=settings.replay.batch,
        rate=rate,
        speedup=speedup,
        max_rate=max_rate,
        limit=limit,
        loop=loop,
        max_message_bytes=settings.stream.max_message_bytes,
    )
    console = cli.console
    stop = threading.Event()
    mode = f"batches of {options.batch}" if options.batched else "single messages"
    console.status(
        f"replaying to {options.topic} on {settings.kafka.bootstrap_servers} ({mode}"
        + (f", {rate:g} flows/s" if rate else "")
        + (f", ×{speedup:g} natural pace" if speedup else "")
        + ")"
    )
    with console.progress() as progress:
        task = progress.add_task("flows", total=limit)
        try:
            summary = replay_to_kafka(
                settings,
                paths,
                options,
                stop=stop,
                on_progress=lambda n: progress.advance(task, n),
            )
        except KeyboardInterrupt:
            console.error("interrupted before the summary could be written")
            return ExitCode.INTERRUPTED
    print_summary(console, summary, options.topic)
    if summary.delivery_failures:
        return ExitCode.BROKER
    return ExitCode.OK if summary.sent else ExitCode.DATA


def print_summary(console: Console, summary: ReplaySummary, topic: str) -> None:
    """The replay's final report on stdout."""
    out = console.out
    out.print(
        f"[bold]sent {summary.sent:,} flows[/] to {escape(topic)} in "
        f"{summary.messages:,} messages, "
        f"{summary.elapsed_s:.1f}s, [bold]{summary.rate:,.0f} flows/s[/] "
        f"({summary.stopped_by}; {summary.files} files, {summary.passes} pass"
        f"{'es' if summary.passes != 1 else ''})"
    )
    out.print(f"rows read {summary.rows_read:,}, rejected {summary.rejected_total:,}")
    for reason, count in sorted(summary.rejected.items()):
        out.print(f"  {reason.value:<20} {count:,}")
    for example in summary.examples:
        out.print(
            f"  e.g. {example.path.name}:{example.line}: {example.rejection.reason.value} "
            f"({example.rejection.detail})",
            markup=False,
        )
    for path, why in summary.skipped_files:
        out.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(why)}")
    if summary.delivery_failures:
        out.print(
            f"[red]{summary.delivery_failures:,} flows were not acknowledged by Kafka[/] "
            f"(first error: {escape(str(summary.first_delivery_error))})"
        )


def register(app: typer.Typer) -> None:
    """Add ``iotad replay``."""
    app.command("replay")(replay)
