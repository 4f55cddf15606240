"""`iotad stream worker`: run the scoring worker (Faust, run programmatically)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from iotad.cli.context import cli_context
from iotad.errors import ExitCode

#: Help of ``iotad stream worker``: one string per paragraph (rich wraps them to the terminal).
WORKER_HELP = "\n\n".join(
    (
        "Score flows from Kafka and publish alerts by attack category.",
        "[bold]Run[/]: start the broker and topics (`iotad kafka up`), then "
        "`iotad stream worker --bundle models/<task>/<model>/<version>`. The worker reads flow "
        "messages (single `iotad.flow.v1` or batched `iotad.flow_batch.v1`) from the flows "
        "topic, scores them with the model bundle and publishes one alert per attack flow to "
        "the alerts topic (key = category; `--per-category-alerts` also writes "
        "`<alerts>.<category>`). Benign flows are counted, not alerted. Input it cannot score "
        "goes to the dead-letter topic with a reason code and the original bytes.",
        "[bold]Model[/]: the worker starts with the bundle last promoted by "
        "`iotad models promote` (recorded in the state dir), else `--bundle`; it refuses to "
        "start without a valid model and says why. Promote and rollback swap the model in "
        "every running worker without a restart.",
        "[bold]Scale[/]: run the same command N times with the same `--app-id` (one consumer "
        "group). The flows topic's partitions are shared among the workers: each partition is "
        "read by exactly one worker, so at most as many workers as partitions do useful work; "
        "extra workers stand by and take over when one stops. Give each worker on one host "
        "its own `--web-port`.",
        "[bold]Monitor[/]: http://HOST:PORT/healthz (alive), /readyz (model loaded and "
        "partitions assigned; 503 otherwise), /metrics (Prometheus: flows in, alerts by "
        "category, dead letters by reason, batch sizes, latencies, model version, consumer "
        "lag). `iotad alerts tail` follows the alerts.",
        "[bold]Stop[/]: SIGTERM or Ctrl-C. Delivery is at least once: offsets are committed "
        "only after a batch's alerts and dead letters are on the broker, so a crash can repeat "
        "(never lose) the batch in flight; a repeated alert keeps its alert_id.",
    )
)


def worker(
    ctx: typer.Context,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle",
            help="Model bundle directory to serve when none was promoted (IOTAD_STREAM__BUNDLE).",
        ),
    ] = None,
    app_id: Annotated[
        str | None,
        typer.Option("--app-id", help="Consumer group shared by the workers (iotad-worker)."),
    ] = None,
    web_host: Annotated[
        str | None, typer.Option("--web-host", help="Address of /healthz /readyz /metrics.")
    ] = None,
    web_port: Annotated[
        int | None, typer.Option("--web-port", min=1, max=65535, help="Web port (6066).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Messages per scoring batch (1000).")
    ] = None,
    batch_within: Annotated[
        float | None,
        typer.Option("--batch-within", min=0.001, help="Max seconds to fill a batch (0.05)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", min=0.0, max=1.0, help="Minimum confidence for an alert (0.5)."
        ),
    ] = None,
    per_category_alerts: Annotated[
        bool | None,
        typer.Option(
            "--per-category-alerts/--no-per-category-alerts",
            help="Also publish to iotad.alerts.<category> topics.",
        ),
    ] = None,
) -> ExitCode:
    """Run one scoring worker until SIGTERM/Ctrl-C."""
    from iotad.stream.worker import run_worker

    settings = cli_context(ctx).settings(
        {
            "stream": {
                "app_id": app_id,
                "web_host": web_host,
                "web_port": web_port,
                "batch_size": batch_size,
                "batch_within_s": batch_within,
                "confidence_threshold": threshold,
            },
            "topics": {"per_category_alerts": per_category_alerts},
        }
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for noisy in ("kafka", "aiokafka"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    code = run_worker(settings, bundle=bundle)
    return ExitCode.OK if code == 0 else ExitCode.ERROR


def register(app: typer.Typer) -> None:
    """Add ``iotad stream``."""
    stream_app = typer.Typer(
        help="The scoring worker: flows from Kafka in, alerts and dead letters out.",
        no_args_is_help=True,
        rich_markup_mode="rich",
    )
    stream_app.command("worker", help=WORKER_HELP)(worker)
    app.add_typer(stream_app, name="stream")
