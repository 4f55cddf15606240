"""`iotad kafka up|down|status|topics`: the local Kafka broker and the product's topics."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from iotad.cli.context import cli_context
from iotad.errors import ExitCode

PortOption = Annotated[
    int | None, typer.Option("--port", help="Client port (default 9092, IOTAD_BROKER__PORT).")
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Broker data dir (default ~/.cache/iotad/broker/data)."),
]


def up(
    ctx: typer.Context,
    port: PortOption = None,
    controller_port: Annotated[
        int | None, typer.Option("--controller-port", help="KRaft controller port (default 9093).")
    ] = None,
    data_dir: DataDirOption = None,
    partitions: Annotated[
        int | None, typer.Option("--partitions", min=1, help="Partitions of new topics.")
    ] = None,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Stay attached; Ctrl-C stops the broker.")
    ] = False,
) -> ExitCode:
    """Start the broker (jars from Maven Central on first use) and create the topics."""
    from iotad.broker import (
        broker_status,
        ensure_topics,
        product_topics,
        quiet_client_logs,
        start_broker,
    )
    from iotad.broker.security import probe_client

    cli = cli_context(ctx)
    settings = cli.settings(
        {
            "broker": {"port": port, "controller_port": controller_port, "data_dir": data_dir},
            "topics": {"partitions": partitions},
        }
    )
    quiet_client_logs()
    console = cli.console
    status = broker_status(settings.broker)
    if status.running and status.state is not None:
        if foreground:
            console.error(f"a broker already runs in the background (pid {status.state.pid})")
            return ExitCode.BROKER
        console.status(
            f"broker already running on {status.state.bootstrap_servers} (pid {status.state.pid})"
        )
        bootstrap = status.state.bootstrap_servers
        broker = None
    else:
        console.status(f"starting Kafka {settings.broker.kafka_version} …")
        broker = start_broker(settings.broker)
        bootstrap = broker.bootstrap_servers
        console.status(
            f"broker up on [bold]{bootstrap}[/] (pid {broker.state.pid}); "
            f"log: {broker.state.log_file}"
        )
        if settings.broker.security.secured_ports:
            listed = ", ".join(f"{n} {p}" for n, p in broker.state.listeners.items())
            console.status(f"listeners: {listed}")
    # Without a PLAINTEXT listener, topics are created over TLS/SASL as the broker itself.
    target = bootstrap if settings.broker.security.plaintext else probe_client(settings.broker)
    report = ensure_topics(target, product_topics(settings.topics))
    for topic in report.created:
        console.status(f"created topic {topic.name} ({topic.partitions} partitions)")
    if report.existing:
        console.status(f"{len(report.existing)} topics already existed")
    if broker is None or not foreground:
        return ExitCode.OK
    console.status("running in the foreground; Ctrl-C stops the broker")
    _interrupt_on_termination()
    try:
        code = broker.wait()
    except KeyboardInterrupt:
        console.status("stopping the broker …")
        broker.stop(settings.broker.stop_timeout_s)
        return ExitCode.OK
    console.error(f"the broker exited with code {code}; see {broker.state.log_file}")
    return ExitCode.BROKER


def down(ctx: typer.Context, data_dir: DataDirOption = None) -> ExitCode:
    """Stop the broker that `iotad kafka up` started (exactly that process)."""
    from iotad.broker import stop_broker

    cli = cli_context(ctx)
    settings = cli.settings({"broker": {"data_dir": data_dir}})
    stopped = stop_broker(settings.broker)
    if stopped is None:
        cli.console.status("no broker was running")
    else:
        cli.console.status(f"stopped the broker on {stopped.bootstrap_servers} (pid {stopped.pid})")
    return ExitCode.OK


def status(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> ExitCode:
    """Whether the local broker runs: pid, port, uptime. Exit code 6 when it does not."""
    from iotad.broker import broker_status

    cli = cli_context(ctx)
    settings = cli.settings({"broker": {"data_dir": data_dir}})
    current = broker_status(settings.broker)
    if as_json:
        record = {
            "running": current.running,
            "stale": current.stale,
            "uptime_s": current.uptime_s,
            **(current.state.to_json() if current.state else {}),
        }
        cli.console.out.print(orjson.dumps(record).decode(), markup=False, highlight=False)
    elif current.running and current.state is not None:
        cli.console.out.print(
            f"[green]running[/] on {escape(current.state.bootstrap_servers)} "
            f"(pid {current.state.pid}, Kafka {escape(current.state.kafka_version)}, "
            f"up {_duration(current.uptime_s or 0.0)}), "
            f"data in {escape(str(current.state.data_dir))}"
        )
    elif current.stale and current.state is not None:
        cli.console.out.print(
            f"[red]not running[/]: pid {current.state.pid} recorded in "
            f"{escape(str(current.state.data_dir))} is gone "
            f"(see {escape(str(current.state.log_file))})"
        )
    else:
        cli.console.out.print("[yellow]not running[/]")
    return ExitCode.OK if current.running else ExitCode.BROKER


def topics(
    ctx: typer.Context,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap", help="Broker to ask (default IOTAD_KAFKA__BOOTSTRAP_SERVERS)."),
    ] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Create the product's topics first (idempotent).")
    ] = False,
    partitions: Annotated[
        int | None, typer.Option("--partitions", min=1, help="Partitions of new topics.")
    ] = None,
) -> ExitCode:
    """List the broker's topics with their partition counts."""
    from iotad.broker import ensure_topics, list_topics, product_topics, quiet_client_logs

    cli = cli_context(ctx)
    settings = cli.settings(
        {"kafka": {"bootstrap_servers": bootstrap}, "topics": {"partitions": partitions}}
    )
    quiet_client_logs()
    kafka = settings.kafka
    timeout = kafka.request_timeout_s
    if create:
        report = ensure_topics(kafka, product_topics(settings.topics), timeout_s=timeout)
        for topic in report.created:
            cli.console.status(f"created topic {topic.name} ({topic.partitions} partitions)")
    listed = list_topics(kafka, timeout_s=timeout)
    width = max((len(t.name) for t in listed), default=0)
    for topic in listed:
        cli.console.out.print(
            f"{topic.name:<{width}}  {topic.partitions}", markup=False, highlight=False
        )
    return ExitCode.OK


def _interrupt_on_termination() -> None:
    """Ctrl-C and SIGTERM both end a foreground broker cleanly (even if SIGINT was ignored)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def register(app: typer.Typer) -> None:
    """Add ``iotad kafka``."""
    kafka_app = typer.Typer(
        help="Run a local single-node Kafka broker (KRaft, no Docker) and manage the topics.",
        no_args_is_help=True,
    )
    for command in (up, down, status, topics):
        kafka_app.command(command.__name__)(command)
    app.add_typer(kafka_app, name="kafka")
