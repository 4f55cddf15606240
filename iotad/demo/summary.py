"""What a demo run did, accounted for: flows sent vs. what the worker scored or dead-lettered,
alerts by category, incidents and their compression, the hot swap, latency and how well the
detector recognised the feed.

Everything here is pure (numbers in, numbers out), so the accounting rules are unit-tested:

* **sent** counts valid flows the broker acknowledged; each bad message is one more unit;
* the worker **accounts** for a unit when it scores a flow or dead-letters a message;
* **lost** = sent + bad messages − accounted (must be 0); more accounted than sent would be
  duplicates (at-least-once delivery allows them after a crash, which the demo does not cause).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from iotad.demo.bursts import BurstResult, recall_by_category
from iotad.demo.fidelity import FidelityRow

SUMMARY_SCHEMA = "iotad.demo_summary.v1"


@dataclass(frozen=True)
class Accounting:
    """Units sent and what the worker made of them."""

    sent: int
    bad_sent: int
    scored: int
    dead_letters: int
    delivery_failures: int = 0

    @property
    def expected(self) -> int:
        """Units the worker must account for."""
        return self.sent + self.bad_sent

    @property
    def accounted(self) -> int:
        """Units the worker accounted for."""
        return self.scored + self.dead_letters

    @property
    def lost(self) -> int:
        """Units sent that the worker never accounted for."""
        return max(self.expected - self.accounted, 0)

    @property
    def duplicates(self) -> int:
        """Units accounted for more than once."""
        return max(self.accounted - self.expected, 0)

    def to_json(self) -> dict[str, int]:
        """A JSON-ready record with the derived figures."""
        return {
            **asdict(self),
            "expected": self.expected,
            "accounted": self.accounted,
            "lost": self.lost,
            "duplicates": self.duplicates,
        }


@dataclass(frozen=True)
class SwapReport:
    """The live hot swap: when, how long until the worker answered, which models."""

    outcome: str
    at_s: float | None = None
    seconds: float | None = None
    before: str | None = None
    after: str | None = None
    worker: str | None = None
    reason: str | None = None

    @property
    def activated(self) -> bool:
        """True when the worker answered ``activated``."""
        return self.outcome == "activated"


@dataclass(frozen=True)
class BaselinePhase:
    """The learning phase and the benign flows decided with the learnt baseline.

    ``without_baseline`` flows (the worker's ``iotad_baseline_missing_flows_total``) were
    decided by the classifier alone: the learning flows and those scored while fitting. When
    they all fall inside the feed's first benign stretch (``first_benign_flows``), the benign
    flows decided with the baseline are the benign flows sent minus those.
    """

    learn_flows: int
    without_baseline: int
    first_benign_flows: int
    benign_sent: int
    benign_alerts_with_baseline: int

    @property
    def after_learning(self) -> tuple[int, int] | None:
        """False alerts and benign flows decided with the baseline (None if not separable)."""
        if self.without_baseline > self.first_benign_flows:
            return None
        return self.benign_alerts_with_baseline, self.benign_sent - self.without_baseline

    def to_json(self) -> dict[str, object]:
        """A JSON-ready record."""
        after = self.after_learning
        return {
            **asdict(self),
            "false_alerts_after_learning": None if after is None else _rate(*after),
        }


@dataclass(frozen=True)
class IncidentTally:
    """Incident messages read back from the incidents topic, against the alerts published."""

    alerts: int
    messages_by_event: Mapping[str, int]
    incidents: int

    @property
    def messages(self) -> int:
        """Incident messages, every event together."""
        return sum(self.messages_by_event.values())

    @property
    def compression(self) -> float | None:
        """Per-flow alerts per incident message (None without incident messages).

        Examples
        --------
        >>> IncidentTally(19_000, {"opened": 40, "updated": 120}, 40).compression
        118.75
        """
        return self.alerts / self.messages if self.messages else None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready record with the derived figures."""
        ratio = self.compression
        return {
            "alerts": self.alerts,
            "messages": self.messages,
            "messages_by_event": dict(sorted(self.messages_by_event.items())),
            "incidents": self.incidents,
            "compression": None if ratio is None else round(ratio, 1),
        }


@dataclass(frozen=True)
class DemoSummary:
    """The whole report of one run (written as ``summary.json``)."""

    run_dir: str
    data: str
    synthetic: bool
    started_at: str
    options: Mapping[str, object]
    machine: Mapping[str, object]
    phases_s: Mapping[str, float]
    accounting: Accounting
    alerts_by_category: Mapping[str, int]
    alerts_by_model: Mapping[str, int]
    benign: int
    uncertain: int
    dead_letters_by_reason: Mapping[str, int]
    expected_dead_letters: Mapping[str, int]
    latency_ms: Mapping[str, object]
    swap: SwapReport
    fidelity: Sequence[FidelityRow]
    interrupted: bool = False
    notes: Sequence[str] = field(default_factory=tuple)
    baseline: BaselinePhase | None = None
    incidents: IncidentTally | None = None
    #: The packet stage's report (empty when it did not run).
    packets: Mapping[str, object] = field(default_factory=dict)
    #: Attack-burst detection (synthetic feed only; iotad/demo/bursts.py).
    bursts: Sequence[BurstResult] = ()
    burst_slack_ms: int = 0
    #: Incidents opened during / outside the burst windows (iotad/demo/bursts.py).
    incident_timing: Mapping[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """Everything that makes the run a failure (empty: it did what it should)."""
        lost = self.accounting.lost
        if self.interrupted:
            pending = f"; {lost} sent units were not accounted for yet" if lost else ""
            return [f"interrupted before the end{pending}"]
        found = []
        if lost:
            found.append(f"{lost} sent units were never accounted for")
        if self.accounting.delivery_failures:
            found.append(f"{self.accounting.delivery_failures} flows could not be sent")
        if not self.swap.activated:
            found.append(f"the hot swap did not complete ({self.swap.outcome})")
        if dict(self.dead_letters_by_reason) != dict(self.expected_dead_letters):
            found.append(
                f"dead letters {dict(self.dead_letters_by_reason)} differ from the bad messages "
                f"sent {dict(self.expected_dead_letters)}"
            )
        return found

    @property
    def benign_false_alerts(self) -> tuple[int, int]:
        """Benign flows sent that raised an alert, and benign flows sent (from the fidelity)."""
        rows = [r for r in self.fidelity if r.category == "Benign"]
        flows = sum(r.flows for r in rows)
        return flows - sum(r.detected for r in rows), flows

    @property
    def ok(self) -> bool:
        """True when nothing went wrong."""
        return not self.problems

    def to_json(self) -> dict[str, object]:
        """The ``summary.json`` document."""
        return {
            "schema": SUMMARY_SCHEMA,
            "ok": self.ok,
            "problems": self.problems,
            "run_dir": self.run_dir,
            "data": self.data,
            "synthetic": self.synthetic,
            "started_at": self.started_at,
            "options": dict(self.options),
            "machine": dict(self.machine),
            "phases_s": {k: round(v, 2) for k, v in self.phases_s.items()},
            "flows": self.accounting.to_json(),
            "alerts_by_category": dict(sorted(self.alerts_by_category.items())),
            "alerts_total": sum(self.alerts_by_category.values()),
            "alerts_by_model_version": dict(self.alerts_by_model),
            "benign": self.benign,
            "uncertain": self.uncertain,
            "dead_letters_by_reason": dict(sorted(self.dead_letters_by_reason.items())),
            "expected_dead_letters": dict(sorted(self.expected_dead_letters.items())),
            "latency_ms": dict(self.latency_ms),
            "hot_swap": asdict(self.swap),
            "fidelity": [row.to_json() for row in self.fidelity],
            "benign_false_alerts": _rate(*self.benign_false_alerts),
            "baseline": None if self.baseline is None else self.baseline.to_json(),
            "incidents": None if self.incidents is None else self.incidents.to_json(),
            "packets": dict(self.packets),
            "bursts": self._bursts_json(),
            "interrupted": self.interrupted,
            "notes": list(self.notes),
        }

    def _bursts_json(self) -> dict[str, object] | None:
        if not self.bursts:
            return None
        return {
            "detected_when": "an alert on one of the burst's own flows between its start and "
            f"its end + {self.burst_slack_ms} ms",
            "slack_ms": self.burst_slack_ms,
            "per_burst": [b.to_json() for b in self.bursts],
            "by_category": recall_by_category(self.bursts),
            "incidents_opened": dict(self.incident_timing),
        }

    def write(self, path: Path) -> Path:
        """Write ``summary.json`` to ``path``."""
        path.write_bytes(orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
        return path


def _rate(alerted: int, flows: int) -> dict[str, object]:
    return {"alerted": alerted, "flows": flows, "rate": alerted / flows if flows else None}


def counts(values: Mapping[str, float]) -> dict[str, int]:
    """Metric values (floats) as whole counts, zeros left out."""
    return {key: int(value) for key, value in values.items() if int(value)}


def alerts_per_second(
    times_ms: Sequence[int], categories: Sequence[str], start_ms: int, seconds: int
) -> dict[str, list[int]]:
    """Alerts per category in each whole second after ``start_ms`` (for the chart).

    Examples
    --------
    >>> alerts_per_second([1000, 1500, 2100], ["DDoS", "DDoS", "Web"], 1000, 2)
    {'DDoS': [2, 0], 'Web': [0, 1]}
    """
    series: dict[str, list[int]] = {c: [0] * seconds for c in sorted(set(categories))}
    for at, category in zip(times_ms, categories, strict=True):
        second = (at - start_ms) // 1000
        if 0 <= second < seconds:
            series[category][second] += 1
    return series


def model_versions(versions: Sequence[str]) -> dict[str, int]:
    """Alerts per model version, in the order the versions first appeared."""
    return dict(Counter(versions))  # a Counter keeps first-appearance order


__all__ = [
    "SUMMARY_SCHEMA",
    "Accounting",
    "DemoSummary",
    "IncidentTally",
    "SwapReport",
    "alerts_per_second",
    "counts",
    "model_versions",
]
