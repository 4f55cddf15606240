"""Building and publishing model-control events (``iotad.model_control.v1``), and the promote and
rollback operations built on them.

:func:`promote_bundle` and :func:`rollback_bundle` are the one implementation of a hot swap,
used by ``iotad models promote|rollback`` and by ``iotad demo`` (kafka-python, no Faust needed);
the worker's control listener uses :func:`control_event` for its replies.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from iotad.broker.admin import require_broker
from iotad.errors import BrokerError, ModelLoadError
from iotad.kafka_failures import connection_error
from iotad.kafka_security import kafka_python_options
from iotad.schemas.baseline_bundle import bundle_kind
from iotad.schemas.baseline_manifest import BaselineManifest
from iotad.schemas.control import ControlAction, ModelControl
from iotad.schemas.manifest import BundleManifest
from iotad.schemas.messages import ModelRef
from iotad.settings import Settings
from iotad.stream.state import ActiveBundleStore, BundleRecord


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

    require_broker(settings.kafka)
    try:
        producer = KafkaProducer(acks="all", **kafka_python_options(settings.kafka, "models"))
    except KafkaError as exc:
        raise connection_error(settings.kafka, exc) from exc
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
        from kafka.errors import KafkaError

        require_broker(settings.kafka)
        try:
            self._consumer = KafkaConsumer(
                group_id=None,
                enable_auto_commit=False,
                **kafka_python_options(settings.kafka, "models-watch"),
            )
        except KafkaError as exc:
            raise connection_error(settings.kafka, exc) from exc
        topic = settings.topics.models
        partitions = self._consumer.partitions_for_topic(topic) or {0}
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_end(*assigned)
        for tp in assigned:
            self._consumer.position(tp)

    def replies(
        self,
        request_id: str,
        timeout_s: float,
        quiet_s: float = 2.0,
        expected: int | None = None,
    ) -> list[ModelControl]:
        """Replies to ``request_id`` until ``timeout_s``, or ``quiet_s`` after the last one, or
        as soon as ``expected`` replies (when given) have come."""
        found: list[ModelControl] = []
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline and (last is None or time.monotonic() - last < quiet_s):
            if expected is not None and len(found) >= expected:
                break
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


@dataclass(frozen=True)
class ControlOutcome:
    """A published request and the workers' replies to it (empty when nobody waited)."""

    event: ModelControl
    replies: tuple[ModelControl, ...]
    waited_s: float

    @property
    def activated(self) -> tuple[ModelControl, ...]:
        """Replies of workers that now serve the bundle."""
        return tuple(r for r in self.replies if r.action is ControlAction.ACTIVATED)

    @property
    def refused(self) -> tuple[ModelControl, ...]:
        """Replies of workers that refused it (``reason`` says why)."""
        return tuple(r for r in self.replies if r.action is ControlAction.REFUSED)


def _announce(
    settings: Settings, event: ModelControl, wait_s: float, expected: int | None
) -> ControlOutcome:
    """Publish ``event`` and collect the replies within ``wait_s`` (the watcher starts first)."""
    watcher = ReplyWatcher(settings) if wait_s > 0 else None
    try:
        publish_control_event(settings, event)
        if watcher is None:
            return ControlOutcome(event, (), 0.0)
        started = time.monotonic()
        replies = watcher.replies(event.event_id, wait_s, expected=expected)
        return ControlOutcome(event, tuple(replies), time.monotonic() - started)
    finally:
        if watcher is not None:
            watcher.close()


def promote_bundle(
    settings: Settings,
    bundle: Path,
    *,
    wait_s: float,
    verify: bool = True,
    expected_replies: int | None = None,
) -> tuple[BundleManifest | BaselineManifest, ControlOutcome]:
    """Hot-swap ``bundle`` into every running worker and record it as the promoted bundle.

    A gateway baseline bundle goes to :func:`promote_baseline` instead.

    Verifies the bundle here first (as a worker would; ``verify=False`` only reads its
    manifest), records it in ``<stream.state_dir>/active_bundle.json``, publishes a ``promote``
    event on the models topic and collects the workers' replies for up to ``wait_s`` seconds
    (until ``expected_replies`` came, when given).

    Raises
    ------
    ModelLoadError
        if the bundle does not verify (or, unverified, has no readable manifest).
    BrokerError
        if the event cannot be published.
    """
    from iotad.stream.catalog import read_entry
    from iotad.stream.loader import load_model

    path = Path(bundle).resolve()
    if bundle_kind(path) == "baseline":
        return promote_baseline(settings, path, wait_s=wait_s, expected_replies=expected_replies)
    if verify:
        manifest = load_model(path, settings.stream).manifest
    else:
        entry = read_entry(path)
        if entry.manifest is None:
            raise ModelLoadError(f"{path}: no readable manifest.json", hint="is it a bundle?")
        manifest = entry.manifest
    ref = model_ref(manifest)
    ActiveBundleStore(settings.stream.state_dir).promote(
        BundleRecord(path=str(path), model=ref, promoted_at_ms=int(time.time() * 1000))
    )
    event = control_event(ControlAction.PROMOTE, path, model=ref)
    return manifest, _announce(settings, event, wait_s, expected_replies)


def promote_baseline(
    settings: Settings, bundle: Path, *, wait_s: float, expected_replies: int | None = None
) -> tuple[BaselineManifest, ControlOutcome]:
    """Serve the gateway baseline ``bundle`` for its gateway in every running worker.

    Verifies it here first, records it in ``<stream.state_dir>/baselines.json`` (so workers
    started later use it too) and publishes a ``promote`` event naming it.

    Raises
    ------
    ModelLoadError
        if the bundle does not verify.
    BrokerError
        if the event cannot be published.
    """
    from iotad.stream.baseline_state import BaselineStore
    from iotad.stream.baselines import baseline_trust, load_gateway_baseline

    path = Path(bundle).resolve()
    loaded = load_gateway_baseline(path, trust=baseline_trust(settings.stream, path))
    ref = loaded.baseline.model
    BaselineStore(settings.stream.state_dir).record(
        loaded.manifest.gateway_id,
        BundleRecord(path=str(path), model=ref, promoted_at_ms=int(time.time() * 1000)),
    )
    event = control_event(ControlAction.PROMOTE, path, model=ref)
    return loaded.manifest, _announce(settings, event, wait_s, expected_replies)


def rollback_bundle(
    settings: Settings, *, wait_s: float, expected_replies: int | None = None
) -> tuple[BundleRecord, ControlOutcome]:
    """Serve the previously promoted bundle again in every running worker.

    Raises
    ------
    ConfigError
        if no earlier bundle was promoted.
    BrokerError
        if the event cannot be published.
    """
    previous = ActiveBundleStore(settings.stream.state_dir).rollback()
    event = control_event(ControlAction.ROLLBACK, previous.path, model=previous.model)
    return previous, _announce(settings, event, wait_s, expected_replies)


__all__ = [
    "ControlOutcome",
    "ReplyWatcher",
    "control_event",
    "model_ref",
    "promote_baseline",
    "promote_bundle",
    "publish_control_event",
    "rollback_bundle",
]
