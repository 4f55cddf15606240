"""`iotad alerts tail`: follow the alerts (or, with ``--incidents``, the incidents) the worker
publishes, live or as JSON lines."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from iotad.cli.context import cli_context
from iotad.errors import ExitCode

if TYPE_CHECKING:
    from iotad.schemas.incidents import Incident
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
        bool,
        typer.Option(
            "--json", help="One iotad.alert.v1 (or iotad.incident.v1) JSON object per line."
        ),
    ] = False,
    incidents: Annotated[
        bool,
        typer.Option(
            "--incidents",
            help="Follow the incidents topic: one line per incident opened, updated or closed.",
        ),
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
        str | None,
        typer.Option(
            "--topic",
            help="Topic (default IOTAD_TOPICS__ALERTS, with --incidents IOTAD_TOPICS__INCIDENTS).",
        ),
    ] = None,
) -> ExitCode:
    """Print alerts as they arrive: time, severity, category, label, confidence, device, model."""
    from iotad.broker import quiet_client_logs
    from iotad.schemas.messages import Alert
    from iotad.stream.alerts_tail import (
        TailOptions,
        alert_topics,
        parse_categories,
        tail_alerts,
        tail_incidents,
    )

    cli = cli_context(ctx)
    settings = cli.settings(
        {
            "kafka": {"bootstrap_servers": bootstrap},
            "topics": {"incidents" if incidents else "alerts": topic},
        }
    )
    quiet_client_logs()
    categories = parse_categories(category or [])
    options = TailOptions(
        topics=(settings.topics.incidents,) if incidents else alert_topics(settings, categories),
        categories=categories,
        from_beginning=from_beginning,
        max_alerts=max_alerts,
        idle_timeout_s=timeout,
    )
    console = cli.console

    def show(message: Alert | Incident, where: AlertRecord) -> None:
        if as_json:
            console.out.print(
                message.model_dump_json(), markup=False, highlight=False, soft_wrap=True
            )
        elif isinstance(message, Alert):
            console.out.print(alert_line(message), highlight=False)
        else:
            console.out.print(incident_line(message), highlight=False)

    what = "incident" if incidents else "alert"

    def invalid(reason: str, where: AlertRecord) -> None:
        console.warn(f"invalid {what} at {where.topic}/{where.partition}@{where.offset}: {reason}")

    def ready() -> None:
        console.status(f"following {', '.join(options.topics)} (Ctrl-C to stop)")

    try:
        if incidents:
            summary = tail_incidents(settings, options, show, invalid, on_ready=ready)
        else:
            summary = tail_alerts(settings, options, show, invalid, on_ready=ready)
    except KeyboardInterrupt:
        return ExitCode.OK
    console.status(
        f"{summary.shown} {what}s shown, {summary.invalid} invalid, "
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


def incident_line(incident: Incident) -> str:
    """One line (rich markup) for an incident event: what happened, key, counts, hosts, duration.

    e.g. ``12:00:31.070 UPDATED           #3 HIGH     DDoS  gw-ward-3 target 10.20.3.1  1,204 alerts
    (DDoS-SYN_Flood 1,200, DDoS-ACK_Fragmentation 4) peak 2,400/min  src 10.9.1.7×40 …  31.0s``
    """
    emitted = datetime.fromtimestamp(incident.emitted_at_ms / 1000).strftime("%H:%M:%S.%f")[:-3]
    style = _SEVERITY_STYLE.get(incident.severity.value, "")
    labels = sorted(incident.labels.items(), key=lambda item: (-item[1], item[0]))
    shown_labels = ", ".join(f"{_escape(name)} {n:,}" for name, n in labels[:3])
    if len(labels) > 3:
        shown_labels += f", +{len(labels) - 3} more"
    hosts = []
    for name, counts in (("src", incident.top_sources), ("dst", incident.top_targets)):
        if counts:
            hosts.append(f"{name} " + " ".join(f"{_escape(h.host)}×{h.alerts}" for h in counts[:3]))
    event = incident.event.value.upper()
    if incident.close_reason is not None:
        event += f" ({incident.close_reason.value})"
    return (
        f"{emitted} [bold]{event:<17}[/] #{incident.sequence} "
        f"[{style}]{incident.severity.value.upper():<8}[/] "
        f"[bold]{_escape(incident.category):<10}[/] "
        f"{_escape(incident.gateway_id)} {incident.host_role.value} {_escape(incident.host)}  "
        f"{incident.alerts:,} alerts ({shown_labels}) "
        f"peak {incident.peak_rate_per_min:,.0f}/min  {'  '.join(hosts)}  "
        f"{incident.duration_ms / 1000:.1f}s  [dim]{incident.incident_id[:12]}[/]"
    )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def register(app: typer.Typer) -> None:
    """Add ``iotad alerts tail``."""
    alerts_app = typer.Typer(
        help="Follow the alerts (or incidents) the worker publishes.", no_args_is_help=True
    )
    alerts_app.command("tail")(tail)
    app.add_typer(alerts_app, name="alerts")


__all__ = ["alert_line", "incident_line", "register"]
