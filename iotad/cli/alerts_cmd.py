"""`iotad alerts tail`: follow the alerts the worker publishes, live or as JSON lines."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from iotad.cli.context import cli_context
from iotad.errors import ExitCode

if TYPE_CHECKING:
    from iotad.schemas.messages import Alert
    from iotad.stream.alerts_tail import AlertRecord

_SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
}


def tail(
    ctx: typer.Context,
    category: Annotated[
        list[str] | None,
        typer.Option("--category", help="Only this category (repeatable), e.g. DDoS, Recon."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One iotad.alert.v1 JSON object per line on stdout.")
    ] = False,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest alert kept by Kafka.")
    ] = False,
    max_alerts: Annotated[
        int | None, typer.Option("--max", min=1, help="Stop after this many alerts.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.1, help="Stop after this many seconds without an alert."),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option("--bootstrap", help="Kafka servers (default IOTAD_KAFKA__BOOTSTRAP_SERVERS)."),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Alert topic (default IOTAD_TOPICS__ALERTS).")
    ] = None,
) -> ExitCode:
    """Print alerts as they arrive: time, severity, category, label, confidence, device, model."""
    from iotad.broker import quiet_client_logs
    from iotad.stream.alerts_tail import TailOptions, alert_topics, parse_categories, tail_alerts

    cli = cli_context(ctx)
    settings = cli.settings(
        {"kafka": {"bootstrap_servers": bootstrap}, "topics": {"alerts": topic}}
    )
    quiet_client_logs()
    categories = parse_categories(category or [])
    options = TailOptions(
        topics=alert_topics(settings, categories),
        categories=categories,
        from_beginning=from_beginning,
        max_alerts=max_alerts,
        idle_timeout_s=timeout,
    )
    console = cli.console

    def show(alert: Alert, where: AlertRecord) -> None:
        if as_json:
            console.out.print(
                alert.model_dump_json(), markup=False, highlight=False, soft_wrap=True
            )
        else:
            console.out.print(alert_line(alert), highlight=False)

    def invalid(reason: str, where: AlertRecord) -> None:
        console.warn(f"invalid alert at {where.topic}/{where.partition}@{where.offset}: {reason}")

    def ready() -> None:
        console.status(f"following {', '.join(options.topics)} (Ctrl-C to stop)")

    try:
        summary = tail_alerts(settings, options, show, invalid, on_ready=ready)
    except KeyboardInterrupt:
        return ExitCode.OK
    console.status(
        f"{summary.shown} alerts shown, {summary.invalid} invalid, "
        f"{summary.filtered_out} of other categories ({summary.stopped_by})"
    )
    return ExitCode.OK


def alert_line(alert: Alert) -> str:
    """One compact, colour-coded line (rich markup) for an alert."""
    detected = datetime.fromtimestamp(alert.detected_at_ms / 1000).strftime("%H:%M:%S.%f")[:-3]
    style = _SEVERITY_STYLE.get(alert.severity.value, "")
    device = f"{alert.gateway_id}/{alert.device_id}"
    model = f"{alert.model.name}@{alert.model.version}"
    label = _escape(alert.label or "-")
    return (
        f"{detected} [{style}]{alert.severity.value.upper():<8}[/] "
        f"[bold]{_escape(alert.category):<10}[/] {label:<24} {alert.confidence:5.2f}  "
        f"{_escape(device)}  [dim]{_escape(model)}[/]"
    )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def register(app: typer.Typer) -> None:
    """Add ``iotad alerts tail``."""
    alerts_app = typer.Typer(help="Follow the alerts the worker publishes.", no_args_is_help=True)
    alerts_app.command("tail")(tail)
    app.add_typer(alerts_app, name="alerts")


__all__ = ["alert_line", "register"]
