"""Reading the worker's /metrics page: the exposition the worker really writes."""

from __future__ import annotations

import math

import pytest

from iotad.demo.scrape import WorkerSnapshot, histogram_quantile, parse_metrics
from iotad.stream.metrics import WorkerMetrics


def test_parse_the_workers_own_exposition() -> None:
    metrics = WorkerMetrics(lambda: {("flows", 0): 7, ("flows", 1): 3})
    metrics.flows_in.inc(120)
    metrics.flows_scored.inc(118)
    metrics.benign.inc(60)
    metrics.uncertain.inc(8)
    metrics.alerts.labels(category="DDoS").inc(40)
    metrics.alerts.labels(category="Web").inc(10)
    metrics.dead_letters.labels(reason="undecodable").inc(2)
    metrics.model.info({"name": "m", "version": "v2", "sha256": "ab", "task": "8", "path": "/b"})
    metrics.model_swaps.labels(outcome="activated").inc()
    metrics.event_to_alert.observe([0.02] * 40 + [0.3] * 10)

    snapshot = parse_metrics(metrics.exposition().decode())
    assert (snapshot.flows_in, snapshot.flows_scored, snapshot.benign) == (120, 118, 60)
    assert dict(snapshot.alerts) == {"DDoS": 40, "Web": 10} and snapshot.alerts_total == 50
    assert dict(snapshot.dead_letters) == {"undecodable": 2}
    assert snapshot.accounted == 120
    assert snapshot.model_reference == "m@v2"
    assert dict(snapshot.swaps) == {"activated": 1}
    assert snapshot.consumer_lag == 10
    p50 = snapshot.latency_quantile(0.5)
    p99 = snapshot.latency_quantile(0.99)
    assert p50 is not None and 0.01 < p50 <= 0.025
    assert p99 is not None and 0.25 < p99 <= 0.3


def test_an_idle_worker_has_no_latency_yet() -> None:
    snapshot = parse_metrics(WorkerMetrics(dict).exposition().decode())
    assert snapshot.latency_quantile(0.5) is None
    assert snapshot.alerts_total == 0 and snapshot.model_reference is None
    assert WorkerSnapshot().accounted == 0


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.0, 0.0), (0.25, 0.5), (0.5, 1.0), (0.75, 2.0), (1.0, 3.0)],
)
def test_histogram_quantile_interpolates_inside_buckets(q: float, expected: float) -> None:
    buckets = [(1.0, 2.0), (3.0, 4.0), (math.inf, 4.0)]
    assert histogram_quantile(q, buckets) == pytest.approx(expected)


def test_histogram_quantile_in_the_open_bucket_returns_its_lower_bound() -> None:
    assert histogram_quantile(0.9, [(1.0, 1.0), (math.inf, 10.0)]) == 1.0
    assert histogram_quantile(0.5, []) is None


def test_the_live_rate_is_averaged_over_a_few_seconds() -> None:
    from iotad.demo.feed import FeedProgress
    from iotad.demo.view import LiveState, plain_line

    state = LiveState(title="t", duration_s=10.0, feed=FeedProgress())
    for second, flows in enumerate([0, 1000, 1500, 3000, 4000, 5000]):
        state.update(WorkerSnapshot(flows_in=float(flows)), now=float(second))
    assert state.rate == pytest.approx((5000 - 1500) / 3)
    state.update(None, now=6.0)  # a missed reading changes nothing
    assert state.snapshot is not None and state.snapshot.flows_in == 5000
    assert "1,167 flows/s" in plain_line(state)


def test_incident_counters_are_summed_over_categories() -> None:
    metrics = WorkerMetrics(lambda: {})
    incidents = metrics.incidents
    incidents.events.labels(event="opened", category="DDoS").inc(3)
    incidents.events.labels(event="opened", category="Web").inc(2)
    incidents.events.labels(event="updated", category="DDoS").inc(7)
    incidents.alerts.labels(outcome="folded").inc(900)
    incidents.alerts.labels(outcome="skipped").inc(10)
    incidents.alerts.labels(outcome="invalid").inc(4)
    snapshot = parse_metrics(metrics.exposition().decode())
    assert dict(snapshot.incident_events) == {"opened": 5, "updated": 7}
    assert snapshot.incident_messages == 12 and snapshot.incident_alerts == 910
