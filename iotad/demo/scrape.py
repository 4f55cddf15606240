"""Read a worker's ``/metrics`` page into the figures the demo shows and accounts with."""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: The event-to-alert histogram the demo takes its latency from.
LATENCY_HISTOGRAM = "iotad_event_to_alert_seconds"


@dataclass(frozen=True)
class WorkerSnapshot:
    """One reading of a worker's counters (all totals since the worker started)."""

    messages_in: float = 0.0
    flows_in: float = 0.0
    flows_scored: float = 0.0
    benign: float = 0.0
    uncertain: float = 0.0
    #: flows decided by the classifier alone because their gateway had no baseline yet
    without_baseline: float = 0.0
    alerts: Mapping[str, float] = field(default_factory=dict)
    dead_letters: Mapping[str, float] = field(default_factory=dict)
    model: Mapping[str, str] = field(default_factory=dict)
    swaps: Mapping[str, float] = field(default_factory=dict)
    latency_buckets: tuple[tuple[float, float], ...] = ()
    consumer_lag: float = 0.0
    #: Incident events published, by event (opened, updated, closed), every category together.
    incident_events: Mapping[str, float] = field(default_factory=dict)
    #: Alerts the incident agent has read (folded in, or skipped as already counted).
    incident_alerts: float = 0.0

    @property
    def incident_messages(self) -> int:
        """Incident messages published, every event together."""
        return int(sum(self.incident_events.values()))

    @property
    def alerts_total(self) -> int:
        """Alerts published, every category together."""
        return int(sum(self.alerts.values()))

    @property
    def dead_letters_total(self) -> int:
        """Dead letters published, every reason together."""
        return int(sum(self.dead_letters.values()))

    @property
    def accounted(self) -> int:
        """Units the worker has dealt with: flows scored plus dead letters."""
        return int(self.flows_scored) + self.dead_letters_total

    @property
    def model_reference(self) -> str | None:
        """``name@version`` of the model serving, if the worker reports one."""
        if "name" not in self.model:
            return None
        return f"{self.model['name']}@{self.model.get('version', '?')}"

    def latency_quantile(self, q: float) -> float | None:
        """The ``q`` quantile of event-to-alert latency in seconds (None: no alert yet)."""
        return histogram_quantile(q, self.latency_buckets)


def _labelled(
    samples: Sequence[tuple[str, Mapping[str, str], float]], name: str, key: str
) -> dict[str, float]:
    return {
        labels[key]: value for sample, labels, value in samples if sample == name and key in labels
    }


def parse_metrics(text: str) -> WorkerSnapshot:
    """The snapshot in a Prometheus text exposition.

    Examples
    --------
    >>> page = 'iotad_flows_scored_total 12.0\\niotad_alerts_total{category="DDoS"} 3.0\\n'
    >>> snap = parse_metrics(page)
    >>> snap.flows_scored, dict(snap.alerts)
    (12.0, {'DDoS': 3.0})
    """
    from prometheus_client.parser import text_string_to_metric_families

    samples = [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]
    plain = {name: value for name, labels, value in samples if not labels}
    model = next((labels for name, labels, _ in samples if name == "iotad_model_info"), {})
    buckets = sorted(
        (_bound(labels["le"]), value)
        for name, labels, value in samples
        if name == f"{LATENCY_HISTOGRAM}_bucket" and "le" in labels
    )
    return WorkerSnapshot(
        messages_in=plain.get("iotad_messages_in_total", 0.0),
        flows_in=plain.get("iotad_flows_in_total", 0.0),
        flows_scored=plain.get("iotad_flows_scored_total", 0.0),
        benign=plain.get("iotad_benign_flows_total", 0.0),
        uncertain=plain.get("iotad_uncertain_flows_total", 0.0),
        without_baseline=sum(
            v for name, _, v in samples if name == "iotad_baseline_missing_flows_total"
        ),
        alerts=_labelled(samples, "iotad_alerts_total", "category"),
        dead_letters=_labelled(samples, "iotad_dead_letters_total", "reason"),
        model=model,
        swaps=_labelled(samples, "iotad_model_swaps_total", "outcome"),
        latency_buckets=tuple(buckets),
        consumer_lag=sum(v for name, _, v in samples if name == "iotad_consumer_lag"),
        incident_events=_summed(samples, "iotad_incident_events_total", "event"),
        incident_alerts=sum(
            v
            for name, labels, v in samples
            if name == "iotad_incident_alerts_total" and labels.get("outcome") != "invalid"
        ),
    )


def _summed(
    samples: Sequence[tuple[str, Mapping[str, str], float]], name: str, key: str
) -> dict[str, float]:
    """Values of ``name`` summed by label ``key`` (over every other label)."""
    totals: dict[str, float] = {}
    for sample, labels, value in samples:
        if sample == name and key in labels:
            totals[labels[key]] = totals.get(labels[key], 0.0) + value
    return totals


def _bound(text: str) -> float:
    return math.inf if text in ("+Inf", "inf") else float(text)


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding ``q``.

    ``buckets`` are ``(upper bound, cumulative count)`` pairs, sorted, ending with ``+Inf``.

    Examples
    --------
    >>> histogram_quantile(0.5, [(1.0, 0.0), (3.0, 10.0), (math.inf, 10.0)])
    2.0
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def fetch(
    port: int, path: str, host: str = "127.0.0.1", timeout_s: float = 3.0
) -> tuple[int, str] | None:
    """Status and body of ``GET http://host:port/path``, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout_s) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return None


__all__ = ["LATENCY_HISTOGRAM", "WorkerSnapshot", "fetch", "histogram_quantile", "parse_metrics"]
