"""``iotad demo``: broker, worker, feed, live view, one hot swap, drain, summary — then a clean
shutdown, also on Ctrl-C and SIGTERM.

Phases, each timed: ``prepare`` (sign copies of both bundles with a throwaway key, verify them,
load the generator), ``broker``, ``worker`` (until ``/readyz``), ``feed`` (with the hot swap at
``demo.swap_at``), ``drain`` (until the worker has accounted for every unit sent), ``shutdown``
and ``report`` (summary JSON and chart). Everything the run writes goes to its run dir,
``var/demo/<timestamp>/``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from iotad.broker import ensure_topics, free_port, product_topics, quiet_client_logs
from iotad.console import Console
from iotad.demo.alert_log import AlertLog, AlertWatcher, IncidentLog, IncidentWatcher
from iotad.demo.broker_setup import (
    DemoBroker,
    ExternalBroker,
    local_broker_settings,
    start_docker,
    start_local,
)
from iotad.demo.bundles import DemoBundles, resolve_bundles
from iotad.demo.feed import FeedPlan, FeedProgress, SyntheticFeed, run_feed
from iotad.demo.hot_swap import HotSwap
from iotad.demo.learning import (
    learning_flows,
    with_calibration,
    with_incidents,
    with_online_baseline,
)
from iotad.demo.packet_stage import (
    PACKET_GATEWAY_ID,
    PacketStage,
    builtin_pcap,
    run_packet_stage,
)
from iotad.demo.profiles import FlowProfiles, load_table
from iotad.demo.report import write_report
from iotad.demo.run_keys import sign_for_run
from iotad.demo.run_log import demo_logging
from iotad.demo.scenario import GATEWAY_ID, Scenario
from iotad.demo.scrape import WorkerSnapshot
from iotad.demo.summary import DemoSummary
from iotad.demo.view import LiveDisplay, LiveState
from iotad.demo.worker_process import WorkerError, WorkerProcess
from iotad.errors import ConfigError
from iotad.schemas.features import FeatureLayout
from iotad.settings import KafkaSettings, Settings

logger = logging.getLogger(__name__)

_LOOP_S = 0.25


@dataclass(frozen=True)
class DemoRequest:
    """What ``iotad demo`` was asked to do."""

    settings: Settings
    data: tuple[Path, ...] = ()
    docker: bool = False
    bootstrap: str | None = None
    run_dir: Path | None = None
    #: Capture files for the packet stage (empty: the built-in generated pcap).
    pcap: tuple[Path, ...] = ()
    #: Run the packet stage at all.
    packets: bool = True

    @property
    def synthetic(self) -> bool:
        """True when the built-in generator feeds the worker."""
        return not self.data


@dataclass
class Phases:
    """Wall-clock seconds of each phase, in order."""

    seconds: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time the block as phase ``name``."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - began

    def with_total(self) -> dict[str, float]:
        """Every phase and the total since the run began."""
        return {**self.seconds, "total": time.monotonic() - self.started}


class Interrupted(Exception):
    """Raised inside the run when Ctrl-C or SIGTERM asked it to stop."""


@contextmanager
def stop_on_signals(stop: threading.Event, console: Console) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (the run then shuts down in order); a second Ctrl-C raises
    KeyboardInterrupt at once (cleanup still runs). Handlers are restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        console.warn(f"{signal.Signals(signum).name}: stopping the demo and shutting down …")

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def new_run_dir(root: Path) -> Path:
    """``<root>/<UTC timestamp>/`` (created; a suffix keeps two runs in one second apart)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = root / stamp
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = root / f"{stamp}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def demo_settings(
    base: Settings,
    bootstrap: str,
    run_dir: Path,
    run_id: str,
    *,
    own_topics: bool,
    secured: bool = False,
) -> Settings:
    """The settings every part of the run uses: this broker, these topics, the worker's port,
    state dir and consumer group. On a broker the demo did not start, topic names get the run
    id appended so an earlier run's messages are never read.

    ``secured`` keeps the TLS/SASL settings of ``base.kafka`` (a running broker given with
    ``--bootstrap``); the brokers the demo starts itself (local or docker) are plaintext.
    """
    suffix = "" if own_topics else f".{run_id}"
    topics = base.topics
    kafka = (
        base.kafka.model_copy(update={"bootstrap_servers": bootstrap})
        if secured
        else KafkaSettings(
            bootstrap_servers=bootstrap,
            client_id=base.kafka.client_id,
            request_timeout_s=base.kafka.request_timeout_s,
        )
    )
    return base.model_copy(
        update={
            "kafka": kafka,
            "topics": topics.model_copy(
                update={
                    "flows": topics.flows + suffix,
                    "alerts": topics.alerts + suffix,
                    "dead_letters": topics.dead_letters + suffix,
                    "models": topics.models + suffix,
                    "incidents": topics.incidents + suffix,
                    "partitions": base.demo.partitions,
                }
            ),
            "stream": base.stream.model_copy(
                update={
                    "web_port": free_port(base.stream.web_host),
                    "state_dir": run_dir / "worker-state",
                    "app_id": f"iotad-demo-{run_id}",
                    "bundle": None,
                }
            ),
        }
    )


class DemoRun:
    """One run of the demo (see the module docstring)."""

    def __init__(self, request: DemoRequest, console: Console) -> None:
        self.request = request
        self.console = console
        self.base = request.settings
        # Absolute: the broker and the worker run in other working directories.
        self.run_dir = (request.run_dir or new_run_dir(self.base.demo.run_root)).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_id = uuid.uuid4().hex[:8]
        self.phases = Phases()
        self.stop = threading.Event()
        self.progress = FeedProgress()
        self.log = AlertLog()
        self.incident_log = IncidentLog()
        self.incident_watcher: IncidentWatcher | None = None
        self.started_at = datetime.now(UTC)
        self.broker: DemoBroker | None = None
        self.worker: WorkerProcess | None = None
        self.watcher: AlertWatcher | None = None
        self.settings = self.base
        self.snapshot = WorkerSnapshot()
        self.swap: HotSwap | None = None
        self.packets: PacketStage | None = None
        self.interrupted = False

    # -- phases -------------------------------------------------------------------------

    def _check(self) -> None:
        if self.stop.is_set():
            raise Interrupted

    def prepare(self) -> tuple[DemoBundles, SyntheticFeed | None]:
        """Sign copies of both bundles with the run's key, verify them as the worker will, and
        set up the generator (or check the user's files)."""
        run_key = sign_for_run(self.base, self.run_dir)
        self.base = run_key.settings
        self.console.status(
            f"bundles signed for this run with a throwaway key {run_key.key_id} "
            f"({run_key.public_key}); the worker trusts that key only"
        )
        bundles = resolve_bundles(self.base)
        self.console.status(
            f"bundles verified: {bundles.first.manifest.reference} (serving first), "
            f"{bundles.second.manifest.reference} (hot-swapped in at "
            f"{self.base.demo.swap_at:.0%} of the feed)"
        )
        if not self.request.synthetic:
            _check_data_layout(self.request.data, bundles.layout)
            return bundles, None
        if bundles.layout is not FeatureLayout.CIC39:
            raise ConfigError(
                "the synthetic feed makes 39-column flows, the bundle takes "
                f"{bundles.layout.value}",
                hint="use a cic39 bundle, or feed real files of its layout with --data",
            )
        plan = self._plan()
        return bundles, SyntheticFeed(FlowProfiles(load_table()), Scenario(), plan)

    def _plan(self) -> FeedPlan:
        demo = self.base.demo
        return FeedPlan(
            duration_s=demo.duration_s,
            rate=demo.rate,
            batch=demo.batch,
            seed=self.base.seed,
            max_message_bytes=self.base.stream.max_message_bytes,
        )

    def start_broker(self) -> None:
        """Start (or attach to) the broker and create the run's topics."""
        request, demo = self.request, self.base.demo
        if request.bootstrap:
            self.broker = ExternalBroker(request.bootstrap)
        elif request.docker:
            self.console.status("starting Kafka with docker compose …")
            self.broker = start_docker(
                f"iotad-demo-{self.run_id}", self.base.broker.start_timeout_s
            )
        else:
            self.console.status("starting the local Kafka broker …")
            broker_settings = local_broker_settings(
                self.base.broker, self.run_dir / "broker", demo.broker_heap_mb
            )
            self.broker = start_local(broker_settings)
        own = not request.bootstrap and not request.docker
        self.settings = demo_settings(
            self.base,
            self.broker.bootstrap_servers,
            self.run_dir,
            self.run_id,
            own_topics=own,
            secured=bool(request.bootstrap),
        )
        self.settings = with_incidents(with_calibration(self.settings))
        learn = learning_flows(self.base, Scenario()) if request.synthetic else 0
        if learn:
            self.settings = with_online_baseline(self.settings, learn)
            self.console.status(
                f"the worker learns gateway {GATEWAY_ID}'s baseline from its first {learn:,} "
                "flows (benign), then decides with it"
            )
        ensure_topics(self.settings.kafka, product_topics(self.settings.topics))
        self.console.status(f"broker: {self.broker.description}; topics ready")

    def start_worker(self, bundles: DemoBundles) -> None:
        """Start the worker and wait for ``/readyz``."""
        self.worker = WorkerProcess(
            self.settings, bundles.first.path.resolve(), self.run_dir / "worker.log"
        )
        self.worker.start()
        report = self.worker.wait_ready(self.base.demo.ready_timeout_s, self.stop)
        self.console.status(
            f"worker ready (pid {self.worker.pid}, partitions {report.get('partitions')}, "
            f"http://{self.settings.stream.web_host}:{self.settings.stream.web_port}/metrics)"
        )

    def feed(
        self, bundles: DemoBundles, synthetic: SyntheticFeed | None, live: LiveDisplay
    ) -> None:
        """Feed for the duration, hot-swap at ``swap_at``, keep the live view current."""
        demo = self.base.demo
        self.watcher = AlertWatcher(self.settings, self.log)
        self.watcher.start()
        if self.settings.incidents.enabled:
            self.incident_watcher = IncidentWatcher(self.settings, self.incident_log)
            self.incident_watcher.start()
        if self.request.packets:
            self.packet_stage(bundles)
        self.swap = HotSwap(self.settings, bundles, at_s=demo.swap_at * demo.duration_s)
        feeder = threading.Thread(
            target=run_feed,
            args=(self.settings, self._plan(), self.progress, self.stop),
            kwargs={"synthetic": synthetic, "paths": self.request.data},
            name="demo-feed",
            daemon=True,
        )
        feeder.start()
        live.state.phase = "feeding"
        while feeder.is_alive():
            self._watch_worker()
            self.swap.maybe_start(self.progress.seconds())
            self._refresh(live)
            time.sleep(_LOOP_S)
        feeder.join()
        if self.progress.first_error:
            logger.error("feed delivery error: %s", self.progress.first_error)
        self._check()

    def packet_stage(self, bundles: DemoBundles) -> None:
        """Capture the pcap files (or the built-in one) into the flows topic, before the feed."""
        builtin = not self.request.pcap
        paths = self.request.pcap or (builtin_pcap(self.run_dir, self.base.seed),)
        capture = self.settings.capture.model_copy(
            update={"gateway_id": PACKET_GATEWAY_ID, "layout": bundles.layout.value}
        )
        settings = self.settings.model_copy(update={"capture": capture})
        self.packets = run_packet_stage(settings, paths, builtin=builtin)
        self.progress.packet_windows = self.packets.delivered
        what = "built-in generated pcap" if builtin else ", ".join(p.name for p in paths)
        self.console.status(
            f"packet stage: {self.packets.packets_read:,} packets ({what}) → "
            f"{self.packets.windows:,} feature windows on {self.settings.topics.flows} "
            f"(gateway {PACKET_GATEWAY_ID}) in {self.packets.seconds:.1f}s"
        )

    def drain(self, live: LiveDisplay) -> None:
        """Wait until the worker accounted for every unit sent and the swap finished."""
        live.state.phase = "draining"
        expected = self.progress.units_sent
        deadline = time.monotonic() + self.base.demo.drain_timeout_s
        assert self.swap is not None
        while time.monotonic() < deadline and not self.stop.is_set():
            self._watch_worker()
            self.swap.maybe_start(self.progress.seconds())
            self._refresh(live)
            if self.snapshot.accounted >= expected and self.swap.done:
                break
            time.sleep(_LOOP_S)
        while time.monotonic() < deadline and not self.stop.is_set():
            if len(self.log) >= self.snapshot.alerts_total and self._incidents_caught_up():
                break
            self._refresh(live)
            time.sleep(_LOOP_S)
        self._refresh(live)
        self._check()

    def _incidents_caught_up(self) -> bool:
        """Every alert is folded into incidents, and every incident message was read back."""
        if self.incident_watcher is None:
            return True
        snapshot = self.snapshot
        return (
            snapshot.incident_alerts >= snapshot.alerts_total
            and len(self.incident_log) >= snapshot.incident_messages
        )

    def settle(self, timeout_s: float = 5.0) -> None:
        """After an interrupt: let the worker account for what was already sent, briefly."""
        if self.worker is None or self.progress.started_at is None:
            return
        expected = self.progress.units_sent
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.worker.running():
            snapshot = self.worker.snapshot()
            if snapshot is not None:
                self.snapshot = snapshot
                if snapshot.accounted >= expected and len(self.log) >= snapshot.alerts_total:
                    return
            time.sleep(_LOOP_S)

    def _watch_worker(self) -> None:
        assert self.worker is not None
        if not self.worker.running():
            raise WorkerError(
                f"the worker stopped during the demo:\n{self.worker.log_tail()}",
                hint=f"see {self.worker.log_path}",
            )

    def _refresh(self, live: LiveDisplay) -> None:
        assert self.worker is not None
        snapshot = self.worker.snapshot()
        if snapshot is not None:
            self.snapshot = snapshot
        live.state.update(snapshot)
        if self.swap is not None:
            live.state.swap_status = self.swap.status()
        live.refresh()

    def shutdown(self) -> None:
        """Stop the alert reader, the worker and the broker (each even if another fails)."""
        steps: list[tuple[str, Callable[[], object]]] = []
        if self.watcher is not None:
            steps.append(("alert reader", self.watcher.stop))
        if self.incident_watcher is not None:
            steps.append(("incident reader", self.incident_watcher.stop))
        if self.worker is not None:
            steps.append(("worker", self.worker.stop))
        if self.broker is not None:
            steps.append(("broker", self.broker.stop))
        for name, step in steps:
            try:
                step()
            except (OSError, RuntimeError, ConfigError) as exc:
                logger.error("could not stop the %s cleanly: %s", name, exc)
        self.console.status("worker and broker stopped")

    # -- the whole run --------------------------------------------------------------------

    def run(self) -> DemoSummary:
        """Run every phase; always shut down; return the summary (also written to disk)."""
        quiet_client_logs()
        state = LiveState(
            title="iotad demo — "
            + ("SYNTHETIC flows" if self.request.synthetic else "replayed CSV flows"),
            duration_s=self.base.demo.duration_s,
            feed=self.progress,
        )
        bundles: DemoBundles | None = None
        with (
            stop_on_signals(self.stop, self.console),
            demo_logging(self.run_dir / "demo.log", self.console),
        ):
            try:
                with self.phases.timed("prepare"):
                    bundles, synthetic = self.prepare()
                self._check()
                with self.phases.timed("broker"):
                    self.start_broker()
                self._check()
                with self.phases.timed("worker"):
                    self.start_worker(bundles)
                with LiveDisplay(self.console, state) as live:
                    with self.phases.timed("feed"):
                        self.feed(bundles, synthetic, live)
                    with self.phases.timed("drain"):
                        self.drain(live)
            except Interrupted:
                self.interrupted = True
                self.settle()
            except WorkerError:
                if not self.stop.is_set():
                    raise
                self.interrupted = True
            finally:
                if self.stop.is_set():
                    self.interrupted = True
                with self.phases.timed("shutdown"):
                    self.shutdown()
            return write_report(self, bundles)


def _check_data_layout(paths: tuple[Path, ...], layout: FeatureLayout) -> None:
    from iotad.stream.replay import ReplayOptions, plan

    captures, _ = plan(list(paths), ReplayOptions(topic="-"))
    other = sorted({c.path.name for c in captures if c.layout is not layout})
    if other:
        raise ConfigError(
            f"the bundle takes {layout.value} flows but {', '.join(other[:5])} "
            f"{'is' if len(other) == 1 else 'are'} in another layout",
            hint="feed files of the bundle's layout, or pass bundles of theirs with --bundle "
            "and --swap-bundle",
        )


def run_demo(request: DemoRequest, console: Console) -> DemoSummary:
    """Run the demo described by ``request``; the summary (written to its run dir)."""
    return DemoRun(request, console).run()


__all__ = [
    "DemoRequest",
    "DemoRun",
    "Phases",
    "demo_settings",
    "new_run_dir",
    "run_demo",
    "stop_on_signals",
]
