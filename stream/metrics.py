"""Prometheus metrics of one worker, in a registry of its own (no process-wide globals).

Histograms fed a whole batch at a time use :class:`BatchHistogram`, which adds a numpy array of
observations in one call instead of one locked call per flow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike
from prometheus_client import CollectorRegistry, Counter, Gauge, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
    10.0, 30.0, 60.0,
)  # fmt: skip
SCORING_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip
BATCH_BUCKETS: tuple[float, ...] = (
    1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000,
)  # fmt: skip


class BatchHistogram(Collector):
    """A Prometheus histogram that accepts many observations per call."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self._bounds = np.asarray(sorted(buckets), dtype=np.float64)
        self._counts = np.zeros(len(self._bounds) + 1, dtype=np.int64)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, values: ArrayLike) -> None:
        """Add observations (a scalar or an array)."""
        array = np.atleast_1d(np.asarray(values, dtype=np.float64))
        if array.size == 0:
            return
        slots = np.searchsorted(self._bounds, array, side="left")
        counts = np.bincount(slots, minlength=len(self._counts))
        with self._lock:
            self._counts += counts
            self._sum += float(array.sum())

    def collect(self) -> Iterator[Metric]:
        """The histogram as Prometheus exposes it (cumulative buckets)."""
        with self._lock:
            cumulative = np.cumsum(self._counts).tolist()
            total = self._sum
        buckets = [
            (_bound(b), float(c)) for b, c in zip(self._bounds.tolist(), cumulative, strict=False)
        ]
        buckets.append(("+Inf", float(cumulative[-1])))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], buckets, sum_value=total)
        yield family


def _bound(value: float) -> str:
    return repr(float(value))


class ConsumerLagCollector(Collector):
    """Consumer lag per partition, read from a callback at scrape time."""

    def __init__(self, source: Callable[[], Mapping[tuple[str, int], int]]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        """``iotad_consumer_lag{topic, partition}``: flows written but not yet processed."""
        family = GaugeMetricFamily(
            "iotad_consumer_lag",
            "Messages in the partition not yet processed by this worker (log end - next offset).",
            labels=["topic", "partition"],
        )
        for (topic, partition), lag in sorted(self._source().items()):
            family.add_metric([topic, str(partition)], float(lag))
        yield family


class RecentRate(Collector):
    """A gauge of how many events happened in the last ``span_s`` seconds (per-second buckets)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        span_s: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self._span = span_s
        self._clock = clock
        self._buckets: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        """Count ``n`` events now."""
        if n <= 0:
            return
        second = int(self._clock())
        with self._lock:
            self._buckets[second] = self._buckets.get(second, 0) + n
            if len(self._buckets) > 2 * self._span:
                self._prune(second)

    def value(self) -> int:
        """Events in the last ``span_s`` seconds."""
        with self._lock:
            self._prune(int(self._clock()))
            return sum(self._buckets.values())

    def _prune(self, second: int) -> None:
        for old in [b for b in self._buckets if b <= second - self._span]:
            del self._buckets[old]

    def collect(self) -> Iterator[Metric]:
        """The count as a gauge."""
        family = GaugeMetricFamily(self.name, self.documentation)
        family.add_metric([], float(self.value()))
        yield family


class IncidentMetrics:
    """The incident agent's metrics (in the worker's registry)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.events = Counter(
            "iotad_incident_events",
            "Incident events published, by event (opened, updated, closed) and category.",
            ["event", "category"],
            registry=r,
        )
        self.evicted = Counter(
            "iotad_incidents_evicted",
            "Incidents closed early because incidents.max_open were open, by category.",
            ["category"],
            registry=r,
        )
        self.open = Gauge("iotad_incidents_open", "Incidents open on this worker.", registry=r)
        self.alerts = Counter(
            "iotad_incident_alerts",
            "Alerts read by the incident agent, by outcome: folded; below_threshold (their key "
            "never reached incidents.min_alerts, no incident); skipped (re-read after a "
            "restart, already counted); invalid (not an iotad.alert.v1 message).",
            ["outcome"],
            registry=r,
        )
        self.restore_errors = Counter(
            "iotad_incident_restore_errors",
            "Stored incident states that could not be read back from the table (dropped).",
            registry=r,
        )
        self.alerts_per_minute = RecentRate(
            "iotad_alerts_per_minute",
            "Alerts the incident agent read in the last 60 s (compare iotad_incidents_per_minute).",
        )
        self.incidents_per_minute = RecentRate(
            "iotad_incidents_per_minute", "Incident messages published in the last 60 s."
        )
        r.register(self.alerts_per_minute)
        r.register(self.incidents_per_minute)


class WorkerMetrics:
    """Every metric the worker exposes on ``/metrics``."""

    def __init__(self, lag_source: Callable[[], Mapping[tuple[str, int], int]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter(
            "iotad_messages_in", "Kafka messages read from the flows topic.", registry=r
        )
        self.flows_in = Counter(
            "iotad_flows_in",
            "Flows received: scored plus refused (a wholly refused message counts once).",
            registry=r,
        )
        self.flows_scored = Counter("iotad_flows_scored", "Flows scored by a model.", registry=r)
        self.benign = Counter(
            "iotad_benign_flows",
            "Scored flows whose top class is benign (counted, not alerted).",
            registry=r,
        )
        self.uncertain = Counter(
            "iotad_uncertain_flows",
            "Scored flows whose top class is an attack below the confidence threshold.",
            registry=r,
        )
        self.alerts = Counter(
            "iotad_alerts", "Alerts published, by category.", ["category"], registry=r
        )
        self.alerts_suppressed = Counter(
            "iotad_alerts_suppressed",
            "Alerts held back by the throttle, by category.",
            ["category"],
            registry=r,
        )
        self.dead_letters = Counter(
            "iotad_dead_letters", "Dead letters published, by reason.", ["reason"], registry=r
        )
        self.output_resent = Counter(
            "iotad_output_resent_batches",
            "Output record batches sent again after a transient delivery failure.",
            registry=r,
        )
        self.batch_flows = BatchHistogram(
            "iotad_batch_flows", "Flows per scored batch.", BATCH_BUCKETS
        )
        self.scoring_seconds = BatchHistogram(
            "iotad_scoring_seconds", "Model inference time per batch.", SCORING_BUCKETS
        )
        self.batch_seconds = BatchHistogram(
            "iotad_batch_seconds",
            "Core time per batch: decode, validate, vectorise, score, decide, build alerts.",
            SCORING_BUCKETS,
        )
        self.commit_seconds = BatchHistogram(
            "iotad_commit_seconds",
            "Offset commit after each batch (its output already acknowledged by the broker).",
            SCORING_BUCKETS,
        )
        self.event_to_alert = BatchHistogram(
            "iotad_event_to_alert_seconds",
            "From a flow's event_time_ms to its alert being acknowledged by the broker.",
            LATENCY_BUCKETS,
        )
        self.loop_lag = BatchHistogram(
            "iotad_event_loop_lag_seconds",
            "How late a 0.1 s sleep on the event loop wakes up (long = the loop was blocked).",
            SCORING_BUCKETS,
        )
        for collector in (
            self.loop_lag,
            self.batch_flows,
            self.scoring_seconds,
            self.batch_seconds,
            self.commit_seconds,
            self.event_to_alert,
            ConsumerLagCollector(lag_source),
        ):
            r.register(collector)
        self.model = Info("iotad_model", "The model bundle this worker scores with.", registry=r)
        self.normal = Counter(
            "iotad_normal_flows",
            "Scored flows their gateway's baseline found normal (not alerted).",
            registry=r,
        )
        self.baseline_missing_flows = Counter(
            "iotad_baseline_missing_flows",
            "Flows of gateways without a baseline (decided by the classifier alone), by gateway.",
            ["gateway"],
            registry=r,
        )
        self.gateways_without_baseline = Gauge(
            "iotad_gateways_without_baseline",
            "Gateways seen by this worker that have no baseline (the classifier alone decides).",
            registry=r,
        )
        self.gateways_with_baseline = Gauge(
            "iotad_gateways_with_baseline", "Gateways with a baseline in this worker.", registry=r
        )
        self.baseline_learning_flows = Gauge(
            "iotad_baseline_learning_flows",
            "Learning flows collected so far for a gateway's online baseline, by gateway.",
            ["gateway"],
            registry=r,
        )
        self.baselines_installed = Counter(
            "iotad_baselines_installed",
            "Gateway baselines put in service, by origin (learnt online, promoted).",
            ["origin"],
            registry=r,
        )
        self.baseline_seconds = BatchHistogram(
            "iotad_baseline_seconds", "Baseline scoring time per batch.", SCORING_BUCKETS
        )
        r.register(self.baseline_seconds)
        self.model_unsigned = Gauge(
            "iotad_model_unsigned",
            "1 while the model in service has no trusted signature (served only because "
            "stream.allow_unsigned_bundles is true), else 0.",
            registry=r,
        )
        self.model_swaps = Counter(
            "iotad_model_swaps",
            "Model-control requests handled, by outcome (activated, refused).",
            ["outcome"],
            registry=r,
        )
        self.partitions = Gauge(
            "iotad_partitions_assigned",
            "Flows-topic partitions assigned to this worker.",
            registry=r,
        )
        self.incidents = IncidentMetrics(r)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return bytes(generate_latest(self.registry))


__all__ = [
    "BatchHistogram",
    "ConsumerLagCollector",
    "IncidentMetrics",
    "RecentRate",
    "WorkerMetrics",
]
