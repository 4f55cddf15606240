"""Building and publishing model-control events (``iotad.model_control.v1``).

Used by ``iotad models promote|rollback`` (kafka-python, no Faust needed) and, for replies, by the
worker's control listener.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from iotad.errors import BrokerError
from iotad.schemas.control import ControlAction, ModelControl
from iotad.schemas.manifest import BundleManifest
from iotad.schemas.messages import ModelRef
from iotad.settings import Settings
from iotad.stream.topics import broker_unreachable


def model_ref(manifest: BundleManifest) -> ModelRef:
    """Name, version and model sha256 of a bundle manifest."""
    return ModelRef(
        name=manifest.name,
        version=manifest.version,
        sha256=manifest.sha256[manifest.files.model],
    )


def control_event(
    action: ControlAction,
    bundle_path: Path | str,
    *,
    model: ModelRef | None,
    request_id: str | None = None,
    worker_id: str | None = None,
    reason: str | None = None,
) -> ModelControl:
    """A new control event with a fresh id and the current time."""
    return ModelControl(
        event_id=uuid.uuid4().hex,
        action=action,
        issued_at_ms=int(time.time() * 1000),
        bundle_path=str(bundle_path),
        model=model,
        request_id=request_id,
        worker_id=worker_id,
        reason=reason,
    )


def publish_control_event(settings: Settings, event: ModelControl) -> None:
    """Publish ``event`` on the models topic and wait for the broker's acknowledgement.

    Raises
    ------
    BrokerError
        if the broker cannot be reached or refuses the event.
    """
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        producer = KafkaProducer(
            bootstrap_servers=settings.kafka.bootstrap_servers.split(","),
            client_id=f"{settings.kafka.client_id}-models",
            acks="all",
            request_timeout_ms=int(settings.kafka.request_timeout_s * 1000),
        )
    except KafkaError as exc:
        raise broker_unreachable(settings.kafka.bootstrap_servers, exc) from exc
    try:
        future = producer.send(
            settings.topics.models,
            key=event.action.value.encode(),
            value=event.model_dump_json().encode(),
        )
        future.get(timeout=settings.kafka.request_timeout_s)
    except KafkaError as exc:
        raise BrokerError(
            f"could not publish the {event.action.value} event on "
            f"{settings.topics.models!r}: {exc}",
            hint="check that the models topic exists (`iotad kafka topics`)",
        ) from exc
    finally:
        producer.close(timeout=5)


class ReplyWatcher:
    """Reads worker replies on the models topic, from where the topic ends when created.

    Create it *before* publishing a request, so that no reply can be missed.
    """

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka.bootstrap_servers.split(","),
            client_id=f"{settings.kafka.client_id}-models-watch",
            group_id=None,
            enable_auto_commit=False,
        )
        topic = settings.topics.models
        partitions = self._consumer.partitions_for_topic(topic) or {0}
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_end(*assigned)
        for tp in assigned:
            self._consumer.position(tp)

    def replies(
        self, request_id: str, timeout_s: float, quiet_s: float = 2.0
    ) -> list[ModelControl]:
        """Replies to ``request_id`` until ``timeout_s``, or ``quiet_s`` after the last one."""
        found: list[ModelControl] = []
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline and (last is None or time.monotonic() - last < quiet_s):
            for records in self._consumer.poll(timeout_ms=200).values():
                for record in records:
                    try:
                        event = ModelControl.model_validate_json(record.value or b"")
                    except ValueError:
                        continue  # not a control event; the workers log those
                    if event.request_id == request_id:
                        found.append(event)
                        last = time.monotonic()
        return found

    def close(self) -> None:
        """Leave the topic."""
        self._consumer.close()


__all__ = ["ReplyWatcher", "control_event", "model_ref", "publish_control_event"]
