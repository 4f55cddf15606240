"""``create_app(settings)``: the Faust application of one scoring worker.

Nothing is created at import time. The app consumes the flows topic in the consumer group
``stream.app_id`` (N workers in that group share the partitions), scores with the model in its
slot, folds the alerts into incidents (``incident_agent.py``, unless ``incidents.enabled`` is
false), follows the models topic for hot swaps, and serves ``/healthz``, ``/readyz`` and
``/metrics`` on ``stream.web_host:stream.web_port``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import faust

from iotad.schemas.control import ModelControl
from iotad.settings import Settings
from iotad.stream.agents import register_scoring_agent
from iotad.stream.control_listener import follow_control_topic
from iotad.stream.incident_agent import IncidentService, register_incident_agent
from iotad.stream.lag import refresh_lag, watch_event_loop
from iotad.stream.loader import LoadedModel, startup_model
from iotad.stream.runtime import WorkerRuntime
from iotad.stream.topics import alerts_topic, flows_topic
from iotad.stream.web import register_web

logger = logging.getLogger(__name__)


class WorkerApp(faust.App):
    """A Faust app that also holds the worker's :class:`WorkerRuntime` (tests read it)."""

    iotad_runtime: WorkerRuntime
    iotad_incidents: IncidentService | None


def faust_config(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from iotad's (documented in docs/stream.md)."""
    stream = settings.stream
    return {
        "broker": [
            f"kafka://{host.strip()}" for host in settings.kafka.bootstrap_servers.split(",")
        ],
        "broker_client_id": settings.kafka.client_id,
        # A worker that dies is noticed after the session timeout; its partitions then move.
        "broker_session_timeout": stream.session_timeout_s,
        "broker_heartbeat_interval": stream.session_timeout_s / 3,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "datadir": str(Path(stream.state_dir) / "faust"),
        "consumer_auto_offset_reset": "earliest",
        # Offsets are committed after each acknowledged batch (agents.py); this is a backstop.
        "broker_commit_interval": 2.0,
        "stream_buffer_maxsize": max(4096, 2 * stream.batch_size),
        # Unacknowledged events of a stopped batch are re-read on restart, never waited for.
        "stream_wait_empty": False,
        "producer_acks": -1,
        "topic_disable_leader": True,
        "web_enabled": True,
        "web_bind": stream.web_host,
        "web_host": stream.web_host,
        "web_port": stream.web_port,
    }


def create_app(
    settings: Settings,
    *,
    model: LoadedModel | None = None,
    bundle: Path | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> WorkerApp:
    """The worker's ``faust.App``, serving ``model`` (default: :func:`startup_model`).

    Raises
    ------
    ModelLoadError
        if no valid model can be loaded (the worker must not start without one).
    """
    loaded = model if model is not None else startup_model(settings.stream, bundle)
    runtime = WorkerRuntime.create(settings, loaded)
    (Path(settings.stream.state_dir) / "faust").mkdir(parents=True, exist_ok=True)
    app = WorkerApp(settings.stream.app_id, loop=loop, **faust_config(settings))
    app.iotad_runtime = runtime
    register_scoring_agent(app, runtime, flows_topic(app, runtime.topics))
    app.iotad_incidents = (
        register_incident_agent(app, runtime, alerts_topic(app, runtime.topics))
        if settings.incidents.enabled
        else None
    )
    register_web(app, runtime)

    async def reply(event: ModelControl) -> None:
        future = await app.send(
            runtime.topics.models,
            key=event.action.value.encode(),
            value=event.model_dump_json().encode(),
        )
        await future

    async def model_control() -> None:
        try:
            await follow_control_topic(runtime, reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("model control stopped unexpectedly; stopping the worker")
            await app.crash(exc)
            raise

    async def consumer_lag() -> None:
        await refresh_lag(app, runtime)

    async def event_loop_lag() -> None:
        await watch_event_loop(runtime)

    app.task(model_control)
    app.task(event_loop_lag)
    app.timer(settings.stream.lag_interval_s)(consumer_lag)

    return app


__all__ = ["create_app", "faust_config"]
