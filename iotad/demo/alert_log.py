"""Every alert the worker publishes during the demo, read back from the alert topic.

A thread runs replay's neighbour, :func:`iotad.stream.alerts_tail.tail_alerts`, from the start of
the (fresh) alert topic and records each alert's time, category, model version and the label the
flow carried, which is all the live view, the fidelity table and the chart need.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from kafka.errors import KafkaError

from iotad.errors import IotadError
from iotad.schemas.messages import Alert
from iotad.settings import Settings
from iotad.stream.alerts_tail import AlertRecord, TailOptions, tail_alerts

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeenAlert:
    """What the demo keeps of one alert."""

    detected_at_ms: int
    category: str
    model_version: str
    ground_truth_label: str | None
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


class AlertWatcher:
    """Follows the alert topic in a background thread until :meth:`stop`."""

    def __init__(self, settings: Settings, log: AlertLog) -> None:
        self.log = log
        self._settings = settings
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.error: IotadError | KafkaError | OSError | None = None
        self._thread = threading.Thread(target=self._run, name="demo-alerts", daemon=True)

    def _run(self) -> None:
        options = TailOptions(topics=(self._settings.topics.alerts,), from_beginning=True)
        try:
            tail_alerts(
                self._settings,
                options,
                self.log.add,
                self.log.reject,
                stop=self._stop,
                on_ready=self._ready.set,
            )
        except (IotadError, KafkaError, OSError) as exc:  # the demo reports it (see error)
            logger.error("the alert reader stopped: %s", exc)
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


__all__ = ["AlertLog", "AlertWatcher", "SeenAlert"]
