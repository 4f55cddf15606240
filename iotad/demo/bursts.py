"""Attack-burst recall: was each attack burst of the scenario detected, and how many of its flows?

Pure (numbers in, numbers out). A burst is **detected** when at least one alert was raised on
one of its own flows (ground-truth label among the burst's labels) between the burst's start and
its end plus ``slack_ms`` (the worker scores a little behind the feed, more on a busy machine).
Beside it: the time from the burst's start to that first alert, the incidents opened in the
same window naming one of the burst's hosts (iotad/demo/hosts.py), and the **per-flow** recall:
the burst's flows that raised an alert (any category), and those named with the burst's category.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from iotad.demo.alert_log import OpenedIncident, SeenAlert
from iotad.demo.fidelity import intended_category

#: Alerts this long after a burst's end still count for it.
DEFAULT_SLACK_MS = 5_000


@dataclass(frozen=True)
class BurstWindow:
    """One attack burst as sent: when (epoch ms), what labels, which hosts."""

    name: str
    category: str
    labels: frozenset[str]
    start_ms: int
    end_ms: int
    hosts: frozenset[str]


@dataclass(frozen=True)
class BurstResult:
    """What the detector made of one burst."""

    name: str
    category: str
    start_s: float
    end_s: float
    flows: int
    flows_alerted: int
    flows_named: int
    first_alert_s: float | None
    incidents_opened: int

    @property
    def detected(self) -> bool:
        """True when an alert on the burst's flows came within the window."""
        return self.first_alert_s is not None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready record."""
        return {**asdict(self), "detected": self.detected}


def burst_window(
    name: str, labels: Sequence[str], start_ms: int, end_ms: int, hosts: frozenset[str]
) -> BurstWindow:
    """A :class:`BurstWindow`; its category is that of its first label."""
    if not labels:
        raise ValueError(f"burst {name!r} has no attack label")
    return BurstWindow(
        name, intended_category(labels[0]), frozenset(labels), start_ms, end_ms, hosts
    )


def burst_results(
    windows: Sequence[BurstWindow],
    alerts: Sequence[SeenAlert],
    sent_by_label: Mapping[str, int],
    opened: Sequence[OpenedIncident],
    feed_start_ms: int,
    slack_ms: int = DEFAULT_SLACK_MS,
) -> list[BurstResult]:
    """One :class:`BurstResult` per window, in order.

    Examples
    --------
    >>> w = burst_window("scan", ["Recon-PortScan"], 10_000, 20_000, frozenset({"203.0.113.20"}))
    >>> a = SeenAlert(12_500, "Recon", "m", "Recon-PortScan")
    >>> r = burst_results([w], [a], {"Recon-PortScan": 4}, [], feed_start_ms=0)[0]
    >>> (r.detected, r.first_alert_s, r.flows_alerted, r.flows)
    (True, 2.5, 1, 4)
    """
    results = []
    for w in windows:
        mine = [a for a in alerts if a.ground_truth_label in w.labels]
        late = w.end_ms + slack_ms
        in_window = [a.detected_at_ms for a in mine if w.start_ms <= a.detected_at_ms <= late]
        first = (min(in_window) - w.start_ms) / 1000 if in_window else None
        incidents = sum(
            1 for i in opened if i.host in w.hosts and w.start_ms <= i.first_seen_ms <= late
        )
        results.append(
            BurstResult(
                name=w.name,
                category=w.category,
                start_s=(w.start_ms - feed_start_ms) / 1000,
                end_s=(w.end_ms - feed_start_ms) / 1000,
                flows=sum(sent_by_label.get(label, 0) for label in w.labels),
                flows_alerted=len(mine),
                flows_named=sum(1 for a in mine if a.category == w.category),
                first_alert_s=first,
                incidents_opened=incidents,
            )
        )
    return results


def incident_timing(
    windows: Sequence[BurstWindow], opened: Sequence[OpenedIncident], slack_ms: int
) -> dict[str, int]:
    """Incidents opened during a burst window (start to end + ``slack_ms``), outside every
    window, and before the first one (the learning phase and the quiet stretch after it):
    incidents outside the bursts come from false alerts on benign flows.

    Examples
    --------
    >>> w = burst_window("scan", ["Recon-PortScan"], 10_000, 20_000, frozenset())
    >>> at = [OpenedIncident(t, "Recon", "h") for t in (1_000, 12_000, 24_000, 40_000)]
    >>> incident_timing([w], at, 5_000)
    {'opened': 4, 'during_bursts': 2, 'outside_bursts': 2, 'before_first_burst': 1}
    """
    during = sum(
        1
        for i in opened
        if any(w.start_ms <= i.first_seen_ms <= w.end_ms + slack_ms for w in windows)
    )
    first = min((w.start_ms for w in windows), default=None)
    return {
        "opened": len(opened),
        "during_bursts": during,
        "outside_bursts": len(opened) - during,
        "before_first_burst": sum(
            1 for i in opened if first is not None and i.first_seen_ms < first
        ),
    }


def recall_by_category(results: Sequence[BurstResult]) -> dict[str, dict[str, object]]:
    """Per burst category: bursts and bursts detected (burst recall), flows and flows alerted
    (per-flow recall).

    Examples
    --------
    >>> r = BurstResult("scan", "Recon", 0.0, 1.0, 10, 4, 3, 0.5, 1)
    >>> row = recall_by_category([r])["Recon"]
    >>> row["burst_recall"], row["flow_recall"]
    (1.0, 0.4)
    """
    table: dict[str, dict[str, int]] = {}
    for r in results:
        row = table.setdefault(r.category, {"bursts": 0, "detected": 0, "flows": 0, "alerted": 0})
        row["bursts"] += 1
        row["detected"] += int(r.detected)
        row["flows"] += r.flows
        row["alerted"] += r.flows_alerted
    return {
        category: {
            **row,
            "burst_recall": row["detected"] / row["bursts"],
            "flow_recall": row["alerted"] / row["flows"] if row["flows"] else None,
        }
        for category, row in table.items()
    }


__all__ = [
    "DEFAULT_SLACK_MS",
    "BurstResult",
    "BurstWindow",
    "burst_results",
    "burst_window",
    "incident_timing",
    "recall_by_category",
]
