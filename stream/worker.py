"""Run a scoring worker in this process (what ``iotad stream worker`` calls).

Faust runs programmatically: no ``faust -A module:app`` and no app at import time. The worker
checks that its topics exist and that it has a valid model before it joins the consumer group,
and stops cleanly on SIGTERM/SIGINT (offsets of batches whose output the broker acknowledged are
committed; anything else is read again by whichever worker takes the partition next).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from iotad.errors import BrokerError
from iotad.settings import Settings
from iotad.stream.app import create_app
from iotad.stream.loader import LoadedModel, startup_model
from iotad.stream.topics import WorkerTopics, missing_topics, topic_partitions

logger = logging.getLogger(__name__)


def preflight(settings: Settings, loaded: LoadedModel) -> None:
    """Refuse to start when a topic the worker needs does not exist, or when the incident
    table could not be co-partitioned with the alerts topic.

    Raises
    ------
    BrokerError
        naming the missing topics, or the alerts topic's partition count.
    """
    topics = WorkerTopics.from_settings(settings.topics)
    missing = missing_topics(settings, topics.required(loaded.serving.policy.categories))
    if missing:
        raise BrokerError(
            f"topics missing on {settings.kafka.bootstrap_servers}: {', '.join(missing)}",
            hint="create them with `iotad kafka up` (or `iotad kafka topics`); with "
            "topics.per_category_alerts the per-category alert topics are needed too",
        )
    if settings.incidents.enabled:
        alerts = settings.topics.alerts
        found = topic_partitions(settings, [alerts]).get(alerts)
        if found != settings.topics.partitions:
            raise BrokerError(
                f"topic {alerts} has {found} partitions, topics.partitions is "
                f"{settings.topics.partitions}: the incident table (one changelog partition per "
                "alerts partition) needs them equal",
                hint="set IOTAD_TOPICS__PARTITIONS to the alerts topic's partition count, or "
                "turn incidents off (IOTAD_INCIDENTS__ENABLED=false)",
            )


def run_worker(settings: Settings, *, bundle: Path | None = None) -> int:
    """Run the worker until it is stopped; the process exit status.

    Raises
    ------
    ModelLoadError
        if no valid model can be loaded.
    BrokerError
        if the broker cannot be reached or a topic is missing.
    """
    import faust

    loaded = startup_model(settings.stream, bundle)
    preflight(settings, loaded)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = create_app(settings, model=loaded, loop=loop)
    worker = faust.Worker(
        app,
        loop=loop,
        loglevel=settings.log_level,
        override_logging=False,
        redirect_stdouts=False,
        quiet=True,
    )
    logger.info(
        "worker %s starting: group %s, flows %s, model %s, web http://%s:%d",
        app.iotad_runtime.worker_id,
        settings.stream.app_id,
        settings.topics.flows,
        loaded.manifest.reference,
        settings.stream.web_host,
        settings.stream.web_port,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
    finally:
        app.iotad_runtime.close()
    return 0


__all__ = ["preflight", "run_worker"]
