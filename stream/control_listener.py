"""The worker's side of model control: follow the models topic and hot-swap bundles.

Every worker reads the models topic on its own (no consumer group, from the end at start-up), so
a promote reaches all of them. For each promote or rollback the worker loads and verifies the
bundle in a background thread (:func:`iotad.stream.loader.load_model`, including the feature
compatibility check), swaps it into the :class:`ModelSlot` between batches, and answers on the
same topic with ``activated`` or ``refused``. A refused bundle never serves; the old one does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from iotad.errors import ModelLoadError
from iotad.kafka_security import aiokafka_options
from iotad.schemas.baseline_bundle import bundle_kind
from iotad.schemas.control import ControlAction, ModelControl
from iotad.schemas.messages import ModelRef
from iotad.stream.baselines import baseline_trust, load_gateway_baseline
from iotad.stream.loader import LoadedModel, load_model
from iotad.stream.model_control import control_event
from iotad.stream.runtime import WorkerRuntime
from iotad.stream.topics import missing_topics

logger = logging.getLogger(__name__)

Reply = Callable[[ModelControl], Awaitable[None]]


def parse_control(raw: bytes | None, where: dict[str, Any]) -> ModelControl | None:
    """The control event in ``raw``, or ``None`` (logged) when it is not one."""
    try:
        return ModelControl.model_validate_json(raw or b"")
    except ValidationError as exc:
        logger.warning(
            "ignoring a message on the models topic that is not a control event: %s",
            exc.errors()[0]["msg"],
            extra=where,
        )
        return None


def _verify(runtime: WorkerRuntime, path: Path) -> LoadedModel:
    """Load and verify ``path`` for this worker, including the alert topics it would need."""
    loaded = load_model(
        path, runtime.settings.stream, serving_spec=runtime.slot.current.serving.spec
    )
    if runtime.topics.per_category_alerts:
        needed = runtime.topics.required(loaded.serving.policy.categories)
        missing = missing_topics(runtime.settings, needed)
        if missing:
            raise ModelLoadError(
                f"bundle {loaded.manifest.reference} needs alert topics that do not exist: "
                f"{', '.join(missing)}"
            )
    return loaded


async def handle_baseline(event: ModelControl, runtime: WorkerRuntime, reply: Reply) -> None:
    """Load, verify and serve the gateway baseline a promote names; answer either way."""
    path = Path(event.bundle_path)
    loop = asyncio.get_running_loop()
    spec = runtime.slot.current.serving.spec
    try:
        stream = runtime.settings.stream
        loaded = await loop.run_in_executor(
            None, lambda: load_gateway_baseline(path, spec, baseline_trust(stream, path))
        )
        if event.model is not None and event.model != loaded.baseline.model:
            raise ModelLoadError(
                f"baseline at {path} is {loaded.manifest.reference}, the request named "
                f"{event.model.name}@{event.model.version}"
            )
    except ModelLoadError as exc:
        logger.error(
            "refused baseline %s: %s", path, exc.message, extra={"event_id": event.event_id}
        )
        await _answer(runtime, reply, event, ControlAction.REFUSED, event.model, exc.message)
        return
    runtime.install_baseline(loaded, origin="promoted")
    await _answer(runtime, reply, event, ControlAction.ACTIVATED, loaded.baseline.model)


async def handle_request(event: ModelControl, runtime: WorkerRuntime, reply: Reply) -> None:
    """Load, verify and swap in the bundle a promote/rollback names; answer either way.

    A promote naming a gateway baseline bundle installs it for its gateway instead
    (:func:`handle_baseline`); the classifier keeps serving.
    """
    current = runtime.slot.current
    path = Path(event.bundle_path)
    try:
        kind = bundle_kind(path)
    except ModelLoadError:
        kind = "classifier"  # not readable: the classifier path refuses it with the reason
    if kind == "baseline":
        await handle_baseline(event, runtime, reply)
        return
    logger.info(
        "%s requested: %s (serving %s)",
        event.action.value,
        path,
        current.manifest.reference,
        extra={"event_id": event.event_id},
    )
    loop = asyncio.get_running_loop()
    try:
        loaded: LoadedModel = await loop.run_in_executor(None, lambda: _verify(runtime, path))
        if event.model is not None and event.model != loaded.serving.model:
            raise ModelLoadError(
                f"bundle at {path} is {loaded.serving.model.name}@{loaded.serving.model.version} "
                f"sha256 {loaded.serving.model.sha256[:12]}…, the request named "
                f"{event.model.name}@{event.model.version} sha256 {event.model.sha256[:12]}…"
            )
    except ModelLoadError as exc:
        logger.error(
            "refused bundle %s: %s; still serving %s",
            path,
            exc.message,
            current.manifest.reference,
            extra={"event_id": event.event_id},
        )
        await _answer(runtime, reply, event, ControlAction.REFUSED, event.model, exc.message)
        return
    previous = runtime.slot.swap(loaded)
    runtime.show_model(loaded)
    logger.info(
        "now serving %s (was %s) from the next batch on",
        loaded.manifest.reference,
        previous.manifest.reference,
        extra={"event_id": event.event_id},
    )
    await _answer(runtime, reply, event, ControlAction.ACTIVATED, loaded.serving.model)


async def _answer(
    runtime: WorkerRuntime,
    reply: Reply,
    request: ModelControl,
    outcome: ControlAction,
    model: ModelRef | None,
    reason: str | None = None,
) -> None:
    """Count the outcome and publish this worker's answer to ``request``."""
    runtime.metrics.model_swaps.labels(outcome=outcome.value).inc()
    await reply(
        control_event(
            outcome,
            request.bundle_path,
            model=model,
            request_id=request.event_id,
            worker_id=runtime.worker_id,
            reason=reason,
        )
    )


async def follow_control_topic(runtime: WorkerRuntime, reply: Reply) -> None:
    """Consume the models topic from its end and handle each request, one at a time."""
    from aiokafka import AIOKafkaConsumer

    settings = runtime.settings
    topic = runtime.topics.models
    # No consumer group: every partition of the topic is this worker's, read from its end.
    consumer = AIOKafkaConsumer(
        topic,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        **aiokafka_options(settings.kafka, "control"),
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        for tp in consumer.assignment():
            await consumer.position(tp)  # resolve "latest" now, so nothing later is missed
        runtime.control_ready = True
        logger.info("following model control on %s", topic)
        async for message in consumer:
            where = {
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
            }
            event = parse_control(message.value, where)
            if event is not None and event.action.is_request:
                await handle_request(event, runtime, reply)
    finally:
        runtime.control_ready = False
        await consumer.stop()


__all__ = ["follow_control_topic", "handle_baseline", "handle_request", "parse_control"]
