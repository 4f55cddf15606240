"""The demo's feed: synthetic flows along the scenario, or the user's CSVs through replay, plus a
few bad messages, produced to the flows topic for a bounded time.

Both feeds produce with replay's :class:`~iotad.stream.replay.sink.KafkaSink` and encode with
its :func:`~iotad.stream.replay.encode.encode_flow` / :func:`encode_batch` (columnar envelopes of
one device's flows when ``batch`` > 1). :class:`FeedProgress` is shared with the live view.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from iotad.demo.bad_input import BAD_MESSAGE_TIMES, bad_messages
from iotad.demo.hosts import WardAddresses
from iotad.demo.profiles import FlowProfiles
from iotad.demo.scenario import GATEWAY_ID, Scenario
from iotad.schemas.features import FEATURES_39
from iotad.settings import Settings
from iotad.stream.replay.encode import PendingFlow, encode_batch, encode_flow
from iotad.stream.replay.runner import replay
from iotad.stream.replay.sink import FlowSink, KafkaSink
from iotad.stream.replay.types import ReplayOptions

logger = logging.getLogger(__name__)

TICK_S = 0.1
REPLAY_GATEWAY_ID = "gw-demo-replay"


@dataclass(frozen=True)
class FeedPlan:
    """What to feed: for how long, how fast, in what messages."""

    duration_s: float
    rate: float
    batch: int
    seed: int
    max_message_bytes: int = 4 * 1024 * 1024


@dataclass
class FeedProgress:
    """Counters the feed updates as it goes (read by the live view from another thread)."""

    started_at: float | None = None
    started_wall_ms: int | None = None
    queued_flows: int = 0
    by_label: Counter[str] = field(default_factory=Counter)
    bad: Counter[str] = field(default_factory=Counter)
    delivered_flows: int = 0
    failed_flows: int = 0
    #: Feature windows the packet stage delivered (iotad/demo/packet_stage.py).
    packet_windows: int = 0
    first_error: str | None = None
    elapsed_s: float = 0.0
    stopped_by: str = ""

    def begin(self) -> None:
        """Mark the start of the feed (monotonic and wall clock)."""
        self.started_at = time.monotonic()
        self.started_wall_ms = time.time_ns() // 1_000_000

    def seconds(self) -> float:
        """Seconds since the feed began (0 before)."""
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    @property
    def bad_total(self) -> int:
        """Bad messages sent."""
        return sum(self.bad.values())

    @property
    def units_sent(self) -> int:
        """Flows and packet windows delivered plus bad messages sent: what the worker must
        account for."""
        return self.delivered_flows + self.packet_windows + self.bad_total

    def count(self, labels: Sequence[str | None]) -> None:
        """Record queued flows by their label."""
        self.queued_flows += len(labels)
        self.by_label.update(label or "unlabelled" for label in labels)


async def _send_flows(sink: FlowSink, flows: list[PendingFlow], batch: int, max_bytes: int) -> None:
    names = FEATURES_39
    if batch <= 1:
        for flow in flows:
            await sink.send(flow.device_id.encode(), encode_flow(GATEWAY_ID, names, flow), 1)
        return
    by_device: dict[str, list[PendingFlow]] = {}
    for flow in flows:
        by_device.setdefault(flow.device_id, []).append(flow)
    for device, group in by_device.items():
        for start in range(0, len(group), batch):
            chunk = group[start : start + batch]
            for envelope, count in encode_batch(GATEWAY_ID, names, chunk, max_bytes):
                await sink.send(device.encode(), envelope, count)


class _BadMessages:
    """Sends the bad messages when their time comes."""

    def __init__(self, sink: FlowSink, progress: FeedProgress, duration_s: float) -> None:
        messages = bad_messages(FEATURES_39, [1.0] * len(FEATURES_39), int(time.time() * 1000))
        self._due = [
            (at * duration_s, code.value, payload)
            for at, (code, payload) in zip(BAD_MESSAGE_TIMES, messages, strict=True)
        ]
        self._sink = sink
        self._progress = progress

    async def send_due(self, elapsed_s: float) -> None:
        while self._due and self._due[0][0] <= elapsed_s:
            _, reason, payload = self._due.pop(0)
            await self._sink.send(b"bad-input", payload, 0)
            self._progress.bad[reason] += 1
            logger.info("sent a bad message (expected dead letter: %s)", reason)


class SyntheticFeed:
    """Synthetic flows along a :class:`Scenario`, sampled from the flow profiles."""

    def __init__(self, profiles: FlowProfiles, scenario: Scenario, plan: FeedPlan) -> None:
        missing = [label for label in scenario.labels if label not in profiles.labels]
        if missing:
            raise ValueError(f"the profile table has no profile for {missing}")
        self.profiles = profiles
        self.scenario = scenario
        self.plan = plan
        self.addresses = WardAddresses(scenario.ward_devices)
        self._rng = np.random.default_rng(plan.seed)
        self._sequence = 0

    def flows(self, fraction: float, n: int) -> list[PendingFlow]:
        """``n`` flows as the scenario has them at ``fraction`` of the feed, with their hosts
        (:mod:`iotad.demo.hosts`)."""
        segment = self.scenario.segment_at(fraction)
        labels, devices = self.scenario.draw(fraction, n, self._rng)
        rows: dict[str, list[list[float]]] = {}
        for label, count in Counter(labels).items():
            rows[label] = self.profiles.sample(label, count, self._rng).tolist()
        now_ms = time.time_ns() // 1_000_000
        flows = []
        for label, device in zip(labels, devices, strict=True):
            self._sequence += 1
            hosts = self.addresses.hosts(segment, label, device, self._rng)
            flow_id = f"syn-{self._sequence:08d}"
            values = rows[label].pop()
            flows.append(
                PendingFlow(
                    hosts.device_id, now_ms, flow_id, values, label, hosts.src_ip, hosts.dst_ip
                )
            )
        return flows

    async def run(self, sink: FlowSink, progress: FeedProgress, stop: threading.Event) -> None:
        """Feed for ``plan.duration_s`` (or until ``stop``) on an absolute tick schedule."""
        plan = self.plan
        bad = _BadMessages(sink, progress, plan.duration_s)
        progress.begin()
        started = progress.started_at
        assert started is not None
        ticks = max(1, round(plan.duration_s / TICK_S))
        for tick in range(ticks):
            if stop.is_set():
                progress.stopped_by = "stop requested"
                return
            due = int(plan.rate * (tick + 1) * TICK_S) - progress.queued_flows
            if due > 0:
                flows = self.flows(tick / ticks, due)
                progress.count([f.label for f in flows])
                await _send_flows(sink, flows, plan.batch, plan.max_message_bytes)
            await bad.send_due((tick + 1) * TICK_S)
            delay = started + (tick + 1) * TICK_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        progress.stopped_by = f"{plan.duration_s:g}s of feed"


class LabelCountingSink:
    """A :class:`FlowSink` that counts the labels of the flow messages passing to ``inner``."""

    def __init__(self, inner: FlowSink, progress: FeedProgress) -> None:
        self._inner = inner
        self._progress = progress

    async def send(self, key: bytes, value: bytes, flows: int) -> None:
        """Count the message's labels, then send it."""
        document = orjson.loads(value)
        label = document.get("label")
        self._progress.count(label if isinstance(label, list) else [label] * flows)
        await self._inner.send(key, value, flows)

    async def flush(self) -> None:
        """Flush ``inner``."""
        await self._inner.flush()

    @property
    def delivered_flows(self) -> int:
        """Flows ``inner`` delivered."""
        return self._inner.delivered_flows

    @property
    def failed_flows(self) -> int:
        """Flows ``inner`` failed to deliver."""
        return self._inner.failed_flows

    @property
    def first_error(self) -> str | None:
        """``inner``'s first delivery error."""
        return self._inner.first_error


async def _replay_for(
    paths: Sequence[Path],
    options: ReplayOptions,
    sink: FlowSink,
    progress: FeedProgress,
    duration_s: float,
    stop: threading.Event,
) -> None:
    """Replay ``paths`` (looping) for ``duration_s``; bad messages go out on the side."""
    ended = threading.Event()
    bad = _BadMessages(sink, progress, duration_s)
    progress.begin()

    async def clock() -> None:
        while not ended.is_set():
            elapsed = progress.seconds()
            await bad.send_due(elapsed)
            if elapsed >= duration_s or stop.is_set():
                ended.set()
            await asyncio.sleep(TICK_S)

    timer = asyncio.create_task(clock())
    try:
        summary = await replay(paths, options, LabelCountingSink(sink, progress), stop=ended)
    finally:
        ended.set()
        await timer
    progress.stopped_by = "stop requested" if stop.is_set() else summary.stopped_by
    if summary.rejected_total:
        logger.warning("replay refused %d rows (see docs/replay.md)", summary.rejected_total)


def run_feed(
    settings: Settings,
    plan: FeedPlan,
    progress: FeedProgress,
    stop: threading.Event,
    *,
    synthetic: SyntheticFeed | None = None,
    paths: Sequence[Path] = (),
) -> None:
    """Produce the feed to ``settings.topics.flows`` (blocking; run it in a thread).

    Exactly one of ``synthetic`` and ``paths`` is used: the generator, or the user's CSV files
    replayed in a loop at ``plan.rate``.
    """

    async def produce() -> None:
        async with KafkaSink.from_settings(
            settings,
            settings.topics.flows,
            client="demo-feed",
            max_message_bytes=plan.max_message_bytes,
        ) as sink:
            try:
                if synthetic is not None:
                    await synthetic.run(sink, progress, stop)
                else:
                    options = ReplayOptions(
                        topic=settings.topics.flows,
                        gateway_id=REPLAY_GATEWAY_ID,
                        batch=plan.batch,
                        rate=plan.rate,
                        loop=True,
                        max_message_bytes=plan.max_message_bytes,
                    )
                    await _replay_for(paths, options, sink, progress, plan.duration_s, stop)
            finally:
                await sink.flush()
                progress.elapsed_s = progress.seconds()
                progress.delivered_flows = sink.delivered_flows
                progress.failed_flows = sink.failed_flows
                progress.first_error = sink.first_error

    asyncio.run(produce())


__all__ = [
    "FeedPlan",
    "FeedProgress",
    "LabelCountingSink",
    "SyntheticFeed",
    "TICK_S",
    "run_feed",
]
