"""The end of a demo run: the summary (``summary.json``), the chart (``alerts.png``) and the
report on the terminal."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, TypedDict

from iotad.demo.alert_log import SeenAlert
from iotad.demo.bursts import (
    DEFAULT_SLACK_MS,
    BurstResult,
    burst_results,
    burst_window,
    incident_timing,
)
from iotad.demo.chart import ChartUnavailable, plot_alerts
from iotad.demo.fidelity import tally
from iotad.demo.hosts import WardAddresses
from iotad.demo.scenario import GATEWAY_ID, Scenario
from iotad.demo.summary import (
    Accounting,
    BaselinePhase,
    DemoSummary,
    IncidentTally,
    SwapReport,
    alerts_per_second,
    counts,
    model_versions,
)
from iotad.demo.view import print_summary
from iotad.machine import machine_facts
from iotad.schemas.labels import BENIGN_LABEL, LABELS

if TYPE_CHECKING:
    from iotad.demo.bundles import DemoBundles
    from iotad.demo.runner import DemoRun

logger = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
CHART_FILE = "alerts.png"


def _data_description(run: DemoRun) -> str:
    if run.request.synthetic:
        return (
            f"SYNTHETIC flows from the built-in generator (per-label statistics of real "
            f"CICIoT2023 rows, iotad/demo/data/flow_profiles.json), gateway {GATEWAY_ID}"
        )
    return "replayed CSV files: " + ", ".join(str(p) for p in run.request.data)


def _options(run: DemoRun, bundles: DemoBundles | None) -> dict[str, object]:
    demo = run.base.demo
    options: dict[str, object] = {
        "duration_s": demo.duration_s,
        "rate": demo.rate,
        "batch": demo.batch,
        "swap_at": demo.swap_at,
        "seed": run.base.seed,
        "partitions": demo.partitions,
        "threshold": run.base.stream.confidence_threshold,
        "broker": run.broker.description if run.broker else None,
    }
    if bundles is not None:
        options["bundle"] = f"{bundles.first.manifest.reference} ({bundles.first.path})"
        options["swap_bundle"] = f"{bundles.second.manifest.reference} ({bundles.second.path})"
    return options


def build_summary(
    run: DemoRun, bundles: DemoBundles | None, phases: dict[str, float]
) -> DemoSummary:
    """The summary of ``run`` from its counters, the worker's last reading and the alerts seen."""
    progress, snapshot = run.progress, run.snapshot
    alerts = run.log.copy()
    labelled = [
        (a.ground_truth_label, a.category) for a in alerts if a.ground_truth_label in LABELS
    ]
    sent = {label: n for label, n in progress.by_label.items() if label in LABELS}
    notes = []
    if len(alerts) != snapshot.alerts_total:
        notes.append(
            f"the alert reader saw {len(alerts)} alerts, "
            f"the worker published {snapshot.alerts_total}"
        )
    learnt = run.settings.stream.baseline.learn_flows
    if learnt:
        notes.append(
            f"gateway baseline learnt online by the worker from the feed's first {learnt:,} "
            "flows (benign); those flows were decided by the classifier alone"
        )
    if progress.first_error:
        notes.append(f"feed delivery error: {progress.first_error}")
    if run.watcher is not None and run.watcher.error is not None:
        notes.append(f"the alert reader failed: {run.watcher.error}")
    if run.incident_watcher is not None and run.incident_watcher.error is not None:
        notes.append(f"the incident reader failed: {run.incident_watcher.error}")
    by_event, incidents = run.incident_log.counts()
    if sum(by_event.values()) != snapshot.incident_messages:
        notes.append(
            f"the incident reader saw {sum(by_event.values())} incident messages, "
            f"the worker published {snapshot.incident_messages}"
        )
    p50, p99 = snapshot.latency_quantile(0.5), snapshot.latency_quantile(0.99)
    return DemoSummary(
        run_dir=str(run.run_dir),
        data=_data_description(run),
        synthetic=run.request.synthetic,
        started_at=run.started_at.isoformat(timespec="seconds"),
        options=_options(run, bundles),
        machine=machine_facts(),
        phases_s=phases,
        accounting=Accounting(
            sent=progress.delivered_flows + progress.packet_windows,
            bad_sent=progress.bad_total,
            scored=int(snapshot.flows_scored),
            dead_letters=snapshot.dead_letters_total,
            delivery_failures=progress.failed_flows,
        ),
        alerts_by_category=counts(snapshot.alerts),
        alerts_by_model=model_versions([a.model_version for a in alerts]),
        benign=int(snapshot.benign),
        uncertain=int(snapshot.uncertain),
        dead_letters_by_reason=counts(snapshot.dead_letters),
        expected_dead_letters=dict(progress.bad),
        latency_ms={
            "p50": None if p50 is None else round(p50 * 1000, 1),
            "p99": None if p99 is None else round(p99 * 1000, 1),
            "source": "worker histogram iotad_event_to_alert_seconds (flow event time to alert "
            "acknowledged by the broker)",
        },
        swap=_swap_report(run),
        fidelity=tally(sent, labelled),
        interrupted=run.interrupted,
        notes=tuple(notes),
        incidents=(
            IncidentTally(snapshot.alerts_total, by_event, incidents)
            if run.settings.incidents.enabled
            else None
        ),
        packets=run.packets.to_json(alerts) if run.packets is not None else {},
        baseline=_baseline_phase(run, alerts, sent, learnt),
        burst_slack_ms=DEFAULT_SLACK_MS,
        **_bursts(run, alerts, sent),
    )


def _bursts(run: DemoRun, alerts: list[SeenAlert], sent: dict[str, int]) -> _BurstFields:
    """Detection of each attack burst of the scenario (synthetic feed only)."""
    start_ms = run.progress.started_wall_ms
    if not run.request.synthetic or start_ms is None:
        return {"bursts": [], "incident_timing": {}}
    scenario = Scenario()
    addresses = WardAddresses(scenario.ward_devices)
    duration_ms = run.base.demo.duration_s * 1000
    windows = [
        burst_window(
            s.name,
            s.labels,
            start_ms + round(s.start * duration_ms),
            start_ms + round(s.end * duration_ms),
            addresses.burst_hosts(s),
        )
        for s in scenario.bursts()
    ]
    opened = [i for i in run.incident_log.opened_copy() if i.gateway_id == GATEWAY_ID]
    return {
        "bursts": burst_results(windows, alerts, sent, opened, start_ms, DEFAULT_SLACK_MS),
        "incident_timing": incident_timing(windows, opened, DEFAULT_SLACK_MS),
    }


class _BurstFields(TypedDict):
    bursts: list[BurstResult]
    incident_timing: dict[str, int]


def _baseline_phase(
    run: DemoRun, alerts: list[SeenAlert], sent: dict[str, int], learnt: int
) -> BaselinePhase | None:
    """The learning phase's figures, when the worker learnt a baseline online."""
    if not learnt:
        return None
    demo = run.settings.demo
    first = Scenario().segments[0]
    return BaselinePhase(
        learn_flows=learnt,
        without_baseline=int(run.snapshot.without_baseline),
        first_benign_flows=int(demo.rate * demo.duration_s * (first.end - first.start)),
        benign_sent=sent.get(BENIGN_LABEL, 0),
        benign_alerts_with_baseline=sum(
            1 for a in alerts if a.with_baseline and a.ground_truth_label == BENIGN_LABEL
        ),
    )


def _swap_report(run: DemoRun) -> SwapReport:
    return run.swap.report() if run.swap is not None else SwapReport("not reached")


def _chart(run: DemoRun, swap: SwapReport) -> str:
    """The chart's path, or why there is none."""
    start_ms = run.progress.started_wall_ms
    alerts = run.log.copy()
    if start_ms is None:
        return "(no chart: the feed never started)"
    last = max((a.detected_at_ms for a in alerts), default=start_ms)
    seconds = int(max(run.progress.elapsed_s, (last - start_ms) / 1000)) + 1
    series = alerts_per_second(
        [a.detected_at_ms for a in alerts], [a.category for a in alerts], start_ms, seconds
    )
    windows = Scenario().windows(run.base.demo.duration_s) if run.request.synthetic else []
    kind = "SYNTHETIC flows" if run.request.synthetic else "replayed flows"
    try:
        path = plot_alerts(
            run.run_dir / CHART_FILE,
            series,
            title=f"iotad demo: alerts per second by category ({kind}; shaded: attack bursts sent)",
            swap_at_s=swap.at_s,
            swap_label=f"hot swap → {swap.after or '?'} ({swap.outcome})",
            windows=windows,
        )
    except ChartUnavailable as exc:
        run.console.warn(f"{exc.message}; {exc.hint}")
        return f"({exc.message})"
    return str(path)


def write_report(run: DemoRun, bundles: DemoBundles | None) -> DemoSummary:
    """Write ``alerts.png`` and ``summary.json`` into the run dir, print the report; the summary."""
    began = time.monotonic()
    chart = _chart(run, _swap_report(run))
    phases = {**run.phases.seconds, "report": time.monotonic() - began}
    phases["total"] = time.monotonic() - run.phases.started
    summary = build_summary(run, bundles, phases)
    path = summary.write(run.run_dir / SUMMARY_FILE)
    files = {"summary": str(path), "chart": chart}
    files["logs"] = str(run.run_dir)
    print_summary(run.console, summary, files)
    return summary


__all__ = ["CHART_FILE", "SUMMARY_FILE", "build_summary", "write_report"]
