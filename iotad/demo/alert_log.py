"""Every alert and incident event the worker publishes during the demo, read back from Kafka.

A thread runs replay's neighbour, :func:`iotad.stream.alerts_tail.tail_alerts`, from the start of
the (fresh) alert topic and records each alert's time, category, model version and the label the
flow carried, which is all the live view, the fidelity table and the chart need. A second thread
follows the incidents topic the same way and counts its messages (the compression the summary
reports: alerts per incident message).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

from kafka.errors import KafkaError

from iotad.errors import IotadError
from iotad.schemas.incidents import Incident, IncidentEvent
from iotad.schemas.messages import Alert
from iotad.settings import Settings
from iotad.stream.alerts_tail import AlertRecord, TailOptions, tail_alerts, tail_incidents

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeenAlert:
    """What the demo keeps of one alert."""

    detected_at_ms: int
    category: str
    model_version: str
    ground_truth_label: str | None
    gateway_id: str = ""
    src_ip: str | None = None
    #: whether the gateway's baseline decided it (the alert names a baseline)
    with_baseline: bool = False


@dataclass
class AlertLog:
    """Alerts seen so far (thread-safe: the tail thread writes, the demo reads)."""

    alerts: list[SeenAlert] = field(default_factory=list)
    invalid: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, alert: Alert, record: AlertRecord) -> None:
        """Record one alert (the tail's ``on_alert``)."""
        seen = SeenAlert(
            alert.detected_at_ms,
            alert.category,
            alert.model.version,
            alert.ground_truth_label,
            alert.gateway_id,
            alert.src_ip,
            alert.baseline is not None,
        )
        with self._lock:
            self.alerts.append(seen)

    def reject(self, reason: str, record: AlertRecord) -> None:
        """Count a message on the alert topic that is not a valid alert."""
        logger.warning(
            "invalid alert at %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            reason,
        )
        with self._lock:
            self.invalid += 1

    def copy(self) -> list[SeenAlert]:
        """The alerts seen so far."""
        with self._lock:
            return list(self.alerts)

    def __len__(self) -> int:
        with self._lock:
            return len(self.alerts)


@dataclass(frozen=True, slots=True)
class OpenedIncident:
    """What the demo keeps of an incident's ``opened`` event."""

    first_seen_ms: int
    category: str
    host: str
    gateway_id: str = ""


@dataclass
class IncidentLog:
    """Incident messages seen so far, by event, the incidents they belong to, and the incidents
    opened."""

    events: Counter[str] = field(default_factory=Counter)
    incident_ids: set[str] = field(default_factory=set)
    opened: list[OpenedIncident] = field(default_factory=list)
    invalid: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, incident: Incident, record: AlertRecord) -> None:
        """Count one incident event (the tail's callback)."""
        with self._lock:
            self.events[incident.event.value] += 1
            self.incident_ids.add(incident.incident_id)
            if incident.event is IncidentEvent.OPENED:
                self.opened.append(
                    OpenedIncident(
                        incident.first_seen_ms,
                        incident.category,
                        incident.host,
                        incident.gateway_id,
                    )
                )

    def reject(self, reason: str, record: AlertRecord) -> None:
        """Count a message on the incidents topic that is not a valid incident event."""
        logger.warning(
            "invalid incident at %s[%d]@%d: %s", record.topic, record.partition, record.offset,
            reason,
        )  # fmt: skip
        with self._lock:
            self.invalid += 1

    def opened_copy(self) -> list[OpenedIncident]:
        """The incidents opened so far."""
        with self._lock:
            return list(self.opened)

    def counts(self) -> tuple[dict[str, int], int]:
        """Messages by event, and distinct incidents, so far."""
        with self._lock:
            return dict(self.events), len(self.incident_ids)

    def __len__(self) -> int:
        with self._lock:
            return sum(self.events.values())


class TopicWatcher:
    """Follows one topic in a background thread until :meth:`stop` (subclasses say which)."""

    what = "message"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.error: IotadError | KafkaError | OSError | None = None
        self._thread = threading.Thread(target=self._run, name=f"demo-{self.what}s", daemon=True)

    def _follow(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self._follow()
        except (IotadError, KafkaError, OSError) as exc:  # the demo reports it (see error)
            logger.error("the %s reader stopped: %s", self.what, exc)
            self.error = exc
            self._ready.set()

    def start(self, timeout_s: float = 30.0) -> None:
        """Start following; returns once the consumer is assigned (or raises its error)."""
        self._thread.start()
        self._ready.wait(timeout_s)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Stop following and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class AlertWatcher(TopicWatcher):
    """Follows the alert topic into an :class:`AlertLog`."""

    what = "alert"

    def __init__(self, settings: Settings, log: AlertLog) -> None:
        super().__init__(settings)
        self.log = log

    def _follow(self) -> None:
        options = TailOptions(topics=(self._settings.topics.alerts,), from_beginning=True)
        tail_alerts(
            self._settings,
            options,
            self.log.add,
            self.log.reject,
            stop=self._stop,
            on_ready=self._ready.set,
        )


class IncidentWatcher(TopicWatcher):
    """Follows the incidents topic into an :class:`IncidentLog`."""

    what = "incident"

    def __init__(self, settings: Settings, log: IncidentLog) -> None:
        super().__init__(settings)
        self.log = log

    def _follow(self) -> None:
        options = TailOptions(topics=(self._settings.topics.incidents,), from_beginning=True)
        tail_incidents(
            self._settings,
            options,
            self.log.add,
            self.log.reject,
            stop=self._stop,
            on_ready=self._ready.set,
        )


__all__ = [
    "AlertLog",
    "AlertWatcher",
    "IncidentLog",
    "IncidentWatcher",
    "OpenedIncident",
    "SeenAlert",
    "TopicWatcher",
]
