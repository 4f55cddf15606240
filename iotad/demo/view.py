"""What the demo shows: a live view while it runs (rich Live on a terminal, a plain line every few
seconds otherwise) and the summary at the end."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from rich import box
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from iotad.console import Console
from iotad.demo.bursts import recall_by_category
from iotad.demo.feed import FeedProgress
from iotad.demo.scenario import GATEWAY_ID
from iotad.demo.scrape import WorkerSnapshot
from iotad.demo.summary import DemoSummary

PLAIN_EVERY_S = 5.0
#: flows/s is averaged over this many seconds of worker readings.
RATE_WINDOW_S = 3.0


@dataclass
class LiveState:
    """Everything the live view shows, refreshed by the demo about once a second."""

    title: str
    duration_s: float
    feed: FeedProgress
    phase: str = "starting"
    swap_status: str = "pending"
    snapshot: WorkerSnapshot | None = None
    rate: float = 0.0
    _readings: deque[tuple[float, float]] = field(default_factory=deque, repr=False)

    def update(self, snapshot: WorkerSnapshot | None, now: float | None = None) -> None:
        """Take a new worker reading; flows/s is the average over the last few seconds."""
        if snapshot is None:
            return
        now = time.monotonic() if now is None else now
        self._readings.append((now, snapshot.flows_in))
        while len(self._readings) > 2 and now - self._readings[1][0] >= RATE_WINDOW_S:
            self._readings.popleft()
        first_time, first_flows = self._readings[0]
        if now > first_time:
            self.rate = (snapshot.flows_in - first_flows) / (now - first_time)
        self.snapshot = snapshot


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.0f} ms"


def _pairs(values: dict[str, float] | Any) -> str:
    return ", ".join(f"{k} {int(v):,}" for k, v in sorted(values.items()) if int(v)) or "none"


def plain_line(state: LiveState) -> str:
    """One line for logs and pipes."""
    snap = state.snapshot or WorkerSnapshot()
    return (
        f"[{state.feed.seconds():5.1f}s {state.phase}] sent {state.feed.queued_flows:,} "
        f"scored {int(snap.flows_scored):,} ({state.rate:,.0f} flows/s) "
        f"alerts {snap.alerts_total:,} ({_pairs(snap.alerts)}) benign {int(snap.benign):,} "
        f"uncertain {int(snap.uncertain):,} dead letters {snap.dead_letters_total} "
        f"p50 {_ms(snap.latency_quantile(0.5))} p99 {_ms(snap.latency_quantile(0.99))} "
        f"model {snap.model_reference or '–'} swap {state.swap_status}"
    )


def render(state: LiveState) -> Panel:
    """The live view: throughput, alerts by category, dead letters, latency, model, swap."""
    snap = state.snapshot or WorkerSnapshot()
    top = Table.grid(padding=(0, 2))
    top.add_row(
        f"[bold]{state.phase}[/]",
        f"feed {min(state.feed.seconds(), state.duration_s):.0f}/{state.duration_s:.0f}s",
        f"sent [bold]{state.feed.queued_flows:,}[/]",
        f"scored [bold]{int(snap.flows_scored):,}[/]",
        f"[bold]{state.rate:,.0f}[/] flows/s",
        f"lag {int(snap.consumer_lag):,}",
    )
    alerts = Table("alert category", "alerts", "", box=None, padding=(0, 1))
    peak = max(snap.alerts.values(), default=0.0) or 1.0
    for category, count in sorted(snap.alerts.items(), key=lambda kv: -kv[1]):
        alerts.add_row(category, f"{int(count):,}", "█" * max(1, int(28 * count / peak)))
    if not snap.alerts:
        alerts.add_row("(none yet)", "", "")
    facts = Table.grid(padding=(0, 2))
    facts.add_row("benign (counted)", f"{int(snap.benign):,}")
    facts.add_row("uncertain (below threshold)", f"{int(snap.uncertain):,}")
    facts.add_row("dead letters", _pairs(snap.dead_letters))
    facts.add_row(
        "event→alert latency",
        f"p50 {_ms(snap.latency_quantile(0.5))}, p99 {_ms(snap.latency_quantile(0.99))}",
    )
    facts.add_row("model serving", snap.model_reference or "–")
    facts.add_row("hot swap", state.swap_status)
    return Panel(Group(top, Text(""), alerts, Text(""), facts), title=state.title)


class LiveDisplay:
    """Shows a :class:`LiveState`: rich Live on a terminal, else a plain line every few seconds."""

    def __init__(self, console: Console, state: LiveState) -> None:
        self.console = console
        self.state = state
        self._live: Live | None = None
        self._last_line = 0.0

    def __enter__(self) -> LiveDisplay:
        if self.console.interactive:
            self._live = Live(render(self.state), console=self.console.err, refresh_per_second=4)
            self._live.__enter__()
        return self

    def refresh(self) -> None:
        """Show the current state."""
        if self._live is not None:
            self._live.update(render(self.state))
        elif time.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._last_line = time.monotonic()
            self.console.err.print(plain_line(self.state), markup=False, highlight=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.update(render(self.state))
            self._live.__exit__(exc_type, exc, tb)
        else:
            self.console.err.print(plain_line(self.state), markup=False, highlight=False)


def print_summary(console: Console, summary: DemoSummary, files: dict[str, str]) -> None:
    """The end-of-run report on stdout."""
    out = console.out
    data = summary.to_json()
    flows = summary.accounting
    verdict = "[bold green]OK[/]" if summary.ok else "[bold red]PROBLEMS[/]"
    out.print(f"\n[bold]iotad demo summary[/] {verdict} — {escape(summary.data)}")
    out.print(
        f"flows sent {flows.sent:,} (+{flows.bad_sent} bad messages), scored {flows.scored:,}, "
        f"dead letters {flows.dead_letters}, [bold]lost {flows.lost}[/]"
    )
    out.print(
        f"alerts {data['alerts_total']:,}: {_pairs(dict(summary.alerts_by_category))}; "
        f"benign {summary.benign:,}, uncertain {summary.uncertain:,}"
    )
    incidents = summary.incidents
    if incidents is not None:
        ratio = incidents.compression
        shown = "no incident message" if ratio is None else f"{ratio:,.1f}× fewer messages"
        out.print(
            f"incidents {incidents.incidents:,} in {incidents.messages:,} messages "
            f"({_pairs(dict(incidents.messages_by_event))}) for {incidents.alerts:,} "
            f"per-flow alerts: [bold]{shown}[/]"
        )
    out.print(f"dead letters by reason: {_pairs(dict(summary.dead_letters_by_reason))}")
    _print_packets(console, summary.packets)
    swap = summary.swap
    if swap.at_s is None:
        out.print(f"hot swap: {swap.outcome}", markup=False)
    else:
        took = "" if swap.seconds is None else f" in {swap.seconds:.2f}s"
        why = f" ({swap.reason})" if swap.reason else ""
        out.print(
            f"hot swap at {swap.at_s:.1f}s: {swap.outcome}{took}{why}: "
            f"{swap.before} → {swap.after or swap.before}",
            markup=False,
        )
    latency = summary.latency_ms
    out.print(f"event→alert latency p50 {latency.get('p50')} ms, p99 {latency.get('p99')} ms")
    table = Table(
        "intended", "flows", "detected", "outcomes", title="generator intent vs detection"
    )
    for row in summary.fidelity:
        outcomes = ", ".join(
            f"{k} {v:,}" for k, v in sorted(row.outcomes.items(), key=lambda kv: -kv[1]) if v
        )
        table.add_row(row.intended, f"{row.flows:,}", f"{row.share:.0%}", outcomes)
    out.print(table)
    _print_false_alerts(console, summary)
    _print_bursts(console, summary)
    for note in summary.notes:
        out.print(f"note: {note}")
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in summary.phases_s.items())
    out.print(f"phases: {phases}")
    for problem in summary.problems:
        console.error(problem)
    for name, path in files.items():
        out.print(f"{name}: {path}", markup=False)


def _pct(alerted: int, flows: int) -> str:
    return f"{alerted / flows:.2%} ({alerted:,} of {flows:,})" if flows else "n/a (no flow)"


def _print_false_alerts(console: Console, summary: DemoSummary) -> None:
    """The false-alert headline: after the learning phase, and over the whole run."""
    alerted, benign_flows = summary.benign_false_alerts
    if not benign_flows:
        return
    after = None if summary.baseline is None else summary.baseline.after_learning
    whole = _pct(alerted, benign_flows)
    if after is None or not after[1]:
        console.out.print(f"false alerts on benign flows: {whole} over the whole run")
        return
    learning = _pct(alerted - after[0], benign_flows - after[1])
    console.out.print(
        f"false alerts on benign flows: [bold]{_pct(*after)} after the learning phase[/] "
        f"(decided with the learnt gateway baseline); {whole} over the whole run incl. "
        f"learning; learning phase alone (classifier only): {learning}"
    )


def _print_bursts(console: Console, summary: DemoSummary) -> None:
    """Attack-burst recall and per-flow recall, per burst and per category."""
    if not summary.bursts:
        return
    table = Table(
        "burst", "s", "detected", "incid.", "flows alerted", "named right", box=box.SIMPLE,
        title=f"attack bursts of {GATEWAY_ID} (detected: an alert on the burst's own flows "
        f"by its end + {summary.burst_slack_ms / 1000:g} s; incidents naming its hosts)",
    )  # fmt: skip
    for b in summary.bursts:
        first = "NO" if b.first_alert_s is None else f"yes +{b.first_alert_s:.1f}s"
        table.add_row(
            f"{b.name} ({b.category})", f"{b.start_s:.0f}–{b.end_s:.0f}", first,
            str(b.incidents_opened), _share(b.flows_alerted, b.flows),
            _share(b.flows_named, b.flows),
        )  # fmt: skip
    console.out.print(table)
    rows = recall_by_category(summary.bursts).items()
    console.out.print(
        "attack-burst recall: "
        + ", ".join(f"{c} {row['detected']}/{row['bursts']}" for c, row in rows)
        + "; per-flow recall: "
        + ", ".join(f"{c} {row['alerted']:,}/{row['flows']:,}" for c, row in rows),
        markup=False,
    )
    timing = summary.incident_timing
    if timing:
        console.out.print(
            f"incidents of {GATEWAY_ID}: {timing['opened']:,} opened, {timing['during_bursts']:,} "
            f"during the bursts, {timing['outside_bursts']:,} outside them (no burst playing), "
            f"{timing['before_first_burst']:,} of those before the first burst (the quiet "
            "stretch that holds the learning phase)",
            markup=False,
        )


def _share(part: int, whole: int) -> str:
    return f"{part:,}/{whole:,} ({part / whole:.0%})" if whole else "—"


def _print_packets(console: Console, packets: Mapping[str, object]) -> None:
    if not packets:
        return
    alerts, hosts = packets.get("alerts_by_category"), packets.get("alerts_by_source_host")
    console.out.print(
        f"packets {packets['packets_read']:,} → {packets['windows']:,} windows "
        f"({packets['gateway_id']}): alerts {_pairs(alerts or {})}; "
        f"top source hosts {_pairs(hosts or {})}",
        markup=False,
    )


__all__ = ["PLAIN_EVERY_S", "LiveDisplay", "LiveState", "plain_line", "print_summary", "render"]
