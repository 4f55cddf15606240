"""`iotad capture SOURCE…`: packets → CICIoT2023 feature windows → the flows topic or a file."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iotad.cli.context import cli_context
from iotad.console import Console
from iotad.errors import ConfigError, ExitCode

if TYPE_CHECKING:
    from iotad.capture import CaptureSummary, RowSink
    from iotad.settings import Settings


def capture(
    ctx: typer.Context,
    sources: Annotated[
        list[Path],
        typer.Argument(help="pcap/pcapng files (also .gz) or folders of them (recursive)."),
    ],
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="Gateway id of the rows (default gw-capture).")
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the rows to this CSV file, not Kafka.")
    ] = None,
    parquet_out: Annotated[
        Path | None,
        typer.Option("--parquet", help="Write the rows to this Parquet file, not Kafka."),
    ] = None,
    layout: Annotated[
        str | None, typer.Option("--layout", help="cic39 (default) or cic46.")
    ] = None,
    window: Annotated[
        int | None,
        typer.Option("--window", min=1, help="Packets per row (CIC's Number; default 10)."),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Topic (default IOTAD_TOPICS__FLOWS).")
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap", help="Kafka servers (default IOTAD_KAFKA__BOOTSTRAP_SERVERS)."),
    ] = None,
) -> ExitCode:
    """Turn captured packets into CICIoT2023 feature rows (docs/capture.md).

    Every packet is either in a row or counted, by reason, in the summary at the end.
    """
    from iotad.broker import quiet_client_logs
    from iotad.capture import CaptureOptions, capture_files, run_capture
    from iotad.schemas.features import FeatureLayout

    if csv_out is not None and parquet_out is not None:
        raise ConfigError("give --csv or --parquet, not both")
    cli = cli_context(ctx)
    settings = cli.settings(
        {
            "kafka": {"bootstrap_servers": bootstrap},
            "topics": {"flows": topic},
            "capture": {"gateway_id": gateway, "layout": layout, "window": window},
        }
    )
    quiet_client_logs()
    conf = settings.capture
    options = CaptureOptions(
        layout=FeatureLayout(conf.layout),
        window=conf.window,
        flow_idle_timeout_s=conf.flow_idle_timeout_s,
        max_flows=conf.max_flows,
    )
    files = capture_files(sources, chunk_bytes=conf.chunk_bytes)
    for file in files:  # refuse unreadable files before Kafka is contacted
        file.check()
    target = csv_out or parquet_out or settings.topics.flows
    console = cli.console
    console.status(
        f"capturing {len(files)} file{'s' if len(files) != 1 else ''} → {target} "
        f"({conf.layout}, windows of {conf.window} packets, gateway {conf.gateway_id})"
    )

    async def go(sink: RowSink) -> CaptureSummary:
        with console.progress() as progress:
            task = progress.add_task("packets")
            return await run_capture(
                files, options, sink, on_progress=lambda n: progress.advance(task, n)
            )

    summary, written = asyncio.run(_with_sink(settings, csv_out, parquet_out, go))
    print_summary(console, summary, written, str(target))
    if isinstance(target, str) and written < summary.windows:
        return ExitCode.BROKER
    return ExitCode.OK if summary.windows else ExitCode.DATA


async def _with_sink(
    settings: Settings,
    csv_out: Path | None,
    parquet_out: Path | None,
    run: Callable[[RowSink], Awaitable[CaptureSummary]],
) -> tuple[CaptureSummary, int]:
    """Run the capture into the file asked for, or into the flows topic."""
    from iotad.capture import CsvRows, KafkaRows, ParquetRows
    from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout
    from iotad.stream.replay import KafkaSink

    conf = settings.capture
    names = LAYOUT_FEATURES[FeatureLayout(conf.layout)]
    file_sink: RowSink | None = None
    if csv_out is not None:
        file_sink = CsvRows(csv_out, names, conf.gateway_id)
    elif parquet_out is not None:
        file_sink = ParquetRows(parquet_out, names, conf.gateway_id)
    if file_sink is not None:
        summary = await run(file_sink)
        return summary, file_sink.written
    limit = settings.stream.max_message_bytes
    async with KafkaSink.from_settings(
        settings, settings.topics.flows, client="capture", max_message_bytes=limit
    ) as kafka:
        rows = KafkaRows(kafka, names, conf.gateway_id, conf.batch, limit)
        summary = await run(rows)
    return summary, rows.written


def print_summary(console: Console, summary: CaptureSummary, written: int, target: str) -> None:
    """The capture's final report on stdout: packets read, used and skipped by reason."""
    out = console.out
    out.print(
        f"[bold]{summary.windows:,} rows[/] → {target} ({written:,} written/acknowledged) "
        f"from {summary.packets_read:,} packets in {summary.elapsed_s:.1f}s "
        f"([bold]{summary.packets_per_s:,.0f} packets/s[/], {summary.sources} source"
        f"{'s' if summary.sources != 1 else ''})"
    )
    out.print(
        f"packets read {summary.packets_read:,}: in rows {summary.packets_used:,}, "
        f"skipped {summary.packets_skipped:,}"
    )
    for reason, count in sorted(summary.skipped.items()):
        out.print(f"  {reason.value:<22} {count:,}")
    for name, why in summary.refused_sources:
        out.print(f"[yellow]refused[/] {name}: {why}", markup=False)
    if written < summary.windows:
        out.print(f"[red]{summary.windows - written:,} rows were not written/acknowledged[/]")


def register(app: typer.Typer) -> None:
    """Add ``iotad capture``."""
    app.command("capture")(capture)
