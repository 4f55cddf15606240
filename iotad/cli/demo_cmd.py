"""`iotad demo`: the whole system on this machine — broker, worker, feed, hot swap, summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iotad.cli.context import cli_context
from iotad.errors import ExitCode

#: Help of ``iotad demo``: one string per paragraph (rich wraps them to the terminal).
DEMO_HELP = "\n\n".join(
    (
        "Run the whole product on this machine for a bounded time, then shut it down.",
        "Starts a local Kafka broker (its data under the run dir, free ports; `--docker` uses "
        "`docker compose` instead), starts one scoring worker with the default model bundle, "
        "feeds it flows for `--duration` seconds with a few bad messages mixed in, shows a "
        "live view (flows/s, alerts by category, latency, dead letters, model), hot-swaps to "
        "a second bundle half-way through, waits until the worker has accounted for every "
        "flow, then prints a summary and writes it to var/demo/<timestamp>/summary.json with "
        "a chart of alerts over time (alerts.png). Ctrl-C stops it cleanly.",
        "[bold]Data[/]: without `--data`, a built-in generator makes [bold]SYNTHETIC[/] "
        "CICIoT2023 flows (39-column layout, gateway gw-demo-synthetic) from per-label "
        "statistics of the real rows that ship with iotad: mostly benign traffic with bursts "
        "of DDoS, port scan, web attack, brute force, Mirai and DoS. With `--data PATH` it "
        "replays real CICIoT2023 CSV files (or folders) instead.",
        "[bold]Packets[/]: before the feed, a packet stage turns packets into CICIoT2023 "
        "feature windows with `iotad capture`'s own code and sends them to the same worker "
        "(gateway gw-demo-packets): a small built-in pcap of generated packets (a ward's "
        "benign traffic, then a SYN scan, a UDP flood and an HTTP burst), or your files with "
        "`--pcap FILE`; `--no-packets` skips it.",
        "[bold]Models[/]: models/defaults.json names the two bundles "
        "(`python scripts/build_default_bundles.py` rebuilds them); `--bundle` and "
        "`--swap-bundle` choose others.",
    )
)


def demo(
    ctx: typer.Context,
    duration: Annotated[
        float | None,
        typer.Option("--duration", min=1.0, help="Seconds of feed (60; IOTAD_DEMO__DURATION_S)."),
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", min=1.0, help="Flows per second (1000).")
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch", min=0, help="Flows per batch envelope; 0 or 1: one per message (50)."
        ),
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data", help="Replay these CICIoT2023 CSV files/folders instead (repeatable)."
        ),
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Bundle the worker starts with.")
    ] = None,
    swap_bundle: Annotated[
        Path | None, typer.Option("--swap-bundle", help="Bundle hot-swapped in mid-run.")
    ] = None,
    docker: Annotated[
        bool,
        typer.Option(
            "--docker", help="Run the broker with docker compose (needs a Docker engine)."
        ),
    ] = False,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap", help="Use this running broker (host:port) instead of starting one."
        ),
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Where the run writes (var/demo/<timestamp>).")
    ] = None,
    pcap: Annotated[
        list[Path] | None,
        typer.Option("--pcap", help="Packet stage: capture these pcap/pcapng files (repeatable)."),
    ] = None,
    packets: Annotated[
        bool,
        typer.Option("--packets/--no-packets", help="Run the packet stage (default: yes)."),
    ] = True,
) -> ExitCode:
    """Run the demo (see `iotad demo --help`)."""
    from iotad.demo.runner import DemoRequest, run_demo
    from iotad.errors import ConfigError

    if docker and bootstrap:
        raise ConfigError("give either --docker or --bootstrap, not both")
    if pcap and not packets:
        raise ConfigError("--pcap gives the packet stage its files: drop --no-packets")
    cli = cli_context(ctx)
    settings = cli.settings(
        {
            "demo": {
                "duration_s": duration,
                "rate": rate,
                "batch": batch,
                "bundle": bundle,
                "swap_bundle": swap_bundle,
            }
        }
    )
    request = DemoRequest(
        settings=settings,
        data=tuple(data or ()),
        docker=docker,
        bootstrap=bootstrap,
        run_dir=run_dir,
        pcap=tuple(pcap or ()),
        packets=packets,
    )
    summary = run_demo(request, cli.console)
    if summary.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.OK if summary.ok else ExitCode.ERROR


def register(app: typer.Typer) -> None:
    """Add ``iotad demo``."""
    app.command("demo", help=DEMO_HELP)(demo)
